# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Bad input, entry point by entry point, as tables: each invalid input
and the exact error it gets (HTTP status, the stable code and the message
the module defines), and that a refused request reserved, charged or
created nothing.

Entry points: the JSON API (request, confirm, cancel, list), the refund
wizard's operation, the client and budget forms (ORM as sao uses it) and
the provider portal's forms."""
import datetime as dt
import json
from decimal import Decimal

from markupsafe import escape
from sql import Literal
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from tests import test_security_access as world
from trytond.modules.hb_budget.tests.tools import temporary_hetu
from trytond.modules.hb_voucher.tests.tools import (
    create_budget,
    create_client,
    last_code,
)

M_NO_BUDGET = '+358401230003'
M_SOTKAMO = '+358401230004'
M_MEALS = '+358401230005'
M_UNKNOWN = '+358409999998'


def tx(user=0, **context):
    return Transaction().start(DB_NAME, user, context=context)


class BadInputTestCase(world.WorldTestCase):
    "Every entry point refuses each bad input with its exact error"
    tried = 0

    @classmethod
    def setUpWorld(cls):
        pool = Pool()
        Company = pool.get('company.company')
        Municipality = pool.get('hb.municipality')
        Group = pool.get('hb.customer.group')
        Category = pool.get('hb.service.category')
        ids = cls.ids
        data = {'company': Company(ids['company'])}
        for name in ['kajaani', 'sotkamo']:
            data[name] = Municipality(ids[name])
        data['avain'] = Group(ids['avain'])
        for name in ['home_help', 'meals']:
            data[name] = Category(ids[name])
        with set_company(data['company']):
            create_client(data, M_NO_BUDGET, individual=913)
            sotkamo = create_client(data, M_SOTKAMO, individual=914,
                municipality='sotkamo')
            create_budget(data, sotkamo)
            meals = create_client(data, M_MEALS, individual=915)
            create_budget(data, meals, category='meals')

    def message(self, code, module='hb_voucher', prefix='msg_charge_',
            language='en', **variables):
        with tx(language=language):
            return gettext('%s.%s%s' % (module, prefix, code), **variables)

    def api(self, method, path, body=None, raw=None, key=None):
        headers = {'Content-Type': 'application/json',
            'Accept-Language': 'en'}
        if key is not False:
            headers['Authorization'] = 'Bearer %s' % (
                key or self.ids['key_a'])
        url = '/%s/hb/api/v1/%s' % (DB_NAME, path)
        client = self.client()
        if method == 'GET':
            return client.get(url, headers=headers)
        return client.post(url, headers=headers,
            data=raw if raw is not None else json.dumps(body))

    def money_state(self):
        "What a refused request must not change"
        with tx():
            pool = Pool()
            return (pool.get('hb.budget.move').search([], count=True),
                pool.get('hb.charge').search([], count=True),
                pool.get('sale.point.sale').search([], count=True),
                pool.get('hb.sms.message').search([], count=True))

    def check_table(self, rows, call):
        "rows: (label, input, status, code, message variables)"
        wrong = []
        for label, value, status, code, variables in rows:
            response = call(value)
            body = response.get_json(silent=True) or {}
            error = body.get('error', {})
            expected = self.message(code, **(variables or {}))
            if (response.status_code != status or error.get('code') != code
                    or error.get('message') != expected):
                wrong.append('%s: %s %s, expected %s %s %r' % (
                        label, response.status_code, error, status, code,
                        expected))
        type(self).tried += len(rows)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_api_request(self):
        "POST charges"
        product = self.ids['product_a']

        def body(mobile=world.MOBILE_1, quantity=1, service=product,
                key='bad', **extra):
            return {'mobile': mobile, 'idempotency_key': key,
                'lines': [{'service': service, 'quantity': quantity}],
                **extra}
        rows = [
            ('not JSON', '{"mobile": ', 400, 'invalid_json', None),
            ('not UTF-8', b'\xff\xfe{', 400, 'invalid_json', None),
            ('a list', '[]', 400, 'invalid_request', None),
            ('empty object', '{}', 400, 'invalid_request', None),
            ('no lines', {'mobile': world.MOBILE_1, 'idempotency_key': 'x',
                    'lines': []}, 400, 'invalid_request', None),
            ('lines not a list', {'mobile': world.MOBILE_1,
                    'idempotency_key': 'x', 'lines': 'abc'},
                400, 'invalid_request', None),
            ('no key', {'mobile': world.MOBILE_1, 'lines': [
                        {'service': product, 'quantity': 1}]},
                400, 'invalid_request', None),
            ('empty key', body(key=''), 400, 'invalid_request', None),
            ('key of 256', body(key='k' * 256), 400, 'invalid_request',
                None),
            ('key a number', body(key=5), 400, 'invalid_request', None),
            ('mobile a number', body(mobile=358401230001), 400,
                'invalid_request', None),
            ('service a string', body(service='1'), 400,
                'invalid_request', None),
            ('service a bool', body(service=True), 400,
                'invalid_request', None),
            ('line not an object', {'mobile': world.MOBILE_1,
                    'idempotency_key': 'x', 'lines': [5]},
                400, 'invalid_request', None),
            *[('quantity %r' % q, body(quantity=q), 400, 'invalid_quantity',
                    {'quantity': q}) for q in [
                    -1, 0, '0', 0.001, '1.005', 101, 10 ** 12, 1e308,
                    'NaN', 'Infinity', '-Infinity', 'abc', '', None, True,
                    [1], {'a': 1}]],
            ('mobile garbage', body(mobile='abc'), 400, 'phone_invalid',
                {'mobile': 'abc'}),
            ('mobile script', body(mobile='<script>'), 400,
                'phone_invalid', {'mobile': '<script>'}),
            ('mobile unknown', body(mobile=M_UNKNOWN), 400,
                'phone_unknown', {'mobile': M_UNKNOWN}),
            ('service of B', body(service=self.ids['product_b']), 400,
                'unknown_service', {'service': self.ids['product_b']}),
            ('service unknown', body(service=999999), 400,
                'unknown_service', {'service': 999999}),
            ('no budget', body(mobile=M_NO_BUDGET), 400, 'no_active_budget',
                None),
            ('not covered', body(mobile=M_SOTKAMO), 400, 'not_covered',
                {'service': '[%s] Kotisiivous' % '' if False else None}),
            ('category not in budget', body(mobile=M_MEALS), 400,
                'category_not_in_budget', {'category': None}),
            ('more than available', body(quantity=100), 400,
                'insufficient_funds', None),
            ]
        with tx():
            Product = Pool().get('product.product')
            Category = Pool().get('hb.service.category')
            service_name = Product(product).rec_name
            category_name = Category(self.ids['cleaning']).rec_name
        rows = [(label, value, status, code,
                {'service': service_name} if code == 'not_covered'
                else {'category': category_name}
                if code == 'category_not_in_budget' else variables)
            for label, value, status, code, variables in rows]
        before = self.money_state()
        self.check_table(rows, lambda value: self.api('POST', 'charges',
                raw=value if isinstance(value, (str, bytes)) else None,
                body=value))
        self.assertEqual(self.money_state(), before,
            'a refused request reserved or created something')

    def test_api_keys(self):
        "A missing, wrong, revoked or foreign key"
        with tx():
            UserApplication = Pool().get('res.user.application')
            Party = Pool().get('party.party')
            key = UserApplication.hb_create_key(Party(self.ids['party_a']))
            Transaction().commit()
        with tx():
            UserApplication = Pool().get('res.user.application')
            UserApplication.hb_revoke(Party(self.ids['party_a']),
                UserApplication.search([('key', '=', key)])[0].id)
            Transaction().commit()
        rows = [
            ('no key', False, 401, 'unauthorized', None),
            ('wrong key', 'x' * 40, 401, 'unauthorized', None),
            ('revoked key', key, 401, 'unauthorized', None),
            ('password as key', world.PROVIDER_PASSWORDS[0], 401,
                'unauthorized', None),
            ]
        self.check_table(rows, lambda value: self.api(
                'GET', 'charges', key=value))

    def test_api_confirm_cancel_list(self):
        "confirm, cancel and list: codes, states, windows, dates"
        request = self.api('POST', 'charges', body={
                'mobile': world.MOBILE_1, 'idempotency_key': 'bad-confirm',
                'lines': [{'service': self.ids['product_a'],
                        'quantity': 1}]})
        self.assertEqual(request.status_code, 201, request.get_json())
        charge = request.get_json()['id']
        with tx():
            code = last_code(world.MOBILE_1)
        wrong = '000000' if code != '000000' else '111111'
        confirm = 'charges/%d/confirm' % charge
        rows = [
            ('code a number', ('POST', confirm, {'code': 123456}), 400,
                'invalid_request', None),
            ('no code', ('POST', confirm, {}), 400, 'invalid_request', None),
            ('not JSON', ('POST', confirm, '{'), 400, 'invalid_json', None),
            ('wrong code', ('POST', confirm, {'code': wrong}), 403,
                'wrong_code', {'left': 2}),
            ('unknown charge', ('POST', 'charges/999999/confirm',
                    {'code': code}), 404, 'not_found', None),
            ("B's charge", ('POST', 'charges/%d/confirm' % (
                        self.ids['charge_b']), {'code': code}), 404,
                'not_found', None),
            ('right code', ('POST', confirm, {'code': code}), 200, None,
                None),
            ('confirm twice', ('POST', confirm, {'code': code}), 409,
                'already_confirmed', None),
            ('bad from', ('GET', 'charges?from=yesterday', None), 400,
                'invalid_date', None),
            ('bad to', ('GET', 'charges?to=2026-13-01', None), 400,
                'invalid_date', None),
            ]
        failures = []
        for label, (method, path, body), status, code, variables in rows:
            response = self.api(method, path,
                raw=body if isinstance(body, str) else None, body=body)
            error = (response.get_json(silent=True) or {}).get('error', {})
            expected = self.message(code, **(variables or {})) if code else (
                None)
            if (response.status_code != status or error.get('code') != code
                    or error.get('message') != expected):
                failures.append('%s: %s %s' % (label, response.status_code,
                        error))
        # cancelling after the window (captured two hours ago)
        with tx() as transaction:
            Charge = Pool().get('hb.charge')
            table = Charge.__table__()
            old = dt.datetime.now() - dt.timedelta(hours=2)
            transaction.connection.cursor().execute(*table.update(
                    [table.captured_at], [Literal(old)],
                    where=table.id == charge))
            transaction.commit()
        response = self.api('POST', 'charges/%d/cancel' % charge, body={})
        error = (response.get_json(silent=True) or {}).get('error', {})
        if (response.status_code, error.get('code'), error.get(
                    'message')) != (409, 'cancel_window_passed',
                self.message('cancel_window_passed')):
            failures.append('cancel after window: %s %s' % (
                    response.status_code, error))
        type(self).tried += len(rows) + 1
        self.assertEqual(failures, [], '\n'.join(failures))

    def test_refund(self):
        "The refund wizard's operation: amounts and reason"
        rows = [
            ('negative', Decimal('-1.00'), 'Reason', 'refund_amount'),
            ('zero', Decimal('0.00'), 'Reason', 'refund_amount'),
            ('more than charged', Decimal('35.01'), 'Reason',
                'refund_amount'),
            ('sub-cent', Decimal('1.001'), 'Reason', 'refund_amount'),
            ('a float', 1.0, 'Reason', 'refund_amount'),
            ('no reason', Decimal('1.00'), '', 'reason_required'),
            ('blank reason', Decimal('1.00'), '   ', 'reason_required'),
            ]
        wrong = []
        messages = {code: self.message(code) for *_, code in rows}
        for label, amount, reason, code in rows:
            with tx(company=self.ids['company']) as transaction:
                Charge = Pool().get('hb.charge')
                try:
                    Charge.make_refund(
                        Charge(self.ids['charge_b']), amount, reason)
                except UserError as exception:
                    if (getattr(exception, 'code', None) != code
                            or exception.message != messages[code]):
                        wrong.append('%s: %s %s' % (label,
                                getattr(exception, 'code', None),
                                exception.message))
                else:
                    wrong.append('%s: accepted' % label)
                transaction.rollback()
        type(self).tried += len(rows)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_client_form(self):
        "The client form: HETU, mobile (as sao saves them)"
        rows = [
            ('HETU checksum', {'hb_hetu': '010180-911X'}, 'hb_budget',
                'msg_party_hetu_invalid',
                {'code': '010180-911X', 'party': 'Uusi'}),
            ('HETU date', {'hb_hetu': '320180-9111'}, 'hb_budget',
                'msg_party_hetu_invalid',
                {'code': '320180-9111', 'party': 'Uusi'}),
            ('HETU script', {'hb_hetu': '<script>'}, 'hb_budget',
                'msg_party_hetu_invalid',
                {'code': '<SCRIPT>', 'party': 'Uusi'}),
            ('mobile', {'hb_hetu': temporary_hetu(individual=921),
                    'hb_mobile': '123'},
                'hb_budget', 'msg_party_mobile_invalid',
                {'mobile': '123', 'party': 'Uusi'}),
            ('HETU taken', {'hb_hetu': self.ids['hetu1']}, 'hb_budget',
                'msg_party_hetu_unique', {}),
            ]
        wrong = []
        for label, values, module, message, variables in rows:
            with tx(user=self.ids['user_hb_admin']) as transaction:
                Party = Pool().get('party.party')
                expected = gettext('%s.%s' % (module, message), **variables)
                try:
                    Party.create([{'name': 'Uusi', 'hb_client': True,
                                **values}])
                except UserError as exception:
                    if exception.message != expected:
                        wrong.append('%s: %r, expected %r' % (
                                label, exception.message, expected))
                else:
                    wrong.append('%s: accepted' % label)
                transaction.rollback()
        type(self).tried += len(rows)
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_spending_interface(self):
        "reserve/capture/release/refund refuse bad amounts"
        wrong = []
        n = 0
        for method in ['reserve', 'capture', 'release', 'refund']:
            for amount in [Decimal('-1.00'), Decimal('0.00'),
                    Decimal('100000.00')]:
                n += 1
                with tx(company=self.ids['company']) as transaction:
                    Line = Pool().get('hb.budget.line')
                    try:
                        getattr(Line, method)(Line(self.ids['line1']),
                            amount, origin='test')
                    except UserError:
                        pass
                    else:
                        wrong.append('%s %s: accepted' % (method, amount))
                    transaction.rollback()
        type(self).tried += n
        self.assertEqual(wrong, [], '\n'.join(wrong))

    def test_portal_forms(self):
        "Provider portal forms: price proposal, new service, bank change"
        client = self.web_client('provider_a')
        page = client.get(self.url('provider'))
        token = world.CSRF.search(page.get_data(as_text=True)).group(1)
        service = 'provider/service/%d' % self.ids['service_a']
        with tx():
            from trytond.modules.hb_marketplace.portal import Translator
            translate = Translator('fi')
            price_invalid = translate('msg_page_price_invalid')
            incomplete = translate('msg_page_service_incomplete')
            iban = gettext('hb_marketplace.msg_invalid_iban',
                iban='FI00 1234')
        rows = [
            *[(service, {'price': p}, price_invalid) for p in [
                    '', 'abc', 'NaN', 'Infinity', '1e999', '<script>']],
            ('provider/service/new', {'name': '', 'category': str(
                        self.ids['cleaning']), 'price': '10'}, incomplete),
            ('provider/service/new', {'name': 'X', 'category': '999999',
                    'price': '10'}, incomplete),
            ('provider/service/new', {'name': 'X', 'category': 'abc',
                    'price': '10'}, incomplete),
            ('provider/service/new', {'name': 'X', 'category': str(
                        self.ids['cleaning']), 'price': 'x'},
                price_invalid),
            ('provider/bank', {'iban': 'FI00 1234', 'bic': 'NDEAFIHH'},
                iban),
            ]
        wrong = []
        for path, data, message in rows:
            response = client.post(self.url(path),
                data={**data, 'csrf_token': token})
            text = response.get_data(as_text=True)
            if response.status_code != 400 or str(escape(message)) not in (
                    text):
                wrong.append('%s %s: %s' % (path, data,
                        response.status_code))
        for price in ['-5', '0', '1000000']:
            response = client.post(self.url(service),
                data={'price': price, 'csrf_token': token})
            if response.status_code != 400:
                wrong.append('%s price %s: %s' % (service, price,
                        response.status_code))
        type(self).tried += len(rows) + 3
        self.assertEqual(wrong, [], '\n'.join(wrong))

    @classmethod
    def tearDownClass(cls):
        print('\n    bad inputs tried: %d' % cls.tried)
        super().tearDownClass()
