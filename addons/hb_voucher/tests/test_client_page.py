# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's page at /<db>/hb/client: login by mobile number and
one-time code, the real-time balance, confirming a pending charge,
representatives' rights, ratings and service gaps, bad input."""
import datetime as dt
import html
import json
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from .tools import (
    create_api_key,
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    run_in_transaction,
    setup_hb,
)

MOBILE = '+358403333331'
MOBILE_OTHER = '+358403333332'
MOBILE_VIEWER = '+358403333333'
MOBILE_CONFIRMER = '+358403333334'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


class ClientPageTestCase(RouteTestCase):
    "The client page"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            application = create_provider_with_service(data)
            second = create_provider_with_service(data, index=1)
            cls.uncharged_service_id = provider_product(
                second).template.id
            client = create_client(data, MOBILE, name="Liisa Asiakas")
            other = create_client(data, MOBILE_OTHER, individual=902,
                name="Toinen Asiakas")
            cls.budget_id = create_budget(
                data, client, Decimal('500.00')).id
            cls.other_budget_id = create_budget(
                data, other, Decimal('300.00')).id
            viewer, confirmer = Party.create([
                    {'name': "Katsoja Sukulainen"},
                    {'name': "Hyväksyjä Edunvalvoja"}])
            Representative.create([{
                        'client': client.id, 'party': viewer.id,
                        'role': 'relative', 'mobile': MOBILE_VIEWER,
                        'may_view_balance': True,
                        'may_confirm_charges': False,
                        }, {
                        'client': client.id, 'party': confirmer.id,
                        'role': 'guardian', 'mobile': MOBILE_CONFIRMER,
                        'may_view_balance': False,
                        'may_confirm_charges': True,
                        }])
            cls.client_id = client.id
            cls.product_id = provider_product(application).id
            cls.service_id = provider_product(application).template.id
            cls.key = create_api_key(application)
            cls.hetu = client.hb_hetu
            # These tests log the same numbers in again and again from
            # one address: the limits of codes are tested in
            # test_login_limits
            Configuration = pool.get('hb.configuration')
            Configuration.write([Configuration(1)], {
                    'hb_login_code_interval': 0,
                    'hb_login_code_limit': 1000,
                    'hb_login_ip_limit': 1000,
                    'hb_login_answer_time': 0,
                    })

    def url(self, path=''):
        return '/%s/hb/%s' % (DB_NAME, path)

    def run_pool(self, func):
        def run():
            pool = Pool()
            Company = pool.get('company.company')
            company, = Company.search([], limit=1)
            with Transaction().set_context(company=company.id):
                return func(pool)
        return run_in_transaction(run, user=0)

    def api(self, client, path, data):
        return client.post('/%s/hb/api/v1/%s' % (DB_NAME, path),
            data=json.dumps(data), headers={
                'Authorization': 'Bearer %s' % self.key,
                'Content-Type': 'application/json'})

    def login(self, client, mobile, code=None):
        "Log in through the form; return the last response"
        response = client.get(self.url('client/login?lang=en'))
        self.assertEqual(response.status_code, 200)
        token = CSRF.search(response.get_data(as_text=True)).group(1)
        response = client.post(self.url('client/login'), data={
                'mobile': mobile, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 200)
        self.assertIn('name="code"', response.get_data(as_text=True))
        if code is None:
            code = self.run_pool(lambda pool: last_code(mobile))
        return client.post(self.url('client/login'), data={
                'mobile': mobile, 'code': code, 'csrf_token': token,
                'lang': 'en'})

    def page(self, client):
        response = client.get(self.url('client?lang=en'))
        self.assertEqual(response.status_code, 200)
        return response.get_data(as_text=True)

    def request_charge(self, key, quantity=1):
        response = self.api(self.client(), 'charges', {
                'mobile': MOBILE, 'idempotency_key': key,
                'lines': [{'service': self.product_id,
                        'quantity': quantity}]})
        self.assertEqual(response.status_code, 201, response.json)
        return response.json['id']

    def test_anonymous_is_sent_to_login(self):
        "Without a session the page redirects to its login form"
        response = self.client().get(self.url('client'))
        self.assertEqual(response.status_code, 302)
        self.assertIn('/hb/client/login', response.headers['Location'])
        response = self.client().get(self.url('client/login'))
        self.assertEqual(response.status_code, 200)
        self.assertIn('Content-Security-Policy', response.headers)

    def test_balance_confirm_and_logout(self):
        "The client sees the balance, confirms a pending charge, logs out"
        client = self.client()
        response = self.login(client, MOBILE)
        self.assertEqual(response.status_code, 302)
        text = self.page(client)
        self.assertIn("Liisa Asiakas", text)
        self.assertNotIn("Toinen Asiakas", text)
        self.assertNotIn(self.hetu, text)
        self.assertIn('€500.00', text)

        # A charge requested at the point of service appears at once as
        # pending; the client confirms it on the page instead of a code
        charge_id = self.request_charge('page-1', quantity=2)
        text = self.page(client)
        self.assertIn("Charges waiting for confirmation", text)
        self.assertIn('€70.00', text)
        self.assertIn('€430.00', text)  # available: 70.00 is reserved
        token = CSRF.search(text).group(1)
        response = client.post(
            self.url('client/charge/%d/confirm' % charge_id),
            data={'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        location = response.headers['Location']
        self.assertIn('done=confirmed', location)

        def figures(pool):
            Budget = pool.get('hb.budget')
            Charge = pool.get('hb.charge')
            budget = Budget(self.budget_id)
            return (Charge(charge_id).state, budget.reserved, budget.spent,
                budget.available)
        self.assertEqual(self.run_pool(figures), (
                'captured', Decimal('0.00'), Decimal('70.00'),
                Decimal('430.00')))
        text = client.get(location).get_data(as_text=True)
        self.assertIn("The charge was confirmed", text)
        self.assertNotIn("Charges waiting for confirmation", text)
        self.assertIn("Charged", text)  # the transaction is listed

        # The page shows what the records hold (it reads them in batches)
        def shown(pool):
            Charge = pool.get('hb.charge')
            Budget = pool.get('hb.budget')
            charge = Charge(charge_id)
            budget = Budget(self.budget_id)
            line, = charge.lines
            return [charge.number, charge.date.isoformat(),
                charge.provider.rec_name,
                '%s × %s' % (line.product.template.name, line.quantity),
                budget.start_date.isoformat(),
                budget.end_date.isoformat(),
                ] + [line.category.rec_name for line in budget.lines], (
                # the service to rate, listed on asking
                '%s (%s)' % (line.product.template.name,
                    charge.provider.rec_name))
        values, service = self.run_pool(shown)
        for value in values:
            self.assertIn(html.escape(value), text)
        self.assertNotIn(html.escape(service), text)
        self.assertIn(html.escape(service), client.get(self.url(
                    'client?lang=en&rate=1')).get_data(as_text=True))

        # Confirming twice is refused without change
        response = client.post(
            self.url('client/charge/%d/confirm' % charge_id),
            data={'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(self.run_pool(figures)[2], Decimal('70.00'))

        # Without the CSRF token nothing is done
        other_charge = self.request_charge('page-2')
        response = client.post(
            self.url('client/charge/%d/confirm' % other_charge),
            data={'lang': 'en'})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.run_pool(
                lambda pool: pool.get('hb.charge')(other_charge).state),
            'requested')

        response = client.post(self.url('client/logout'),
            data={'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(client.get(self.url('client')).status_code, 302)

    def test_refuse_pending_charge(self):
        """The client refuses a pending charge on the page: the hold is
        released and the terminal sees the charge refused"""
        client = self.client()
        self.login(client, MOBILE)
        charge_id = self.request_charge('refuse-1', quantity=2)

        def figures(pool):
            budget = pool.get('hb.budget')(self.budget_id)
            return budget.reserved, budget.available
        reserved, available = self.run_pool(figures)
        text = self.page(client)
        self.assertIn('client/charge/%d/refuse' % charge_id, text)
        self.assertIn('Refuse the charge of €70.00', text)
        token = CSRF.search(text).group(1)

        # Without the CSRF token, or by a representative who may only
        # view, nothing is done
        response = client.post(
            self.url('client/charge/%d/refuse' % charge_id),
            data={'lang': 'en'})
        self.assertEqual(response.status_code, 403)
        viewer = self.client()
        self.login(viewer, MOBILE_VIEWER)
        self.assertNotIn('/refuse"', self.page(viewer))
        response = viewer.post(
            self.url('client/charge/%d/refuse' % charge_id),
            data={'csrf_token': CSRF.search(self.page(viewer)).group(1)})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.run_pool(
                lambda pool: pool.get('hb.charge')(charge_id).state),
            'requested')

        response = client.post(
            self.url('client/charge/%d/refuse' % charge_id),
            data={'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=refused', response.headers['Location'])
        text = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn("The charge was refused", text)
        self.assertNotIn('client/charge/%d/' % charge_id, text)
        self.assertEqual(self.run_pool(figures), (
                reserved - Decimal('70.00'), available + Decimal('70.00')))

        # The terminal sees it refused and cannot confirm it any more
        terminal = self.client()
        response = terminal.get(
            '/%s/hb/api/v1/charges/%d' % (DB_NAME, charge_id),
            headers={'Authorization': 'Bearer %s' % self.key})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            (response.json['state'], response.json['refused']),
            ('cancelled', True))
        response = self.api(terminal, 'charges/%d/confirm' % charge_id,
            {'code': self.run_pool(lambda pool: last_code(MOBILE))})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json['error']['code'], 'refused')
        self.assertEqual(self.run_pool(figures), (
                reserved - Decimal('70.00'), available + Decimal('70.00')))
        # Refusing twice is refused
        response = client.post(
            self.url('client/charge/%d/refuse' % charge_id),
            data={'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 409)

    def test_chart_labels(self):
        """The chart "Budget use" shows each category's name and figures
        as text, and the table gives the same figures"""
        client = self.client()
        self.login(client, MOBILE)
        text = self.page(client)
        chart = re.search(r'<figure class="budget-chart".*?</figure>',
            text, re.S)
        self.assertTrue(chart, 'no chart')
        chart = chart.group(0)

        def lines(pool):
            budget = pool.get('hb.budget')(self.budget_id)
            return [(line.category.rec_name, line.amount, line.spent,
                    line.reserved) for line in budget.lines]

        def money(value):
            return '€{:,.2f}'.format(value)
        for name, amount, spent, reserved in self.run_pool(lines):
            self.assertIn(html.escape(name), chart)
            for value in [amount, spent, reserved]:
                self.assertIn(money(value), chart)
        for legend in ["Spent", "Reserved"]:
            self.assertIn(legend, chart)
        self.assertIn('<figcaption', chart)
        # The table alternative follows, named for screen readers
        self.assertIn('aria-describedby="', chart)
        table = text[text.index('</figure>'):]
        self.assertIn('<caption', table.split('</table>')[0])

    def test_header_link(self):
        "Every public page's header links to the client page"
        for path in ['catalogue?lang=en', 'client/login?lang=en',
                'provider/apply?lang=fi']:
            text = self.client().get(self.url(path)).get_data(as_text=True)
            header = text[text.index('<header'):text.index('</header>')]
            self.assertIn('href="%s' % self.url('client?lang='), header,
                path)
        self.assertIn(">My personal budget<", self.client().get(
                self.url('catalogue?lang=en')).get_data(as_text=True))

    def test_session_idle_timeout(self):
        "An idle session ends; activity is recorded at most every 30 s"
        client = self.client()
        self.login(client, MOBILE)
        self.page(client)

        login_id = self.run_pool(lambda pool: pool.get(
                'hb.client.login').search([('state', '=', 'active')],
                order=[('id', 'DESC')], limit=1)[0].id)

        def age(seconds):
            def run(pool):
                Login = pool.get('hb.client.login')
                Login.write([Login(login_id)], {'last_seen': Login._now()
                        - dt.timedelta(seconds=seconds)})
            self.run_pool(run)

        def idle():
            def run(pool):
                Login = pool.get('hb.client.login')
                login = Login(login_id)
                return (Login._now() - login.last_seen).total_seconds()
            return self.run_pool(run)

        age(10)
        self.page(client)
        self.assertGreaterEqual(idle(), 10)  # not written again
        age(40)
        self.page(client)
        self.assertLess(idle(), 10)  # refreshed
        timeout = self.run_pool(
            lambda pool: pool.get('hb.client.login').timeout())
        age(timeout.total_seconds() + 1)
        response = client.get(self.url('client?lang=en'))
        self.assertEqual(response.status_code, 302)
        self.assertIn('/hb/client/login', response.headers['Location'])
        self.assertEqual(self.run_pool(lambda pool: pool.get(
                    'hb.client.login')(login_id).state), 'ended')

    def test_rate_and_report_gap(self):
        "The client rates a service charged for and reports a missing one"
        client = self.client()
        self.login(client, MOBILE)
        text = self.page(client)
        token = CSRF.search(text).group(1)
        # Never charged for: the service cannot be rated
        response = client.post(self.url('client/rate'), data={
                'csrf_token': token,
                'service': str(self.uncharged_service_id),
                'rating': '5', 'lang': 'en'})
        self.assertEqual(response.status_code, 400)
        self.assertIn("Choose a service you were charged for",
            response.get_data(as_text=True))

        charge_id = self.request_charge('rate-1')
        response = client.post(
            self.url('client/charge/%d/confirm' % charge_id),
            data={'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        # The page offers the rating; the services are listed on asking
        # (issue 16: the page itself does not list them)
        text = self.page(client)
        self.assertIn('id="rate-title"', text)
        self.assertIn('<input type="hidden" name="rate" value="1">', text)
        self.assertIn('>Choose the service to rate</button>', text)
        self.assertNotIn('id="rate-service"', text)
        response = client.get(self.url('client?lang=en&rate=1'))
        self.assertEqual(response.status_code, 200)
        text = response.get_data(as_text=True)
        self.assertIn('<option value="%d">' % self.service_id, text)
        self.assertNotIn('<option value="%d"' % self.uncharged_service_id,
            text)
        for rating, status in [('0', 400), ('6', 400), ('x', 400),
                ('4', 302)]:
            response = client.post(self.url('client/rate'), data={
                    'csrf_token': token, 'service': str(self.service_id),
                    'rating': rating, 'comment': '<script>x</script>',
                    'lang': 'en'})
            self.assertEqual(response.status_code, status, rating)
            if status == 400:
                # the form is sent back with the service chosen
                self.assertIn('<option value="%d" selected>'
                    % self.service_id, response.get_data(as_text=True))
        # Rating again updates the client's rating
        client.post(self.url('client/rate'), data={
                'csrf_token': token, 'service': str(self.service_id),
                'rating': '5'})
        text = client.get(self.url('client?lang=en&rate=1')).get_data(
            as_text=True)
        self.assertRegex(text, r'<option value="%d">[^<]*: 5/5</option>'
            % self.service_id)

        def ratings(pool):
            Rating = pool.get('hb.service.rating')
            return [(r.rating, r.comment) for r in Rating.search([
                        ('client', '=', self.client_id)])]
        self.assertEqual(self.run_pool(ratings), [(5, None)])

        def category(pool):
            return pool.get('hb.service.category').search([])[0].id
        category_id = self.run_pool(category)
        response = client.post(self.url('client/gap'), data={
                'csrf_token': token, 'category': str(category_id),
                'description': '', 'lang': 'en'})
        self.assertEqual(response.status_code, 400)
        response = client.post(self.url('client/gap'), data={
                'csrf_token': token, 'category': str(category_id),
                'description': 'Evening childcare', 'lang': 'en'})
        self.assertEqual(response.status_code, 302)

        def gaps(pool):
            Gap = pool.get('hb.service.gap')
            return [(g.source, g.client.id, g.description)
                for g in Gap.search([('client', '=', self.client_id)])]
        self.assertEqual(self.run_pool(gaps),
            [('client', self.client_id, 'Evening childcare')])

    def test_representatives(self):
        """A representative who may view sees the balance but cannot
        confirm; one who may confirm only sees the pending charges"""
        viewer = self.client()
        self.assertEqual(
            self.login(viewer, MOBILE_VIEWER).status_code, 302)
        text = self.page(viewer)
        self.assertIn("Liisa Asiakas", text)
        self.assertIn("Katsoja Sukulainen", text)
        self.assertIn('€500.00', text)

        charge_id = self.request_charge('rep-1')
        text = self.page(viewer)
        self.assertIn("Charges waiting for confirmation", text)
        self.assertNotIn('/confirm"', text)
        token = CSRF.search(text).group(1)
        response = viewer.post(
            self.url('client/charge/%d/confirm' % charge_id),
            data={'csrf_token': token})
        self.assertEqual(response.status_code, 403)

        confirmer = self.client()
        self.assertEqual(
            self.login(confirmer, MOBILE_CONFIRMER).status_code, 302)
        text = self.page(confirmer)
        self.assertNotIn('€500.00', text)
        self.assertIn("not see the balance", text)
        token = CSRF.search(text).group(1)
        response = confirmer.post(
            self.url('client/charge/%d/confirm' % charge_id),
            data={'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.run_pool(
                lambda pool: pool.get('hb.charge')(charge_id).state),
            'captured')

    def test_bad_login(self):
        """A bad number, a wrong code and too many codes are refused; an
        unknown number gets the same answer as a known one"""
        client = self.client()
        response = client.get(self.url('client/login?lang=en'))
        token = CSRF.search(response.get_data(as_text=True)).group(1)
        response = client.post(self.url('client/login'), data={
                'mobile': 'not a number', 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 400)
        self.assertIn("Enter a valid mobile number",
            response.get_data(as_text=True))
        # An unknown number: the same page, but no message is sent
        response = client.post(self.url('client/login'), data={
                'mobile': '+358409999888', 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 200)
        self.assertIsNone(
            self.run_pool(lambda pool: last_code('+358409999888')))
        # Without the CSRF cookie's token
        response = self.client().post(self.url('client/login'), data={
                'mobile': MOBILE_OTHER, 'csrf_token': 'x'})
        self.assertEqual(response.status_code, 403)

        response = self.login(client, MOBILE_OTHER, code='000000')
        self.assertIn(response.status_code, {401, 429})
        statuses = [client.post(self.url('client/login'), data={
                    'mobile': MOBILE_OTHER, 'code': '%06d' % i,
                    'csrf_token': token}).status_code for i in range(8)]
        self.assertEqual(statuses[-1], 429, statuses)
        self.assertEqual(client.get(self.url('client')).status_code, 302)

    def test_access_logged(self):
        "Viewing the page records who saw which client's data"
        client = self.client()
        self.login(client, MOBILE_VIEWER)

        def last_id(pool):
            logs = pool.get('hb.access.log').search([], limit=1,
                order=[('id', 'DESC')])
            return logs[0].id if logs else 0
        start = self.run_pool(last_id)
        self.page(client)

        def rows(pool):
            AccessLog = pool.get('hb.access.log')
            return sorted((log.model, log.channel, log.actor.name,
                    log.client.id) for log in AccessLog.search([
                        ('id', '>', start)]))
        self.assertEqual(self.run_pool(rows), [
                ('hb.budget', 'client_page', "Katsoja Sukulainen",
                    self.client_id),
                ('party.party', 'client_page', "Katsoja Sukulainen",
                    self.client_id),
                ])

    def test_transactions_pages(self):
        "The transactions are shown 20 a page, newest first"
        client = self.client()
        self.login(client, MOBILE)
        terminal = self.client()
        for i in range(23):
            charge_id = self.request_charge('pages-%d' % i, quantity='0.1')
            response = self.api(terminal, 'charges/%d/confirm' % charge_id,
                {'code': self.run_pool(lambda pool: last_code(MOBILE))})
            self.assertEqual(response.status_code, 200, response.json)

        def numbers(pool):
            Charge = pool.get('hb.charge')
            return [c.number for c in Charge.search([
                        ('budget', '=', self.budget_id),
                        ('state', 'in', ['captured', 'cancelled']),
                        ], order=[('date', 'DESC'), ('id', 'DESC')])]
        numbers = self.run_pool(numbers)
        self.assertGreaterEqual(len(numbers), 23)
        pages = -(-len(numbers) // 20)

        def shown(text):
            return [n for n in numbers if '<td>%s</td>' % n in text]
        text = self.page(client)
        self.assertEqual(shown(text), numbers[:20])
        self.assertIn('Page 1 of %d' % pages, text)
        self.assertIn('page=2', text)
        response = client.get(self.url('client?lang=en&page=2'))
        self.assertEqual(response.status_code, 200)
        text = response.get_data(as_text=True)
        self.assertEqual(shown(text), numbers[20:40])
        self.assertIn('Page 2 of %d' % pages, text)
        # Beyond the end: the last page; not a page number: refused
        response = client.get(self.url('client?lang=en&page=999'))
        self.assertEqual(shown(response.get_data(as_text=True)),
            numbers[(pages - 1) * 20:])
        for value in ['0', 'x', '-1', '1.5']:
            response = client.get(self.url('client?lang=en&page=' + value))
            self.assertEqual(response.status_code, 400, value)
            self.assertIn('The page number is not valid',
                response.get_data(as_text=True))



del RouteTestCase
