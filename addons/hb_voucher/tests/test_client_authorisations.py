# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client gives a standing authorisation on their page with the
one-time code sent by SMS, and ends it (issue 14): wrong, expired and
exhausted codes write nothing; representatives' rights; bad input."""
import datetime as dt
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    run_in_transaction,
    setup_hb,
)

MOBILE = '+358403334441'
MOBILE_VIEWER = '+358403334443'
MOBILE_CONFIRMER = '+358403334444'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
CODE_FORM = re.compile(r'/client/authorisation/(\d+)/confirm')


class ClientAuthorisationTestCase(RouteTestCase):
    "Standing authorisations on the client page"
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
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            application = create_provider_with_service(data)
            other = create_provider_with_service(data, index=1,
                services=[('Ikkunanpesu', 'cleaning', Decimal('40.00'))])
            client = create_client(data, MOBILE, name="Aino Asiakas")
            budget = create_budget(data, client, Decimal('500.00'))
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
            cls.budget_id = budget.id
            cls.start = budget.start_date
            cls.end = budget.end_date
            cls.provider_id = application.party.id
            cls.product_id = provider_product(application).id
            cls.other_provider_id = other.party.id
            cls.other_product_id = provider_product(other).id
            cls.category_id = data['home_help'].id
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

    def login(self, client, mobile):
        response = client.get(self.url('client/login?lang=en'))
        token = CSRF.search(response.get_data(as_text=True)).group(1)
        response = client.post(self.url('client/login'), data={
                'mobile': mobile, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 200)
        code = self.run_pool(lambda pool: last_code(mobile))
        response = client.post(self.url('client/login'), data={
                'mobile': mobile, 'code': code, 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 302)

    def page(self, client, lang='en'):
        response = client.get(self.url('client?lang=%s' % lang))
        self.assertEqual(response.status_code, 200)
        return response.get_data(as_text=True)

    def form(self, **values):
        form = {
            'auth_provider': str(self.provider_id),
            'auth_category': str(self.category_id),
            'auth_service': '',
            'auth_cap': '120,50',
            'auth_from': self.today().isoformat(),
            'auth_to': self.end.isoformat(),
            'lang': 'en',
            }
        form.update(values)
        return form

    def today(self):
        return self.run_pool(lambda pool: pool.get('ir.date').today())

    def ask(self, client, **values):
        "Post the form; return (response, text, token)"
        token = CSRF.search(self.page(client)).group(1)
        response = client.post(self.url('client/authorisation'),
            data=dict(self.form(**values), csrf_token=token))
        return response, response.get_data(as_text=True), token

    def authorisations(self):
        def read(pool):
            Authorisation = pool.get('hb.authorisation')
            return [(a.state, a.monthly_cap, a.consent_method, a.consent_by,
                    a.product.id if a.product else None)
                for a in Authorisation.search([
                        ('client', '=', self.client_id)],
                    order=[('id', 'ASC')])]
        return self.run_pool(read)

    def end_all(self):
        def end(pool):
            Authorisation = pool.get('hb.authorisation')
            Authorisation.end(Authorisation.search([
                        ('client', '=', self.client_id),
                        ('state', '=', 'active')]))
        self.run_pool(end)

    def test_authorise_with_code_and_end(self):
        """The client asks an authorisation, gets the code by SMS, a wrong
        code writes nothing, the right one activates it; then ends it"""
        self.end_all()
        before = len(self.authorisations())
        client = self.client()
        self.login(client, MOBILE)
        text = self.page(client)
        self.assertIn("Standing authorisations", text)
        self.assertIn('id="authorisation-new-title"', text)
        # the providers are listed on asking
        self.assertIn('<input type="hidden" name="auth_new" value="1">',
            text)
        self.assertNotIn('<select id="auth-provider"', text)
        response = client.get(self.url('client?lang=en&auth_new=1'))
        self.assertEqual(response.status_code, 200)
        self.assertIn('<select id="auth-provider"',
            response.get_data(as_text=True))

        response, text, token = self.ask(client, auth_service=str(
                self.product_id))
        self.assertEqual(response.status_code, 200)
        self.assertIn("A one-time code was sent to %s" % MOBILE, text)
        code_id = int(CODE_FORM.search(text).group(1))
        code = self.run_pool(lambda pool: last_code(MOBILE))
        sms = self.run_pool(lambda pool: pool.get('hb.sms.message').search(
                [('to', '=', MOBILE)], order=[('id', 'DESC')],
                limit=1)[0].text)
        self.assertIn('€120.50 a month', sms)
        self.assertEqual(len(self.authorisations()), before)

        wrong = '000000' if code != '000000' else '111111'
        response = client.post(
            self.url('client/authorisation/%d/confirm' % code_id),
            data={'code': wrong, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 401)
        self.assertIn("The code is wrong: nothing was authorised",
            response.get_data(as_text=True))
        self.assertEqual(len(self.authorisations()), before)

        # Without the CSRF token nothing is done
        response = client.post(
            self.url('client/authorisation/%d/confirm' % code_id),
            data={'code': code, 'lang': 'en'})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(len(self.authorisations()), before)

        response = client.post(
            self.url('client/authorisation/%d/confirm' % code_id),
            data={'code': code, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=authorised', response.headers['Location'])
        authorisations = self.authorisations()
        self.assertEqual(len(authorisations), before + 1)
        state, cap, method, by, product = authorisations[-1]
        self.assertEqual((state, cap, method, product),
            ('active', Decimal('120.50'), 'client_code', self.product_id))
        self.assertIn("Aino Asiakas", by)
        self.assertIn(MOBILE, by)

        # The code is used once
        response = client.post(
            self.url('client/authorisation/%d/confirm' % code_id),
            data={'code': code, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(len(self.authorisations()), before + 1)

        text = self.page(client)
        self.assertIn("The authorisation was given", client.get(
                response.headers.get('Location') or self.url(
                    'client?lang=en&done=authorised')).get_data(
                as_text=True))
        self.assertIn("up to €120.50 a month", text)
        self.assertIn("in force", text)
        authorisation_id = self.run_pool(
            lambda pool: pool.get('hb.authorisation').search([
                    ('client', '=', self.client_id),
                    ('state', '=', 'active')])[0].id)

        # A claim made under it stands when it is ended
        def claim(pool):
            Claim = pool.get('hb.claim')
            Date = pool.get('ir.date')
            claim, _ = Claim.submit(self.provider_id, authorisation_id,
                self.product_id, Date.today(), 1)
            return claim.id
        claim_id = self.run_pool(claim)
        response = client.post(
            self.url('client/authorisation/%d/end' % authorisation_id),
            data={'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        self.assertIn('done=auth_ended', response.headers['Location'])
        self.assertEqual(self.authorisations()[-1][0], 'ended')
        self.assertEqual(self.run_pool(
                lambda pool: pool.get('hb.claim')(claim_id).state),
            'pending')
        # Ending twice is refused
        response = client.post(
            self.url('client/authorisation/%d/end' % authorisation_id),
            data={'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 409)

    def test_code_expired_and_attempts(self):
        "An expired code and too many wrong codes write no authorisation"
        self.end_all()
        before = len(self.authorisations())
        client = self.client()
        self.login(client, MOBILE)
        _, text, token = self.ask(client)
        code_id = int(CODE_FORM.search(text).group(1))
        code = self.run_pool(lambda pool: last_code(MOBILE))

        def expire(pool):
            Code = pool.get('hb.authorisation.code')
            Code.write([Code(code_id)], {
                    'expires_at': dt.datetime.now() - dt.timedelta(
                        minutes=1)})
        self.run_pool(expire)
        response = client.post(
            self.url('client/authorisation/%d/confirm' % code_id),
            data={'code': code, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 410)
        self.assertIn("The code has expired",
            response.get_data(as_text=True))
        self.assertEqual(len(self.authorisations()), before)

        _, text, token = self.ask(client)
        code_id = int(CODE_FORM.search(text).group(1))
        code = self.run_pool(lambda pool: last_code(MOBILE))
        wrong = '000000' if code != '000000' else '111111'
        statuses = []
        for _ in range(3):
            response = client.post(
                self.url('client/authorisation/%d/confirm' % code_id),
                data={'code': wrong, 'csrf_token': token, 'lang': 'en'})
            statuses.append(response.status_code)
        self.assertEqual(statuses, [401, 401, 429])
        self.assertIn("wrong too many times",
            response.get_data(as_text=True))
        # the right code does not help anymore
        response = client.post(
            self.url('client/authorisation/%d/confirm' % code_id),
            data={'code': code, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(len(self.authorisations()), before)

    def test_provider_first(self):
        """With several providers the form lists the providers first, then
        the services of the chosen one only (issue 16: the page listed
        every service of the catalogue); showing them sends nothing"""
        client = self.client()
        self.login(client, MOBILE)
        text = self.page(client)
        # The page itself lists no provider (issue 16: it is read on every
        # visit): a button asks for them
        self.assertNotIn('<select id="auth-provider"', text)
        self.assertNotIn('Palvelu 1 Oy', text)
        self.assertIn('<form method="get" action="/%s/hb/client#'
            'authorisation-new-title"' % DB_NAME, text)
        self.assertIn('<input type="hidden" name="auth_new" value="1">',
            text)
        self.assertIn('>Choose a provider</button>', text)
        response = client.get(self.url('client?lang=en&auth_new=1'))
        self.assertEqual(response.status_code, 200)
        text = response.get_data(as_text=True)
        self.assertIn('<select id="auth-provider"', text)
        self.assertIn('<option value="%d">Palvelu 1 Oy</option>'
            % self.other_provider_id, text)
        self.assertIn('<option value="%d">' % self.provider_id, text)
        self.assertNotIn('id="auth-service"', text)
        self.assertNotIn('id="auth-cap"', text)
        self.assertIn("Show the provider&#39;s services", text)

        def codes(pool):
            return pool.get('hb.authorisation.code').search([], count=True)
        count = self.run_pool(codes)
        self.assertIn('<form method="get" action="/%s/hb/client#' % DB_NAME,
            text)
        response = client.get(self.url('client?lang=en&auth_provider=%d'
                % self.other_provider_id))
        self.assertEqual(response.status_code, 200)
        text = response.get_data(as_text=True)
        self.assertIn('name="auth_provider" value="%d"'
            % self.other_provider_id, text)
        self.assertIn('<strong>Palvelu 1 Oy</strong>', text)
        self.assertIn('<option value="%d">Ikkunanpesu</option>'
            % self.other_product_id, text)
        self.assertNotIn('<option value="%d"' % self.product_id, text)
        self.assertIn('id="auth-cap"', text)
        self.assertIn("choose another provider", text)
        self.assertEqual(self.run_pool(codes), count)

        # A provider that is not covered, or no number: the providers
        for value in ['999999', 'x' * 100, '-1']:
            response = client.get(self.url('client?lang=en&auth_provider=%s'
                    % value))
            self.assertEqual(response.status_code, 200)
            text = response.get_data(as_text=True)
            self.assertIn('<select id="auth-provider"', text)
            self.assertNotIn('id="auth-cap"', text)

        # A service of the other provider is not one of this provider's
        response, text, _ = self.ask(client,
            auth_service=str(self.other_product_id))
        self.assertEqual(response.status_code, 400)
        self.assertIn("Choose a service of", text)
        self.assertEqual(self.run_pool(codes), count)

    def test_no_provider_covered(self):
        """Asked for the providers when no service of the catalogue is
        covered for the client: the page says so, without a form"""
        def services(pool, active):
            Template = pool.get('product.template')
            templates = Template.search([
                    ('hb_provider', 'in',
                        [self.provider_id, self.other_provider_id]),
                    ('active', '=', not active)])
            Template.write(templates, {'active': active})
        client = self.client()
        self.login(client, MOBILE)
        self.run_pool(lambda pool: services(pool, False))
        try:
            response = client.get(self.url('client?lang=en&auth_new=1'))
        finally:
            self.run_pool(lambda pool: services(pool, True))
        self.assertEqual(response.status_code, 200)
        text = response.get_data(as_text=True)
        self.assertIn("No provider of the service catalogue covers", text)
        self.assertNotIn('id="auth-provider"', text)
        self.assertNotIn('id="auth-cap"', text)

    def test_bad_input(self):
        "Refused forms are answered in the page, nothing is written"
        client = self.client()
        self.login(client, MOBILE)

        def codes(pool):
            return pool.get('hb.authorisation.code').search([], count=True)
        count = self.run_pool(codes)
        for values, status, message in [
                ({'auth_cap': '0'}, 400, "Give the monthly cap"),
                ({'auth_cap': '500.01'}, 400, "at most 500.00"),
                ({'auth_cap': 'abc'}, 400, "Give the monthly cap"),
                ({'auth_cap': '1.005'}, 400, "Give the monthly cap"),
                ({'auth_provider': '999999'}, 400, "Choose a provider"),
                ({'auth_category': '999999'}, 400, "Choose a service cat"),
                ({'auth_service': '999999'}, 400, "Choose a service of"),
                ({'auth_to': (self.end + dt.timedelta(days=1)).isoformat()},
                    400, "within your budget"),
                ({'auth_from': 'yesterday'}, 400, "within your budget"),
                ({'auth_cap': '1' * 41}, 400, "too long"),
                ]:
            response, text, _ = self.ask(client, **values)
            self.assertEqual(response.status_code, status, values)
            self.assertIn(message, text, values)
        self.assertEqual(self.run_pool(codes), count)

    def test_representatives(self):
        """A representative who may confirm charges may authorise (the
        consent is theirs); one who may only view may not"""
        viewer = self.client()
        self.login(viewer, MOBILE_VIEWER)
        text = self.page(viewer)
        self.assertNotIn('id="authorisation-new-title"', text)
        self.assertNotIn('id="auth-provider"', text)
        token = CSRF.search(text).group(1)
        response = viewer.post(self.url('client/authorisation'),
            data=dict(self.form(), csrf_token=token))
        self.assertEqual(response.status_code, 403)

        self.end_all()
        confirmer = self.client()
        self.login(confirmer, MOBILE_CONFIRMER)
        _, text, token = self.ask(confirmer)
        code_id = int(CODE_FORM.search(text).group(1))
        code = self.run_pool(lambda pool: last_code(MOBILE_CONFIRMER))
        response = confirmer.post(
            self.url('client/authorisation/%d/confirm' % code_id),
            data={'code': code, 'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        state, _, method, by, _ = self.authorisations()[-1]
        self.assertEqual((state, method), ('active', 'client_code'))
        self.assertIn("Hyväksyjä Edunvalvoja", by)
        self.end_all()
