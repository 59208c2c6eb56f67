# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Claims through the terminal API and the client's dispute on their page
(issue 14)"""
import datetime as dt
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.tests.test_tryton import DB_NAME

from trytond.modules.hb_marketplace.tests.tools import set_password

from .test_claim import MOBILE, make_world
from .test_e2e import _RouteCase
from .test_portal import csrf_token
from .tools import create_api_key, create_wellbeing_area, last_code

PASSWORD = 'Provider-claims-secret-1'
EMAIL = 'palvelu0@example.com'


class ClaimApiTestCase(_RouteCase):
    "Claims through the terminal API"
    budget_amount = '500.00'

    @classmethod
    def setUpDatabase(cls):
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world(
                cap=Decimal('5000.00'))
            cls.key = create_api_key(application)
            set_password(application.web_user, PASSWORD)
            cls.product_id = product.id
            cls.authorisation_id = authorisation.id

    def get(self, client, path):
        return client.get(self.url(path), headers={
                'Authorization': 'Bearer %s' % self.key,
                'Accept-Language': 'en'})

    def test_claim_api(self):
        "POST a claim (idempotent), GET it, refusals with their codes"
        client = self.client()
        body = {
            'authorisation': self.authorisation_id,
            'service': self.product_id,
            'date': dt.date.today().isoformat(),
            'quantity': 1, 'idempotency_key': 'api-1',
            }
        response = self.post(client, 'claims', body)
        self.assertEqual(response.status_code, 201, response.json)
        self.assertEqual(response.json['state'], 'pending')
        self.assertEqual(response.json['amount'], '35.00')
        claim_id = response.json['id']
        again = self.post(client, 'claims', body)
        self.assertEqual((again.status_code, again.json['id']),
            (200, claim_id))
        reused = self.post(client, 'claims', dict(body, quantity=2))
        self.assertEqual((reused.status_code, reused.json['error']['code']),
            (422, 'idempotency_key_reused'))
        duplicate = self.post(client, 'claims',
            dict(body, idempotency_key='api-2'))
        self.assertEqual(
            (duplicate.status_code, duplicate.json['error']['code']),
            (409, 'duplicate'))
        confirmed = self.post(client, 'claims',
            dict(body, idempotency_key='api-2', confirm_duplicate=True))
        self.assertEqual(confirmed.status_code, 201, confirmed.json)
        future = self.post(client, 'claims', dict(body,
                idempotency_key='api-3',
                date=(dt.date.today() + dt.timedelta(days=2)).isoformat()))
        self.assertEqual((future.status_code, future.json['error']['code']),
            (400, 'future_date'))
        unknown = self.post(client, 'claims',
            dict(body, idempotency_key='api-4', authorisation=2 ** 31 - 1))
        self.assertEqual(unknown.status_code, 404, unknown.json)

        response = self.get(client, 'claims/%d' % claim_id)
        self.assertEqual(response.status_code, 200, response.json)
        self.assertEqual(response.json['id'], claim_id)
        self.assertEqual(self.get(client, 'claims/%d' % (2 ** 31 - 1)
                ).status_code, 404)

        def document(pool):
            from trytond.modules.hb_voucher.openapi import document
            return document('/')
        paths = self.in_transaction(document)['paths']
        self.assertIn('/claims', paths)
        self.assertIn('/claims/{claim_id}', paths)

    def test_client_dispute(self):
        "The client sees a claim at once on their page and disputes it"
        csrf = re.compile(r'name="csrf_token" value="([^"]*)"')
        api = self.client()
        response = self.post(api, 'claims', {
                'authorisation': self.authorisation_id,
                'service': self.product_id,
                'date': dt.date.today().isoformat(),
                'quantity': 3, 'idempotency_key': 'page-1'})
        self.assertEqual(response.status_code, 201, response.json)
        claim_id = response.json['id']

        client = self.client()
        page = client.get(self.url('').replace(
                '/hb/api/v1/', '/hb/client/login?lang=en'))
        token = csrf.search(page.get_data(as_text=True)).group(1)
        login = self.url('').replace('/hb/api/v1/', '/hb/client/login')
        client.post(login, data={
                'mobile': MOBILE, 'csrf_token': token, 'lang': 'en'})
        code = self.in_transaction(lambda pool: last_code(MOBILE))
        response = client.post(login, data={
                'mobile': MOBILE, 'code': code, 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        home = self.url('').replace('/hb/api/v1/', '/hb/client')
        text = client.get(home + '?lang=en').get_data(as_text=True)
        self.assertIn('claim-%d' % claim_id, text)
        self.assertIn('€105.00', text)
        token = csrf.search(text).group(1)
        response = client.post('%s/claim/%d/dispute' % (home, claim_id),
            data={'csrf_token': token, 'lang': 'en', 'reason': "Not done"})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=disputed', response.headers['Location'])
        # again: no longer pending
        response = client.post('%s/claim/%d/dispute' % (home, claim_id),
            data={'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 409)

        response = self.get(api, 'claims/%d' % claim_id)
        self.assertEqual(response.json['state'], 'disputed')

    def portal_login(self):
        client = self.client()
        url = '/%s/hb/provider/login' % DB_NAME
        response = client.get(url)
        response = client.post(url, data={
                'email': EMAIL, 'password': PASSWORD,
                'csrf_token': csrf_token(response)})
        self.assertEqual(response.status_code, 302)
        return client

    def test_portal_csv_upload(self):
        "A CSV of good and bad rows: a report per row, refused rows unwritten"
        import io
        client = self.portal_login()
        url = '/%s/hb/provider/claims?lang=en' % DB_NAME
        response = client.get(url)
        self.assertEqual(response.status_code, 200)
        # the upload form says how the file is processed
        self.assertIn('id="upload-progress"', response.get_data(as_text=True))
        token = csrf_token(response)
        today = dt.date.today()
        rows = [
            'authorisation;service;date;quantity;unit_price',
            '%d;%d;%s;1;' % (self.authorisation_id, self.product_id,
                (today - dt.timedelta(days=1)).isoformat()),
            '%d;%d;%s;1;' % (self.authorisation_id, self.product_id,
                (today + dt.timedelta(days=5)).isoformat()),
            '%d;%d;%s;1;99.00' % (self.authorisation_id, self.product_id,
                today.isoformat()),
            '%d;%d;%s;1,5;' % (self.authorisation_id, self.product_id,
                (today - dt.timedelta(days=2)).isoformat()),
            '%d;%d;%s;1;' % (self.authorisation_id, self.product_id,
                (today - dt.timedelta(days=1)).isoformat()),
            'x;y;z;1;',
            ]
        data = ('\n'.join(rows) + '\n').encode('utf-8')
        response = client.post(
            '/%s/hb/provider/claims/upload?lang=en' % DB_NAME,
            data={'csrf_token': token, 'lang': 'en',
                'file': (io.BytesIO(data), 'claims.csv', 'text/csv')},
            content_type='multipart/form-data')
        self.assertEqual(response.status_code, 200)
        text = response.get_data(as_text=True)
        self.assertEqual(text.count('class="accepted"'), 2, text)
        self.assertEqual(text.count('class="refused"'), 4, text)
        self.assertIn('6 rows processed: 2 accepted, 4 refused', text)

        def count(pool):
            Claim = pool.get('hb.claim')
            return Claim.search([('source', '=', 'csv')], count=True)
        self.assertEqual(self.in_transaction(count), 2)

        # the single claim form
        response = client.post(url, data={
                'csrf_token': token, 'lang': 'en',
                'authorisation': str(self.authorisation_id),
                'service': str(self.product_id),
                'date': (today - dt.timedelta(days=3)).isoformat(),
                'quantity': '1'})
        self.assertEqual(response.status_code, 201,
            response.get_data(as_text=True))
