# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime as dt
import json
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction
from trytond.wsgi import app

from trytond.modules.hb_voucher.api import STATUSES
from trytond.modules.hb_voucher.exceptions import ChargeError
from trytond.modules.hb_voucher.openapi import BASE, DOCUMENT

from .tools import (
    create_api_key,
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    load_finnish,
    provider_product,
    run_in_transaction,
    setup_hb,
)

MOBILE = '+358401111111'
MOBILE_POOR = '+358401111112'
MOBILE_SOTKAMO = '+358401111113'
MOBILE_NO_BUDGET = '+358401111114'
MOBILE_MEALS = '+358401111115'
MOBILE_SHARED = '+358401111116'
MOBILE_UNKNOWN = '+358409999999'
MOBILE_REFUSALS = '+358401111117'
MOBILE_STATUSES = '+358401111118'


class ApiTestCase(RouteTestCase):
    "Test the JSON API of provider terminals"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Representative = pool.get('hb.client.representative')
        Party = pool.get('party.party')
        load_finnish()
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            application = create_provider_with_service(data)
            client = create_client(data, MOBILE)
            cls.budget_id = create_budget(data, client).id
            poor = create_client(data, MOBILE_POOR, individual=902)
            create_budget(data, poor, Decimal('50.00'))
            sotkamo = create_client(data, MOBILE_SOTKAMO, individual=903,
                municipality='sotkamo')
            create_budget(data, sotkamo)
            create_client(data, MOBILE_NO_BUDGET, individual=904)
            meals = create_client(data, MOBILE_MEALS, individual=905)
            create_budget(data, meals, category='meals')
            for individual, mobile in [(907, MOBILE_REFUSALS),
                    (908, MOBILE_STATUSES)]:
                create_budget(data, create_client(
                        data, mobile, individual=individual))
            # Two clients share a representative allowed to confirm
            relative, = Party.create([{'name': "Sukulainen"}])
            Representative.create([{
                        'client': c.id, 'party': relative.id,
                        'mobile': MOBILE_SHARED,
                        'may_confirm_charges': True,
                        } for c in [poor, meals]])
            cls.product_id = provider_product(application).id
            cls.key = create_api_key(application)
            cls.revoked_key = create_api_key(application)
            UserApplication = pool.get('res.user.application')
            UserApplication.hb_revoke(
                application.party, UserApplication.search([
                        ('key', '=', cls.revoked_key)])[0].id)

    def url(self, path=''):
        return '/%s/hb/api/v1/%s' % (DB_NAME, path)

    def post(self, client, path, data, key=None, language='en',
            raw=None):
        return client.post(self.url(path),
            data=raw if raw is not None else json.dumps(data),
            headers={
                'Authorization': 'Bearer %s' % (key or self.key),
                'Content-Type': 'application/json',
                'Accept-Language': language,
                })

    def get(self, client, path, key=None, language='en'):
        return client.get(self.url(path), headers={
                'Authorization': 'Bearer %s' % (key or self.key),
                'Accept-Language': language,
                })

    def request_data(self, key, mobile=MOBILE, quantity=2):
        return {
            'mobile': mobile,
            'idempotency_key': key,
            'lines': [{'service': self.product_id, 'quantity': quantity}],
            }

    def reserved(self, mobile=MOBILE):
        "Return the reserved and spent amounts of the client's budget"
        pool = Pool(DB_NAME)
        Party = pool.get('party.party')
        Budget = pool.get('hb.budget')
        with Transaction().start(DB_NAME, 0):
            client, = Party.search([('hb_mobile', '=', mobile)])
            budget = Budget.get_active(client)
            if budget is None:
                return None
            return (budget.reserved, budget.spent)

    def code(self, mobile=MOBILE):
        with Transaction().start(DB_NAME, 0):
            return last_code(mobile)

    def test_openapi_matches_routes(self):
        "The OpenAPI document describes exactly the API routes"
        routes = set()
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith(BASE + '/'):
                continue
            path = rule.rule[len(BASE):]
            if path in {'/openapi.json', '/<path:rest>'}:
                continue
            path = re.sub(r'<(?:\w+(?:\([^)]*\))?:)?(\w+)>', r'{\1}', path)
            for method in rule.methods - {'HEAD', 'OPTIONS'}:
                routes.add((path, method.lower()))
        documented = {(path, method)
            for path, item in DOCUMENT['paths'].items()
            for method in item}
        self.assertEqual(routes, documented)

        client = self.client()
        response = client.get(self.url('openapi.json'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json['openapi'], '3.0.3')
        self.assertTrue(response.json['servers'][0]['url'].endswith(
                '/%s/hb/api/v1' % DB_NAME))
        line = response.json['components']['schemas']['Charge'][
            'properties']['lines']['items']['properties']
        self.assertEqual(line['month_left']['type'], 'string')
        self.assertTrue(line['month_left']['nullable'])

    def test_unauthorized(self):
        "No key, an unknown key or a revoked key: 401, nothing reserved"
        client = self.client()
        before = self.reserved()
        response = client.post(self.url('charges'),
            data=json.dumps(self.request_data('u1')))
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json['error']['code'], 'unauthorized')
        for key in ['unknown', self.revoked_key]:
            response = self.post(
                client, 'charges', self.request_data('u1'), key=key)
            self.assertEqual(response.status_code, 401)
            self.assertEqual(response.json['error']['code'], 'unauthorized')
        response = self.get(client, 'charges', key=self.revoked_key)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(self.reserved(), before)

    def test_charge_confirm_cancel(self):
        "Request, wrong code, confirm, replay, read, list and cancel"
        client = self.client()
        reserved, spent = self.reserved()
        response = self.post(client, 'charges', self.request_data('f1'))
        self.assertEqual(response.status_code, 201, response.json)
        charge = response.json
        self.assertEqual(charge['state'], 'requested')
        self.assertEqual(charge['amount'], '70.00')
        self.assertNotIn('hetu', json.dumps(charge).lower())
        # what is left this month: null, the line has no monthly cap
        # (hb_avain's test_avain_days has one)
        self.assertEqual(
            [line['month_left'] for line in charge['lines']], [None])
        self.assertEqual(response.json['lines'][0]['amount'], '70.00')
        self.assertEqual(
            self.reserved(), (reserved + Decimal('70.00'), spent))
        code = self.code()

        # The same key and request return the first charge, nothing more
        # reserved; the same key with another request is refused (422)
        response = self.post(client, 'charges', self.request_data('f1'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json['id'], charge['id'])
        response = self.post(client, 'charges', self.request_data('f1', quantity=3))
        self.assertEqual(response.status_code, 422)
        self.assertEqual(
            response.json['error']['code'], 'idempotency_key_reused')
        self.assertEqual(
            self.reserved(), (reserved + Decimal('70.00'), spent))

        wrong = '000000' if code != '000000' else '111111'
        response = self.post(client, 'charges/%d/confirm' % charge['id'],
            {'code': wrong})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json['error']['code'], 'wrong_code')

        response = self.post(client, 'charges/%d/confirm' % charge['id'],
            {'code': code})
        self.assertEqual(response.status_code, 200, response.json)
        self.assertEqual(response.json['state'], 'captured')
        self.assertEqual(
            self.reserved(), (reserved, spent + Decimal('70.00')))

        response = self.post(client, 'charges/%d/confirm' % charge['id'],
            {'code': code})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(
            response.json['error']['code'], 'already_confirmed')

        response = self.get(client, 'charges/%d' % charge['id'])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json['state'], 'captured')
        response = self.get(client, 'charges?from=%s' % (
                dt.date.today().isoformat()))
        self.assertIn(charge['id'],
            [c['id'] for c in response.json['charges']])
        response = self.get(client, 'charges?from=yesterday')
        self.assertEqual(response.json['error']['code'], 'invalid_date')

        response = self.post(
            client, 'charges/%d/cancel' % charge['id'], {})
        self.assertEqual(response.status_code, 200, response.json)
        self.assertEqual(response.json['state'], 'cancelled')
        self.assertEqual(response.json['refunded_amount'], '70.00')
        self.assertEqual(self.reserved(), (reserved, spent))

        response = self.get(client, 'charges/%d' % 999999)
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json['error']['code'], 'not_found')

    def test_bad_input(self):
        "Each bad input is refused with its code; nothing is reserved"
        client = self.client()
        cases = [
            ('invalid_json', None, '{"mobile": '),
            ('invalid_json', None, '\xff'),
            ('invalid_request', [1, 2], None),
            ('invalid_request', {'mobile': MOBILE}, None),
            ('invalid_quantity', self.request_data('b1', quantity=-1), None),
            ('invalid_quantity', self.request_data('b2', quantity=0), None),
            ('invalid_quantity', self.request_data('b3', quantity=1e9),
                None),
            ('invalid_quantity', self.request_data('b4', quantity=1.001),
                None),
            ('invalid_quantity', self.request_data('b5', quantity='NaN'),
                None),
            ('invalid_quantity', self.request_data('b6', quantity=True),
                None),
            ('phone_invalid', self.request_data('b7', mobile='12'), None),
            ('phone_unknown', self.request_data(
                    'b8', mobile=MOBILE_UNKNOWN), None),
            ('phone_ambiguous', self.request_data(
                    'b9', mobile=MOBILE_SHARED), None),
            ('no_active_budget', self.request_data(
                    'b10', mobile=MOBILE_NO_BUDGET), None),
            ('not_covered', self.request_data(
                    'b11', mobile=MOBILE_SOTKAMO), None),
            ('category_not_in_budget', self.request_data(
                    'b12', mobile=MOBILE_MEALS), None),
            ('insufficient_funds', self.request_data(
                    'b13', mobile=MOBILE_POOR, quantity=2), None),
            ]
        before = {m: self.reserved(m) for m in [
                MOBILE, MOBILE_POOR, MOBILE_SOTKAMO, MOBILE_MEALS]}
        for code, data, raw in cases:
            with self.subTest(code=code, data=data, raw=raw):
                response = self.post(client, 'charges', data, raw=raw)
                self.assertEqual(response.status_code, 400, response.json)
                self.assertEqual(response.json['error']['code'], code)
                self.assertTrue(response.json['error']['message'])
        after = {m: self.reserved(m) for m in before}
        self.assertEqual(after, before)
        response = self.post(client, 'charges', self.request_data(
                'b14', mobile=MOBILE_POOR, quantity=2), language='fi')
        self.assertIn('budjetissa', response.json['error']['message'])
        with Transaction().start(DB_NAME, 0):
            Charge = Pool(DB_NAME).get('hb.charge')
            self.assertFalse(Charge.search([
                        ('idempotency_key', 'like', 'b%')]))

    def test_wrong_code_three_times(self):
        "Three wrong codes cancel the request and release the amount"
        client = self.client()
        before = self.reserved()
        response = self.post(client, 'charges', self.request_data('w1'))
        charge = response.json
        code = self.code()
        wrong = '000000' if code != '000000' else '111111'
        codes = []
        for _ in range(3):
            response = self.post(
                client, 'charges/%d/confirm' % charge['id'], {'code': wrong})
            codes.append(response.json['error']['code'])
        self.assertEqual(codes, ['wrong_code', 'wrong_code',
                'too_many_attempts'])
        self.assertEqual(self.reserved(), before)
        response = self.post(
            client, 'charges/%d/confirm' % charge['id'], {'code': code})
        self.assertEqual(response.json['error']['code'], 'not_pending')

    def test_refusals_kept_after_rollback(self):
        """A wrong code and an expiry found at confirmation are committed
        in a transaction of their own: the request's rollback keeps them"""
        pool = Pool(DB_NAME)
        client = self.client()
        before = self.reserved(MOBILE_REFUSALS)
        wrong_id = self.post(client, 'charges',
            self.request_data('rb1', mobile=MOBILE_REFUSALS)).json['id']
        code = self.code(MOBILE_REFUSALS)
        expired_id = self.post(client, 'charges',
            self.request_data('rb2', mobile=MOBILE_REFUSALS)).json['id']
        wrong = '%06d' % ((int(code) + 1) % 1000000)
        with Transaction().start(DB_NAME, 0) as transaction:
            Charge = pool.get('hb.charge')
            Charge.write([Charge(expired_id)], {
                    'expires_at': dt.datetime.now() - dt.timedelta(
                        minutes=1)})
            transaction.commit()
        for charge_id, given, expected in [
                (wrong_id, wrong, 'wrong_code'),
                (expired_id, code, 'code_expired')]:
            with Transaction().start(DB_NAME, 0) as transaction:
                Charge = pool.get('hb.charge')
                with self.assertRaises(ChargeError) as cm:
                    Charge.confirm(Charge(charge_id), given)
                self.assertEqual(cm.exception.code, expected)
                transaction.rollback()
        with Transaction().start(DB_NAME, 0):
            Charge = pool.get('hb.charge')
            self.assertEqual(Charge(wrong_id).attempts, 1)
            self.assertEqual(Charge(wrong_id).state, 'requested')
            self.assertEqual(Charge(expired_id).state, 'expired')
        self.assertEqual(self.reserved(MOBILE_REFUSALS), (
                before[0] + Decimal('70.00'), before[1]))
        self.post(client, 'charges/%d/cancel' % wrong_id, {})
        self.assertEqual(self.reserved(MOBILE_REFUSALS), before)

    def test_error_statuses(self):
        "Each error code of a refused charge has its HTTP status (STATUSES)"
        client = self.client()
        seen = {}

        def check(response):
            code = response.json['error']['code']
            self.assertEqual(response.status_code,
                STATUSES.get(code, HTTPStatus.BAD_REQUEST), code)
            seen[code] = response.status_code
        charge = self.post(client, 'charges',
            self.request_data('st1', mobile=MOBILE_STATUSES)).json
        code = self.code(MOBILE_STATUSES)
        wrong = '%06d' % ((int(code) + 1) % 1000000)
        check(self.post(client, 'charges', self.request_data('st1',
                    mobile=MOBILE_STATUSES, quantity=3)))
        check(self.post(
                client, 'charges/%d/confirm' % charge['id'], {'code': wrong}))
        self.post(client, 'charges/%d/confirm' % charge['id'], {'code': code})
        check(self.post(
                client, 'charges/%d/confirm' % charge['id'], {'code': code}))
        check(self.get(client, 'charges/%d' % (charge['id'] + 10 ** 6)))
        check(self.post(client, 'charges', self.request_data('st2',
                    mobile=MOBILE_STATUSES, quantity='-1')))
        self.assertEqual(seen, {
                'idempotency_key_reused': 422,
                'wrong_code': 403,
                'already_confirmed': 409,
                'not_found': 404,
                'invalid_quantity': 400,
                })

    def test_expiry_and_cancel_window(self):
        "An expired request is released; cancelling after the window fails"
        pool = Pool(DB_NAME)
        client = self.client()
        before = self.reserved()
        response = self.post(client, 'charges', self.request_data('e1'))
        expired = response.json
        response = self.post(client, 'charges', self.request_data('e2'))
        other = response.json
        code = self.code()
        with Transaction().start(DB_NAME, 0) as transaction:
            Charge = pool.get('hb.charge')
            past = dt.datetime.now() - dt.timedelta(minutes=1)
            Charge.write([Charge(expired['id'])], {'expires_at': past})
            transaction.commit()
        response = self.post(
            client, 'charges/%d/confirm' % other['id'], {'code': code})
        self.assertEqual(response.status_code, 200, response.json)
        with Transaction().start(DB_NAME, 0) as transaction:
            Charge = pool.get('hb.charge')
            self.assertEqual(
                [c.id for c in Charge.expire_requests()], [expired['id']])
            Charge.write([Charge(other['id'])], {
                    'captured_at': dt.datetime.now() - dt.timedelta(
                        hours=2)})
            transaction.commit()
        self.assertEqual(self.reserved(), (
                before[0], before[1] + Decimal('70.00')))
        response = self.post(
            client, 'charges/%d/confirm' % expired['id'], {'code': code})
        self.assertEqual(response.json['error']['code'], 'not_pending')
        response = self.post(
            client, 'charges/%d/cancel' % other['id'], {})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(
            response.json['error']['code'], 'cancel_window_passed')


del RouteTestCase
