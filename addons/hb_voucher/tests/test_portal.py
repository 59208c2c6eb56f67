# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The provider portal pages of hb_voucher (terminal, charges, bills, API
keys) through trytond's WSGI application."""
import datetime as dt
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import temporary_hetu
from trytond.modules.hb_marketplace.tests.tools import set_password

from .tools import (
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

PASSWORD_A = 'Provider-A-secret-1'
PASSWORD_B = 'Provider-B-secret-2'
EMAIL_A = 'palvelu0@example.com'
EMAIL_B = 'palvelu1@example.com'
MOBILE_FLOW = '+358403333331'
MOBILE_REFUSED = '+358403333332'
MOBILE_OTHER = '+358403333333'
MOBILE_BILL = '+358403333334'
MOBILE_WINDOW = '+358403333335'
MOBILE_EXPIRED = '+358403333336'
MOBILE_REFUND = '+358403333337'
MOBILE_UNKNOWN = '+358409999998'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]*)"')
CHARGE_URL = re.compile(r'/hb/provider/terminal/(\d+)$')


def csrf_token(response):
    match = CSRF.search(response.get_data(as_text=True))
    return match.group(1) if match else ''


class PortalTestCase(RouteTestCase):
    "Test the provider portal pages of charges, bills and API keys"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        load_finnish(('hb_marketplace', 'hb_voucher'))
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            a = create_provider_with_service(data)
            b = create_provider_with_service(data, 1, price=Decimal('40.00'))
            set_password(a.web_user, PASSWORD_A)
            set_password(b.web_user, PASSWORD_B)
            cls.product_a = provider_product(a).id
            cls.product_b = provider_product(b).id
            cls.party_a, cls.party_b = a.party.id, b.party.id
            cls.budgets = {}
            for index, mobile in enumerate([MOBILE_FLOW, MOBILE_REFUSED,
                        MOBILE_OTHER, MOBILE_BILL, MOBILE_WINDOW,
                        MOBILE_EXPIRED, MOBILE_REFUND]):
                client = create_client(data, mobile, individual=911 + index,
                    name='Asiakas %d' % index)
                cls.budgets[mobile] = create_budget(
                    data, client, Decimal('500.00')).id
        cls.hetus = [temporary_hetu(individual=911 + i) for i in range(7)]

    # Helpers

    def url(self, path):
        return '/%s/hb/%s' % (DB_NAME, path)

    def login(self, email=EMAIL_A, password=PASSWORD_A):
        client = self.client()
        response = client.get(self.url('provider/login'))
        response = client.post(self.url('provider/login'), data={
                'email': email, 'password': password,
                'csrf_token': csrf_token(response),
                })
        self.assertEqual(response.status_code, 302)
        return client

    def in_transaction(self, func, *args, **kwargs):
        def run():
            pool = Pool()
            Company = pool.get('company.company')
            company, = Company.search([], limit=1)
            with Transaction().set_context(company=company.id):
                return func(pool, *args, **kwargs)
        return run_in_transaction(run, user=0)

    def budget(self, mobile):
        "Return (reserved, spent, available) of the client's budget"
        def figures(pool):
            budget = pool.get('hb.budget')(self.budgets[mobile])
            return budget.reserved, budget.spent, budget.available
        return self.in_transaction(figures)

    def charges(self, mobile):
        "Return [(id, kind, state, amount, attempts)] of the client's"
        def read(pool):
            Charge = pool.get('hb.charge')
            return [(c.id, c.kind, c.state, c.amount, c.attempts)
                for c in Charge.search([('mobile', '=', mobile)],
                    order=[('id', 'ASC')])]
        return self.in_transaction(read)

    def portal_reads(self, mobile):
        "Return the access log rows of the portal's reads of the client"
        def read(pool):
            AccessLog = pool.get('hb.access.log')
            Party = pool.get('party.party')
            if 'channel' not in AccessLog._fields:
                return True  # the access log has no web channels yet
            client, = Party.search([('hb_mobile', '=', mobile)])
            return [(g.channel, g.actor.id) for g in AccessLog.search([
                        ('client', '=', client.id),
                        ('channel', '=', 'portal'),
                        ('actor', '=', self.party_a),
                        ])]
        return self.in_transaction(read)

    def code(self, mobile):
        return self.in_transaction(lambda pool: last_code(mobile))

    def terminal(self, client, mobile, quantity='2', product=None,
            key=None, language='en'):
        "Post the terminal form as the page gives it; return the response"
        page = client.get(self.url('provider/terminal'),
            query_string={'lang': language})
        self.assertEqual(page.status_code, 200)
        return client.post(self.url('provider/terminal'), data={
                'csrf_token': csrf_token(page),
                'idempotency_key': key or KEY.search(
                    page.get_data(as_text=True)).group(1),
                'mobile': mobile,
                'service': str(product or self.product_a),
                'quantity': quantity,
                'lang': language,
                })

    def charge_id(self, response):
        self.assertEqual(response.status_code, 302,
            response.get_data(as_text=True))
        return int(CHARGE_URL.search(
                response.headers['Location'].split('?')[0]).group(1))

    def confirm(self, client, charge_id, code, language='en'):
        page = client.get(self.url('provider/terminal'))
        return client.post(
            self.url('provider/terminal/%d/confirm' % charge_id), data={
                'csrf_token': csrf_token(page), 'code': code,
                'lang': language})

    def cancel(self, client, charge_id, language='en', back=None,
            confirm=True):
        "Cancel (a confirmed charge: refund) after its confirmation step"
        page = client.get(self.url('provider/charges'))
        data = {'csrf_token': csrf_token(page), 'lang': language}
        if back:
            data['back'] = back
        if confirm:
            data['confirm'] = '1'
        return client.post(
            self.url('provider/charges/%d/cancel' % charge_id), data=data)

    def charge_now(self, client, mobile, quantity='2'):
        "Charge and confirm through the terminal; return the charge id"
        charge_id = self.charge_id(self.terminal(client, mobile, quantity))
        response = self.confirm(client, charge_id, self.code(mobile))
        self.assertEqual(response.status_code, 302)
        return charge_id

    def assertAccessible(self, html):
        self.assertNotIn('style=', html)
        self.assertNotIn('<script', html)
        self.assertIn('<h1', html)
        for hetu in self.hetus:
            self.assertNotIn(hetu, html)
        # every input but the hidden ones has its label
        for id_ in re.findall(
                r'<(?:input|select|textarea)(?![^>]*type="hidden")'
                r'[^>]*\bid="([^"]+)"', html):
            self.assertIn('for="%s"' % id_, html)
        for table in re.findall(r'<table>.*?</table>', html, re.S):
            self.assertIn('<th scope="col">', table)

    # Tests

    def test_terminal_flow(self):
        "Charge through the terminal, confirm with the code, list, cancel"
        client = self.login()
        page = client.get(self.url('provider/terminal'))
        self.assertEqual(page.status_code, 200)
        html = page.get_data(as_text=True)
        self.assertIn('<html lang="fi">', html)
        self.assertIn('Veloita budjettia', html)
        self.assertIn('Asiakkaan matkapuhelinnumero', html)
        self.assertIn('Kotisiivous', html)
        self.assertAccessible(html)
        self.assertEqual(page.headers['Cache-Control'], 'no-store')
        self.assertIn("default-src 'none'",
            page.headers['Content-Security-Policy'])
        # Each form has its own idempotency key
        other = client.get(self.url('provider/terminal'))
        key = KEY.search(html).group(1)
        self.assertNotEqual(key, KEY.search(
                other.get_data(as_text=True)).group(1))

        # A double submit charges once
        response = self.terminal(client, MOBILE_FLOW, '2', key=key)
        charge_id = self.charge_id(response)
        again = self.terminal(client, MOBILE_FLOW, '2', key=key)
        self.assertEqual(self.charge_id(again), charge_id)
        self.assertEqual(self.charges(MOBILE_FLOW),
            [(charge_id, 'charge', 'requested', Decimal('70.00'), 0)])
        self.assertEqual(self.budget(MOBILE_FLOW),
            (Decimal('70.00'), Decimal('0.00'), Decimal('430.00')))

        # The pending charge with the code field
        page = client.get(self.url('provider/terminal/%d' % charge_id),
            query_string={'lang': 'en'})
        self.assertEqual(page.status_code, 200)
        html = page.get_data(as_text=True)
        self.assertIn('Asiakas 0', html)
        self.assertIn('€70.00', html)
        self.assertIn('<td>2</td>', html)
        self.assertIn('Waiting for the code', html)
        self.assertIn('name="code"', html)
        self.assertIn('Cancel the charge', html)
        self.assertAccessible(html)

        response = self.confirm(client, charge_id, self.code(MOBILE_FLOW))
        self.assertEqual(response.status_code, 302)
        receipt = client.get(response.headers['Location'])
        html = receipt.get_data(as_text=True)
        self.assertIn('Receipt', html)
        self.assertIn('Charged', html)
        self.assertIn('€70.00', html)
        self.assertNotIn('name="code"', html)
        self.assertEqual(self.charges(MOBILE_FLOW),
            [(charge_id, 'charge', 'captured', Decimal('70.00'), 0)])
        self.assertEqual(self.budget(MOBILE_FLOW),
            (Decimal('0.00'), Decimal('70.00'), Decimal('430.00')))
        # Confirming again is refused (409), nothing changes
        response = self.confirm(client, charge_id, '000000')
        self.assertEqual(response.status_code, 409)
        self.assertIn('The charge is already confirmed.',
            response.get_data(as_text=True))

        # The list shows it, with a cancel button
        page = client.get(self.url('provider/charges'),
            query_string={'lang': 'en'})
        self.assertEqual(page.status_code, 200)
        html = page.get_data(as_text=True)
        number = self.in_transaction(
            lambda pool: pool.get('hb.charge')(charge_id).number)
        self.assertIn(number, html)
        self.assertIn('Asiakas 0', html)
        self.assertIn('Cancel %s' % number, html)
        self.assertAccessible(html)
        self.assertTrue(self.portal_reads(MOBILE_FLOW),
            "the provider's view of the client's name is not logged")
        today = self.in_transaction(lambda pool: pool.get('ir.date').today())
        html = client.get(self.url('provider/charges'), query_string={
                'from': (today + dt.timedelta(days=1)).isoformat(),
                'lang': 'en'}).get_data(as_text=True)
        self.assertNotIn(number, html)
        self.assertIn('No charges.', html)
        html = client.get(self.url('provider/charges'), query_string={
                'from': today.isoformat(), 'to': today.isoformat(),
                }).get_data(as_text=True)
        self.assertIn(number, html)
        response = client.get(self.url('provider/charges'),
            query_string={'from': 'yesterday', 'lang': 'en'})
        self.assertEqual(response.status_code, 400)
        self.assertIn('The dates must be given as YYYY-MM-DD.',
            response.get_data(as_text=True))

        # Cancel: the budget gets the money back
        response = self.cancel(client, charge_id)
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=cancelled', response.headers['Location'])
        html = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn('The charge was cancelled', html)
        self.assertNotIn('Cancel %s' % number, html)
        (_, _, state, amount, _), (_, kind, refund_state, refund, _) = (
            self.charges(MOBILE_FLOW))
        self.assertEqual((state, amount), ('cancelled', Decimal('70.00')))
        self.assertEqual((kind, refund_state, refund),
            ('refund', 'captured', Decimal('-70.00')))
        self.assertEqual(self.budget(MOBILE_FLOW),
            (Decimal('0.00'), Decimal('0.00'), Decimal('500.00')))
        # Cancelling twice is refused
        response = self.cancel(client, charge_id)
        self.assertEqual(response.status_code, 409)
        self.assertIn('not waiting for confirmation',
            response.get_data(as_text=True))

    def test_terminal_cancel_request(self):
        "A pending request cancelled on the terminal page reserves nothing"
        client = self.login()
        charge_id = self.charge_id(self.terminal(client, MOBILE_OTHER, '1'))
        self.assertEqual(self.budget(MOBILE_OTHER)[0], Decimal('35.00'))
        response = self.cancel(client, charge_id, back='terminal')
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.charge_id(response), charge_id)
        html = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn('Cancelled', html)
        self.assertIn('nothing was charged', html)
        self.assertEqual(self.budget(MOBILE_OTHER),
            (Decimal('0.00'), Decimal('0.00'), Decimal('500.00')))
        response = self.confirm(
            client, charge_id, self.code(MOBILE_OTHER), language='fi')
        self.assertEqual(response.status_code, 409)
        self.assertIn('Veloitus ei odota vahvistusta',
            response.get_data(as_text=True))

    def test_terminal_expired(self):
        "An expired request shows so, and confirming it releases it"
        client = self.login()
        charge_id = self.charge_id(
            self.terminal(client, MOBILE_EXPIRED, '1'))
        html = client.get(self.url('provider/terminal/%d' % charge_id),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('The code is valid for 10 more minutes.', html)

        def expire(pool):
            Charge = pool.get('hb.charge')
            charge = Charge(charge_id)
            Charge.write([charge], {
                    'expires_at': charge.expires_at - dt.timedelta(
                        minutes=11)})
        self.in_transaction(expire)
        html = client.get(self.url('provider/terminal/%d' % charge_id),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('The confirmation time ran out', html)
        self.assertNotIn('name="code"', html)
        self.assertEqual(self.budget(MOBILE_EXPIRED)[0], Decimal('35.00'))
        response = self.confirm(
            client, charge_id, self.code(MOBILE_EXPIRED))
        self.assertEqual(response.status_code, 409)
        self.assertIn('The confirmation time ran out',
            response.get_data(as_text=True))
        # The refusal is kept: the request expired, its money released
        self.assertEqual(self.charges(MOBILE_EXPIRED)[0][2], 'expired')
        self.assertEqual(self.budget(MOBILE_EXPIRED),
            (Decimal('0.00'), Decimal('0.00'), Decimal('500.00')))

    def test_terminal_refusals(self):
        "Refusals show the message and reserve nothing"
        client = self.login()
        before = self.budget(MOBILE_REFUSED)
        charges = self.charges(MOBILE_REFUSED)
        cases = [
            (MOBILE_UNKNOWN, '1', None, 400,
                'No personal budget client uses the phone number'),
            ('12', '1', None, 400, 'is not a valid phone number'),
            (MOBILE_REFUSED, '-1', None, 400, 'The quantity'),
            (MOBILE_REFUSED, 'abc', None, 400, 'The quantity'),
            (MOBILE_REFUSED, '0', None, 400, 'The quantity'),
            (MOBILE_REFUSED, '1.001', None, 400, 'The quantity'),
            (MOBILE_REFUSED, '100000000', None, 400, 'The quantity'),
            (MOBILE_REFUSED, '', None, 400, 'The quantity'),
            (MOBILE_REFUSED, '20', None, 400,
                'does not have enough available'),
            (MOBILE_REFUSED, '1', self.product_b, 400,
                'is not an approved service of the provider'),
            (MOBILE_REFUSED, '1', 'x', 400, 'The request is not valid'),
            ]
        for mobile, quantity, product, status, text in cases:
            with self.subTest(mobile=mobile, quantity=quantity):
                response = self.terminal(
                    client, mobile, quantity, product=product)
                self.assertEqual(response.status_code, status)
                html = response.get_data(as_text=True)
                self.assertIn('role="alert"', html)
                self.assertIn(text, html)
                # The form is shown again with what was typed
                self.assertIn('value="%s"' % mobile, html)
                self.assertAccessible(html)
        self.assertEqual(self.charges(MOBILE_REFUSED), charges)
        self.assertEqual(self.budget(MOBILE_REFUSED), before)
        # In Finnish too
        response = self.terminal(
            client, MOBILE_UNKNOWN, '1', language='fi')
        self.assertEqual(response.status_code, 400)
        self.assertIn('Puhelinnumerolla %s ei löydy' % MOBILE_UNKNOWN,
            response.get_data(as_text=True))

        # A decimal comma is a valid quantity
        charge_id = self.charge_id(
            self.terminal(client, MOBILE_REFUSED, '1,5'))
        self.assertEqual(self.budget(MOBILE_REFUSED)[0], Decimal('52.50'))
        html = client.get(self.url('provider/terminal/%d' % charge_id)
            ).get_data(as_text=True)
        self.assertIn('<td>1,5</td>', html)
        self.assertIn('52,50\u00a0€', html)
        # Wrong codes are counted (kept), then the request is cancelled
        code = self.code(MOBILE_REFUSED)
        wrong = '%06d' % ((int(code) + 1) % 1000000)
        response = self.confirm(client, charge_id, '')
        self.assertEqual(response.status_code, 400)
        self.assertIn('Give the code', response.get_data(as_text=True))
        response = self.confirm(client, charge_id, wrong)
        self.assertEqual(response.status_code, 403)
        self.assertIn('The code is wrong. Attempts left: 2.',
            response.get_data(as_text=True))
        self.assertEqual(self.charges(MOBILE_REFUSED)[-1][2:],
            ('requested', Decimal('52.50'), 1))
        self.confirm(client, charge_id, wrong)
        response = self.confirm(client, charge_id, wrong)
        self.assertEqual(response.status_code, 409)
        html = response.get_data(as_text=True)
        self.assertIn('Too many wrong codes', html)
        self.assertNotIn('name="code"', html)
        self.assertEqual(self.charges(MOBILE_REFUSED)[-1][2:],
            ('cancelled', Decimal('52.50'), 3))
        self.assertEqual(self.budget(MOBILE_REFUSED), before)

    def test_csrf(self):
        "Posts without the session's CSRF token are refused (403)"
        client = self.login()
        before = self.charges(MOBILE_REFUSED)
        response = client.post(self.url('provider/terminal'), data={
                'idempotency_key': 'no-csrf', 'mobile': MOBILE_REFUSED,
                'service': str(self.product_a), 'quantity': '1'})
        self.assertEqual(response.status_code, 403)
        response = client.post(self.url('provider/terminal'), data={
                'csrf_token': 'forged', 'idempotency_key': 'forged-csrf',
                'mobile': MOBILE_REFUSED,
                'service': str(self.product_a), 'quantity': '1'})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.charges(MOBILE_REFUSED), before)
        for path in ['provider/keys', 'provider/keys/1/revoke',
                'provider/charges/1/cancel',
                'provider/terminal/1/confirm']:
            response = client.post(self.url(path), data={'name': 'x'})
            self.assertEqual(response.status_code, 403, path)
        # Without a session: to the login page
        for path in ['terminal', 'charges', 'bills', 'keys']:
            response = self.client().get(self.url('provider/' + path))
            self.assertEqual(response.status_code, 302)
            self.assertIn('/hb/provider/login',
                response.headers['Location'])

    def test_isolation(self):
        "Provider B can neither see nor cancel provider A's charges"
        a = self.login()
        charge_id = self.charge_now(a, MOBILE_OTHER, '1')
        number = self.in_transaction(
            lambda pool: pool.get('hb.charge')(charge_id).number)
        b = self.login(EMAIL_B, PASSWORD_B)
        self.assertNotIn(number, b.get(
                self.url('provider/charges')).get_data(as_text=True))
        response = b.get(self.url('provider/terminal/%d' % charge_id))
        self.assertEqual(response.status_code, 404)
        self.assertNotIn('Asiakas 2', response.get_data(as_text=True))
        response = self.cancel(b, charge_id)
        self.assertEqual(response.status_code, 404)
        response = self.confirm(b, charge_id, '123456')
        self.assertEqual(response.status_code, 404,
            response.get_data(as_text=True))
        html = b.get(self.url('provider/terminal')).get_data(as_text=True)
        self.assertNotIn('value="%d"' % self.product_a, html)
        self.assertIn('value="%d"' % self.product_b, html)
        # A's service posted by B is refused
        response = self.terminal(b, MOBILE_OTHER, '1', product=self.product_a)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            [c[2] for c in self.charges(MOBILE_OTHER) if c[0] >= charge_id],
            ['captured'])
        # A still cancels its own
        self.assertEqual(self.cancel(a, charge_id).status_code, 302)

    def test_refund_confirmation(self):
        """Refunding a confirmed charge asks first: the first click shows
        what would be refunded and changes nothing"""
        client = self.login()
        charge_id = self.charge_now(client, MOBILE_REFUND, '1')
        number = self.in_transaction(
            lambda pool: pool.get('hb.charge')(charge_id).number)
        for back in [None, 'terminal']:
            response = self.cancel(client, charge_id, back=back,
                confirm=False)
            self.assertEqual(response.status_code, 200)
            html = response.get_data(as_text=True)
            self.assertIn('Refund charge %s?' % number, html)
            self.assertIn('€35.00', html)
            self.assertIn('Asiakas 6', html)
            self.assertIn('name="confirm" value="1"', html)
            self.assertIn('Refund €35.00', html)  # the button
            self.assertIn('href="/%s/hb/provider/%s' % (DB_NAME,
                    'terminal/%d' % charge_id if back else 'charges'),
                html)  # back without refunding
            self.assertAccessible(html)
            self.assertEqual([c[2] for c in self.charges(MOBILE_REFUND)],
                ['captured'])
            self.assertEqual(self.budget(MOBILE_REFUND),
                (Decimal('0.00'), Decimal('35.00'), Decimal('465.00')))
        # In Finnish too
        response = self.cancel(client, charge_id, language='fi',
            confirm=False)
        self.assertIn('Palautetaanko veloitus %s?' % number,
            response.get_data(as_text=True))

        response = self.cancel(client, charge_id)
        self.assertEqual(response.status_code, 302)
        self.assertEqual([c[1:3] for c in self.charges(MOBILE_REFUND)],
            [('charge', 'cancelled'), ('refund', 'captured')])
        self.assertEqual(self.budget(MOBILE_REFUND),
            (Decimal('0.00'), Decimal('0.00'), Decimal('500.00')))

        # A request not yet confirmed is cancelled without the step
        charge_id = self.charge_id(self.terminal(client, MOBILE_REFUND, '1'))
        response = self.cancel(client, charge_id, confirm=False)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.charges(MOBILE_REFUND)[-1][2], 'cancelled')

    def test_cancel_window(self):
        "A charge cannot be cancelled after the window"
        client = self.login()
        charge_id = self.charge_now(client, MOBILE_WINDOW, '1')

        def age(pool):
            Charge = pool.get('hb.charge')
            charge = Charge(charge_id)
            Charge.write([charge], {
                    'captured_at': charge.captured_at - dt.timedelta(
                        hours=2)})
        self.in_transaction(age)
        html = client.get(self.url('provider/charges'),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertNotIn(
            'provider/charges/%d/cancel' % charge_id, html)
        response = self.cancel(client, charge_id)
        self.assertEqual(response.status_code, 409)
        self.assertIn('cancellation time of the charge has passed',
            response.get_data(as_text=True))
        self.assertEqual(self.charges(MOBILE_WINDOW)[0][2], 'captured')
        self.assertEqual(self.budget(MOBILE_WINDOW)[1], Decimal('35.00'))

    def test_bills(self):
        "The provider sees its vendor bills and their payment status"
        a = self.login()
        html = a.get(self.url('provider/bills'),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('Bills and payments', html)
        self.charge_now(a, MOBILE_BILL, '3')

        def bill(pool):
            Charge = pool.get('hb.charge')
            Date = pool.get('ir.date')
            Configuration = pool.get('hb.configuration')
            config = Configuration(1)
            config.hb_invoice_post = True
            config.save()
            invoices = Charge.bill_providers(end_date=Date.today())
            return {i.party.id: (i.number, i.total_amount, i.state)
                for i in invoices}
        bills = self.in_transaction(bill)
        number, total, state = bills[self.party_a]
        self.assertEqual(state, 'posted')
        self.assertGreaterEqual(total, Decimal('105.00'))
        response = a.get(self.url('provider/bills'),
            query_string={'lang': 'en'})
        self.assertEqual(response.status_code, 200)
        html = response.get_data(as_text=True)
        self.assertIn('<th scope="row">%s</th>' % number, html)
        self.assertIn('€{:,.2f}'.format(total), html)
        self.assertIn('Posted', html)
        self.assertIn('Unpaid', html)
        self.assertAccessible(html)
        html = a.get(self.url('provider/bills')).get_data(as_text=True)
        self.assertIn('Maksamatta', html)
        b = self.login(EMAIL_B, PASSWORD_B)
        html = b.get(self.url('provider/bills')).get_data(as_text=True)
        self.assertNotIn('<th scope="row">%s</th>' % number, html)
        self.assertIn('Ei vielä laskuja.', html)

    def test_keys(self):
        "Create an API key (shown once), use it, revoke it"
        client = self.login()
        page = client.get(self.url('provider/keys'),
            query_string={'lang': 'en'})
        self.assertEqual(page.status_code, 200)
        self.assertAccessible(page.get_data(as_text=True))
        response = client.post(self.url('provider/keys'), data={
                'csrf_token': csrf_token(page), 'name': '', 'lang': 'en'})
        self.assertEqual(response.status_code, 400)
        self.assertIn('Give the key a name', response.get_data(as_text=True))
        response = client.post(self.url('provider/keys'), data={
                'csrf_token': csrf_token(page), 'name': 'Kassa 1',
                'lang': 'en'})
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.headers['Cache-Control'], 'no-store')
        html = response.get_data(as_text=True)
        key = re.search(r'id="new-key" value="([^"]+)"', html).group(1)
        self.assertIn('Kassa 1', html)
        self.assertAccessible(html)

        api = '/%s/hb/api/v1/charges' % DB_NAME
        headers = {'Authorization': 'Bearer %s' % key}
        self.assertEqual(self.client().get(
                api, headers=headers).status_code, 200)
        # The key is never shown again
        html = client.get(self.url('provider/keys')).get_data(as_text=True)
        self.assertNotIn(key, html)
        self.assertIn('Kassa 1', html)
        self.assertIn('Käytössä', html)

        def key_id(pool):
            UserApplication = pool.get('res.user.application')
            application, = UserApplication.search([('key', '=', key)])
            return application.id
        key_id = self.in_transaction(key_id)
        # Provider B cannot revoke it
        b = self.login(EMAIL_B, PASSWORD_B)
        page = b.get(self.url('provider/keys'))
        self.assertNotIn('Kassa 1', page.get_data(as_text=True))
        response = b.post(self.url('provider/keys/%d/revoke' % key_id),
            data={'csrf_token': csrf_token(page)})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.client().get(
                api, headers=headers).status_code, 200)

        page = client.get(self.url('provider/keys'))
        response = client.post(
            self.url('provider/keys/%d/revoke' % key_id),
            data={'csrf_token': csrf_token(page), 'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        html = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn('The key was revoked', html)
        self.assertIn('Revoked', html)
        self.assertNotIn('keys/%d/revoke' % key_id, html)
        response = self.client().get(api, headers=headers)
        self.assertEqual(response.status_code, 401)
        # Revoking again: not found
        response = client.post(
            self.url('provider/keys/%d/revoke' % key_id),
            data={'csrf_token': csrf_token(page)})
        self.assertEqual(response.status_code, 404)

    def test_navigation(self):
        "The portal's navigation links the pages, in Finnish and English"
        client = self.login()
        html = client.get(self.url('provider')).get_data(as_text=True)
        for path, text in [('terminal', 'Veloita budjettia'),
                ('charges', 'Veloitukset'), ('bills', 'Laskut ja maksut'),
                ('keys', 'API-avaimet')]:
            self.assertIn('/hb/provider/%s' % path, html)
            self.assertIn(text, html)
        html = client.get(self.url('provider'),
            query_string={'lang': 'en'}).get_data(as_text=True)
        for text in ['Charge a budget', 'Charges', 'Bills and payments',
                'API keys']:
            self.assertIn(text, html)


del RouteTestCase
