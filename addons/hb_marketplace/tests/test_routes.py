# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The web pages through trytond's WSGI application (werkzeug client)."""
import datetime
import html as html_module
import io
import re
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

from sql import Literal
from trytond import backend
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase
from trytond.transaction import Transaction

from .tools import (
    BIC,
    BUSINESS_IDS,
    IBANS,
    CachedLanguages,
    create_master_data,
    create_provider,
    create_wellbeing_area,
    no_email,
    set_password,
)

PASSWORD_A = 'Provider-A-secret-1'
PASSWORD_B = 'Provider-B-secret-2'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_token(response):
    match = CSRF.search(response.get_data(as_text=True))
    return match.group(1) if match else ''


class HbMarketplaceRouteTestCase(CachedLanguages, RouteTestCase):
    "Test the public pages and the provider portal"
    module = 'hb_marketplace'
    languages = ('fi',)  # the pages are in Finnish by default

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Template = pool.get('product.template')
        with set_company(create_wellbeing_area()):
            data = create_master_data()
            a = create_provider(data, 0)
            b = create_provider(
                data, 1, name='Ateria ja Apu Oy', email='ateria@example.com',
                municipalities=('kajaani', 'sotkamo'),
                customer_groups=('avain', 'elderly'),
                services=[
                    ('Kotiateria', 'meals', Decimal('9.50')),
                    ('Asiointiapu', 'escort', Decimal('30.00')),
                    ])
            set_password(a.web_user, PASSWORD_A)
            set_password(b.web_user, PASSWORD_B)
            meal, escort = sorted(b.contract.services, key=lambda s: s.name)
            # Text given by a provider is shown escaped
            Template.write([escort], {
                    'hb_description': '<script>alert("x")</script> & more',
                    })
        cls.ids = {k: v.id for k, v in data.items()}
        cls.ids.update({
                'party_a': a.party.id, 'party_b': b.party.id,
                'contract_a': a.contract.id, 'contract_b': b.contract.id,
                'service_a': a.contract.services[0].id,
                'meal_b': meal.id, 'escort_b': escort.id,
                'user_a': a.web_user.id,
                })

    def url(self, path):
        return '/%s/hb/%s' % (self.db_name, path)

    def catalogue(self, client, municipality, group, **params):
        query = {'municipality': self.ids[municipality],
            'group': self.ids[group], **params}
        return client.get(self.url('catalogue'), query_string=query)

    def login(self, client, email, password):
        response = client.get(self.url('provider/login'))
        return client.post(self.url('provider/login'), data={
                'email': email, 'password': password,
                'csrf_token': csrf_token(response),
                })

    def transaction(self):
        return Transaction().start(self.db_name, 0)

    def count(self, model, domain=None):
        with self.transaction():
            return Pool().get(model).search(domain or [], count=True)

    def set_contract_state(self, contract, suspend):
        with self.transaction(), no_email():
            Contract = Pool().get('hb.provider.contract')
            contract = Contract(self.ids[contract])
            if suspend:
                Contract.do_suspend([contract], "Test")
            else:
                Contract.activate([contract])

    def assertSecure(self, response):
        headers = response.headers
        self.assertIn("frame-ancestors 'none'",
            headers['Content-Security-Policy'])
        self.assertNotIn('unsafe-inline', headers['Content-Security-Policy'])
        self.assertEqual(headers['X-Frame-Options'], 'DENY')
        self.assertEqual(headers['X-Content-Type-Options'], 'nosniff')
        self.assertTrue(headers['Referrer-Policy'])

    def test_catalogue_filters(self):
        "The catalogue lists services of the municipality and group only"
        client = self.client()
        response = self.catalogue(client, 'kajaani', 'avain')
        self.assertEqual(response.status_code, 200)
        self.assertSecure(response)
        html = response.get_data(as_text=True)
        self.assertIn('<html lang="fi">', html)
        self.assertIn('Löydä palvelut henkilökohtaiseen budjettiisi', html)
        for name in ['Kotisiivous', 'Kotiateria', 'Asiointiapu']:
            self.assertIn(name, html)
        self.assertIn('35,00\u00a0€', html)

        html = self.catalogue(client, 'sotkamo', 'avain').get_data(
            as_text=True)
        self.assertIn('Kotiateria', html)
        self.assertNotIn('Kotisiivous', html)

        html = self.catalogue(client, 'kajaani', 'elderly', lang='en'
            ).get_data(as_text=True)
        self.assertIn('<html lang="en">', html)
        self.assertIn('Find services for your personal budget', html)
        self.assertIn('Kotiateria', html)
        self.assertNotIn('Kotisiivous', html)
        self.assertIn('€9.50', html)

        html = self.catalogue(
            client, 'kajaani', 'avain', category=self.ids['meals']
            ).get_data(as_text=True)
        self.assertIn('Kotiateria', html)
        self.assertNotIn('Kotisiivous', html)

    def test_catalogue_sort(self):
        "Services sort by price by default, by name or rating on demand"
        client = self.client()
        html = self.catalogue(client, 'kajaani', 'avain', category=None
            ).get_data(as_text=True)
        # price order within the listing of all services
        order = [html.index(n) for n in ['Kotiateria', 'Asiointiapu']]
        self.assertEqual(order, sorted(order))
        response = self.catalogue(client, 'kajaani', 'avain', sort='rating')
        self.assertEqual(response.status_code, 200)

    def test_catalogue_gap(self):
        "A search without result records a gap"
        before = self.count('hb.service.gap')
        response = self.catalogue(self.client(), 'kuhmo', 'avain')
        self.assertEqual(response.status_code, 200)
        self.assertIn('role="status"', response.get_data(as_text=True))
        self.assertEqual(self.count('hb.service.gap', [
                    ('municipality', '=', self.ids['kuhmo']),
                    ('source', '=', 'catalogue'),
                    ]), 1)
        self.assertEqual(self.count('hb.service.gap'), before + 1)

    def test_catalogue_suspended(self):
        "The services of a suspended contract leave the catalogue"
        client = self.client()
        self.set_contract_state('contract_a', suspend=True)
        try:
            html = self.catalogue(client, 'kajaani', 'avain').get_data(
                as_text=True)
            self.assertNotIn('Kotisiivous', html)
            self.assertIn('Kotiateria', html)
            response = client.get(self.url(
                    'catalogue/service/%d' % self.ids['service_a']))
            self.assertEqual(response.status_code, 404)
        finally:
            self.set_contract_state('contract_a', suspend=False)
        html = self.catalogue(client, 'kajaani', 'avain').get_data(
            as_text=True)
        self.assertIn('Kotisiivous', html)

    def test_service_detail_escapes(self):
        "The detail page shows provider text escaped"
        response = self.client().get(self.url(
                'catalogue/service/%d' % self.ids['escort_b']))
        self.assertEqual(response.status_code, 200)
        self.assertSecure(response)
        html = response.get_data(as_text=True)
        self.assertIn('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;', html)
        self.assertNotIn('<script', html)
        response = self.client().get(self.url('catalogue/service/999999'))
        self.assertEqual(response.status_code, 404)

    def test_compare(self):
        "Up to three services are compared side by side"
        client = self.client()
        ids = [self.ids[k] for k in ['service_a', 'meal_b', 'escort_b']]
        response = client.get(self.url('catalogue/compare'),
            query_string={'service': ids})
        self.assertEqual(response.status_code, 200)
        html = response.get_data(as_text=True)
        self.assertIn('<table', html)
        for name in ['Kotisiivous', 'Kotiateria', 'Asiointiapu']:
            self.assertIn(name, html)
        response = client.get(self.url('catalogue/compare'),
            query_string={'service': ids + [ids[0] + 1000]})
        self.assertEqual(response.status_code, 400)
        self.assertIn('role="alert"', response.get_data(as_text=True))

    def application_form(self, **values):
        form = {
            'name': 'Uusi Palvelu Oy', 'business_id': BUSINESS_IDS[2],
            'street': 'Torikatu 1', 'postal_code': '87100',
            'city': 'Kajaani', 'contact_name': 'Matti Meikäläinen',
            'email': 'uusi@example.com', 'phone': '040 765 4321',
            'iban': IBANS[2], 'bic': BIC, 'language': 'fi',
            'municipalities': [str(self.ids['kajaani'])],
            'customer_groups': [str(self.ids['avain'])],
            'service_name_1': 'Ikkunanpesu',
            'service_category_1': str(self.ids['cleaning']),
            'service_price_1': '42,50',
            'service_languages_1': ['fi', 'sv'],
            'rulebook_accepted': 'yes',
            }
        form.update(values)
        return form

    def post_application(self, client, **values):
        response = client.get(self.url('provider/apply'))
        self.assertEqual(response.status_code, 200)
        self.assertSecure(response)
        form = self.application_form(**values)
        form.setdefault('csrf_token', csrf_token(response))
        with no_email():
            return client.post(self.url('provider/apply'), data=form)

    def test_apply_refuses_bad_input(self):
        "Bad input is refused with a message and nothing is written"
        client = self.client()
        before = self.count('hb.provider.application')
        for values, text in [
                ({'business_id': '1234567-2'}, '1234567-2'),
                ({'iban': 'FI00 1234'}, 'FI00 1234'),
                ({'email': 'ei-sahkoposti'}, 'ei-sahkoposti'),
                ({'phone': '123'}, '123'),
                ({'service_price_1': '60,01'}, '60.01'),
                ({'rulebook_accepted': ''}, 'sääntökirjan'),
                ({'name': '<script>alert(1)</script>',
                        'business_id': 'x<b>y</b>'}, 'x&lt;b&gt;y&lt;/b&gt;'),
                ]:
            with self.subTest(values=values):
                response = self.post_application(client, **values)
                self.assertEqual(response.status_code, 400)
                html = response.get_data(as_text=True)
                self.assertIn('role="alert"', html)
                self.assertIn(text, html)
                self.assertNotIn('<script>alert', html)
        self.assertEqual(self.count('hb.provider.application'), before)

    def test_apply_csrf(self):
        "An application posted without a valid CSRF token is refused"
        client = self.client()
        before = self.count('hb.provider.application')
        response = self.post_application(client, csrf_token='forged')
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.count('hb.provider.application'), before)

    def test_apply(self):
        "A valid application is submitted with its attachments"
        client = self.client()
        response = self.post_application(client, business_id=BUSINESS_IDS[3],
            email='toinen@example.com', liability_insurance=(
                io.BytesIO(b'%PDF-1.4 insurance'), 'vakuutus.pdf',
                'application/pdf'))
        self.assertEqual(response.status_code, 200, response.get_data())
        with self.transaction():
            pool = Pool()
            Application = pool.get('hb.provider.application')
            Attachment = pool.get('ir.attachment')
            Email = pool.get('ir.email')
            application, = Application.search([
                    ('business_id', '=', BUSINESS_IDS[3])])
            self.assertEqual(application.state, 'submitted')
            self.assertEqual(application.iban, IBANS[2])
            self.assertEqual(application.services[0].price, Decimal('42.50'))
            self.assertEqual(
                application.services[0].languages, ('fi', 'sv'))
            self.assertIn(application.number, response.get_data(as_text=True))
            attachment, = Attachment.search([
                    ('resource', '=', str(application))])
            self.assertEqual(attachment.data, b'%PDF-1.4 insurance')
            self.assertEqual(Email.search([
                        ('resource', '=', str(application))], count=True), 1)
        # A second application for the same business ID is refused
        response = self.post_application(client, business_id=BUSINESS_IDS[3],
            email='toinen@example.com')
        self.assertEqual(response.status_code, 400)
        self.assertIn(BUSINESS_IDS[3], response.get_data(as_text=True))
        self.assertEqual(self.count('hb.provider.application', [
                    ('business_id', '=', BUSINESS_IDS[3])]), 1)

    def test_portal_requires_login(self):
        "The portal redirects to the login page without a session"
        response = self.client().get(self.url('provider'))
        self.assertEqual(response.status_code, 302)
        self.assertIn('/hb/provider/login', response.headers['Location'])

    def test_login_logout(self):
        "Login sets a safe session cookie; logout needs CSRF and ends it"
        client = self.client()
        response = self.login(client, 'palvelu@example.com', 'wrong')
        self.assertEqual(response.status_code, 401)
        response = self.login(client, 'palvelu@example.com', PASSWORD_A)
        self.assertEqual(response.status_code, 302)
        cookie = [c for c in response.headers.getlist('Set-Cookie')
            if c.startswith('hb_provider_session=')][0]
        self.assertIn('HttpOnly', cookie)
        self.assertIn('SameSite=Strict', cookie)
        self.assertIn('Max-Age=3600', cookie)
        response = client.get(self.url('provider'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Cache-Control'], 'no-store')
        html = response.get_data(as_text=True)
        self.assertIn('Siivouspalvelu Esimerkki Oy', html)
        token = csrf_token(response)
        response = client.post(self.url('provider/logout'))
        self.assertEqual(response.status_code, 403)
        response = client.post(
            self.url('provider/logout'), data={'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        response = client.get(self.url('provider'))
        self.assertEqual(response.status_code, 302)

    def test_login_csrf(self):
        "A login posted without the CSRF token is refused"
        client = self.client()
        response = client.post(self.url('provider/login'), data={
                'email': 'palvelu@example.com', 'password': PASSWORD_A})
        self.assertEqual(response.status_code, 403)

    def test_login_rate_limit(self):
        "Many wrong passwords lock the login out, even the right one"
        client = self.client()
        with patch('trytond.modules.web_user.user.time.sleep'):
            statuses = [self.login(
                    client, 'ateria@example.com', 'wrong-%d' % i).status_code
                for i in range(7)]
            self.assertEqual(statuses[0], 401)
            self.assertEqual(statuses[-1], 429)
            response = self.login(client, 'ateria@example.com', PASSWORD_B)
            self.assertEqual(response.status_code, 429)
            self.assertIn('role="alert"', response.get_data(as_text=True))
        with self.transaction() as transaction:
            Attempt = Pool().get('web.user.authenticate.attempt')
            Attempt.remove('ateria@example.com')
            transaction.commit()

    def test_session_expires(self):
        "A session idle longer than the portal timeout ends"
        client = self.client()
        self.login(client, 'palvelu@example.com', PASSWORD_A)
        self.assertEqual(client.get(self.url('provider')).status_code, 200)
        with self.transaction() as transaction:
            Session = Pool().get('web.user.session')
            table = Session.__table__()
            old = datetime.datetime.now() - datetime.timedelta(hours=2)
            cursor = transaction.connection.cursor()
            cursor.execute(*table.update(
                    [table.create_date, table.write_date],
                    [Literal(old), Literal(old)],
                    where=table.user == self.ids['user_a']))
            transaction.commit()
        self.assertEqual(client.get(self.url('provider')).status_code, 302)

    def test_isolation(self):
        "Provider A sees none of provider B's records through the portal"
        client = self.client()
        self.login(client, 'palvelu@example.com', PASSWORD_A)
        response = client.get(self.url('provider'))
        html = response.get_data(as_text=True)
        token = csrf_token(response)
        self.assertIn('Kotisiivous', html)
        for other in ['Ateria ja Apu Oy', 'Kotiateria', 'Asiointiapu',
                'ateria@example.com', IBANS[1]]:
            self.assertNotIn(other, html)
        for key in ['meal_b', 'escort_b']:
            path = 'provider/service/%d' % self.ids[key]
            self.assertEqual(client.get(self.url(path)).status_code, 404)
            response = client.post(self.url(path), data={
                    'price': '9,00', 'csrf_token': token})
            self.assertEqual(response.status_code, 404)
        self.assertEqual(self.count('hb.service.price.proposal', [
                    ('service', 'in', [
                            self.ids['meal_b'], self.ids['escort_b']]),
                    ]), 0)
        response = client.get(self.url(
                'provider/service/%d' % self.ids['service_a']))
        self.assertEqual(response.status_code, 200)

    def test_price_proposal(self):
        "A price proposal waits; above the cap or without CSRF refused"
        client = self.client()
        self.login(client, 'palvelu@example.com', PASSWORD_A)
        path = self.url('provider/service/%d' % self.ids['service_a'])
        token = csrf_token(client.get(path))
        response = client.post(path, data={'price': '38,00'})
        self.assertEqual(response.status_code, 403)
        response = client.post(path, data={
                'price': '61,00', 'csrf_token': token})
        self.assertEqual(response.status_code, 400)
        self.assertIn('61', response.get_data(as_text=True))
        self.assertEqual(self.count('hb.service.price.proposal'), 0)
        response = client.post(path, data={
                'price': '38,00', 'note': '<b>Indexed</b>',
                'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        html = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn('&lt;b&gt;Indexed&lt;/b&gt;', html)
        with self.transaction() as transaction:
            pool = Pool()
            Proposal = pool.get('hb.service.price.proposal')
            Template = pool.get('product.template')
            proposal, = Proposal.search([])
            self.assertEqual(proposal.state, 'proposed')
            self.assertEqual(proposal.web_user.id, self.ids['user_a'])
            with set_company(pool.get('company.company').search([])[0]):
                self.assertEqual(
                    Template(self.ids['service_a']).list_price,
                    Decimal('35.00'))
            Proposal.cancel([proposal])
            transaction.commit()

    def test_suspended_cannot_propose(self):
        "A suspended provider's proposals are refused"
        client = self.client()
        self.login(client, 'ateria@example.com', PASSWORD_B)
        path = self.url('provider/service/%d' % self.ids['meal_b'])
        token = csrf_token(client.get(path))
        self.set_contract_state('contract_b', suspend=True)
        try:
            response = client.post(path, data={
                    'price': '9,00', 'csrf_token': token})
            self.assertEqual(response.status_code, 400)
            response = client.post(self.url('provider/service/new'), data={
                    'name': 'Uusi', 'category': self.ids['meals'],
                    'price': '9,00', 'csrf_token': token})
            self.assertEqual(response.status_code, 400)
        finally:
            self.set_contract_state('contract_b', suspend=False)
        self.assertEqual(self.count('hb.service.price.proposal', [
                    ('service', '=', self.ids['meal_b'])]), 0)
        self.assertEqual(self.count('product.template', [
                    ('name', '=', 'Uusi')]), 0)

    def test_new_service(self):
        "A new service proposed through the portal waits for approval"
        client = self.client()
        self.login(client, 'ateria@example.com', PASSWORD_B)
        path = self.url('provider/service/new')
        token = csrf_token(client.get(path))
        response = client.post(path, data={
                'name': 'Juhla-ateria', 'category': self.ids['meals'],
                'price': '16,00', 'csrf_token': token})
        self.assertEqual(response.status_code, 400)
        response = client.post(path, data={
                'name': 'Juhla-ateria', 'category': self.ids['meals'],
                'price': '14,00', 'languages': ['fi'], 'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        with self.transaction():
            Template = Pool().get('product.template')
            template, = Template.search([('name', '=', 'Juhla-ateria')])
            self.assertEqual(template.hb_state, 'proposed')
            self.assertEqual(template.hb_provider.id, self.ids['party_b'])
        html = self.catalogue(client, 'kajaani', 'avain').get_data(
            as_text=True)
        self.assertNotIn('Juhla-ateria', html)

    def test_bank_change(self):
        "A bank account change is requested, not used before verification"
        client = self.client()
        self.login(client, 'palvelu@example.com', PASSWORD_A)
        token = csrf_token(client.get(self.url('provider')))
        response = client.post(self.url('provider/bank'), data={
                'iban': 'FI00 0000', 'bic': BIC, 'csrf_token': token})
        self.assertEqual(response.status_code, 400)
        self.assertIn('FI00 0000', response.get_data(as_text=True))
        self.assertEqual(self.count('hb.provider.bank.change'), 0)
        response = client.post(self.url('provider/bank'), data={
                'iban': IBANS[3], 'bic': BIC, 'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        with self.transaction() as transaction:
            pool = Pool()
            BankChange = pool.get('hb.provider.bank.change')
            Party = pool.get('party.party')
            change, = BankChange.search([])
            self.assertEqual(change.state, 'requested')
            party = Party(self.ids['party_a'])
            self.assertEqual(
                party.hb_bank_account.numbers[0].number, IBANS[0])
            change.refusal_reason = "Test"
            change.save()
            BankChange.refuse([change])
            transaction.commit()

    def test_add_user(self):
        "A provider gives a colleague a login to its own portal"
        client = self.client()
        self.login(client, 'palvelu@example.com', PASSWORD_A)
        token = csrf_token(client.get(self.url('provider')))
        path = self.url('provider/users')
        for email, status in [
                ('not an email', 400),
                ('ateria@example.com', 400),  # another provider's login
                ]:
            with no_email():
                response = client.post(path, data={
                        'email': email, 'csrf_token': token})
            self.assertEqual(response.status_code, status)
        self.assertEqual(client.post(path, data={
                    'email': 'kollega@example.com'}).status_code, 403)
        with no_email():
            response = client.post(path, data={
                    'email': 'Kollega@Example.com', 'csrf_token': token})
        self.assertEqual(response.status_code, 302)
        with self.transaction():
            pool = Pool()
            WebUser = pool.get('web.user')
            Email = pool.get('ir.email')
            user, = WebUser.search([('email', '=', 'kollega@example.com')])
            self.assertEqual(user.party.id, self.ids['party_a'])
            email, = Email.search([('resource', '=', str(user))])
            self.assertIn(user.reset_password_token, email.body)
        html = client.get(self.url('provider')).get_data(as_text=True)
        self.assertIn('kollega@example.com', html)

    def test_password_token(self):
        "The emailed link lets the new login choose its password"
        with self.transaction() as transaction:
            pool = Pool()
            WebUser = pool.get('web.user')
            Party = pool.get('party.party')
            party, = Party.create([{'name': 'Salasana Oy'}])
            user = WebUser(email='salasana@example.com', party=party)
            user.set_reset_password_token()
            user.save()
            token = user.reset_password_token
            transaction.commit()
        client = self.client()
        path = self.url('provider/password')
        response = client.get(path, query_string={
                'email': 'salasana@example.com', 'token': token})
        form = {'email': 'salasana@example.com', 'token': token,
            'csrf_token': csrf_token(response)}
        response = client.post(path, data={
                **form, 'password': 'short', 'password2': 'short'})
        self.assertEqual(response.status_code, 400)
        response = client.post(path, data={
                **form, 'password': 'Long-enough-1', 'password2': 'other'})
        self.assertEqual(response.status_code, 400)
        response = client.post(path, data={**form, 'token': 'forged',
                'password': 'Long-enough-1', 'password2': 'Long-enough-1'})
        self.assertEqual(response.status_code, 400)
        response = client.post(path, data={
                **form, 'password': 'Long-enough-1',
                'password2': 'Long-enough-1'})
        self.assertEqual(response.status_code, 200)
        response = self.login(client, 'salasana@example.com', 'Long-enough-1')
        self.assertEqual(response.status_code, 302)

    def test_stylesheet(self):
        response = self.client().get(self.url('static/hb.css'))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.mimetype, 'text/css')


SERVICES, FEW_SERVICES, PAGE = 200, 60, 50
SERVICE_ID = re.compile(r'<th scope="row" id="service-(\d+)"')
NEXT = re.compile(r'<a href="([^"]*)" rel="next"')
PREVIOUS = re.compile(r'<a href="([^"]*)" rel="prev"')


@contextmanager
def count_queries():
    "Yield the list of the SQL queries the block executes"
    if backend.name == 'postgresql':
        import psycopg
        cursor_class = psycopg.Cursor
    else:
        from trytond.backend.sqlite.database import (
            SQLiteCursor as cursor_class,
        )
    queries = []
    execute = cursor_class.execute

    def counting(self, query, *args, **kwargs):
        queries.append(query)
        return execute(self, query, *args, **kwargs)
    with patch.object(cursor_class, 'execute', counting):
        yield queries


class HbMarketplaceCataloguePagesTestCase(CachedLanguages, RouteTestCase):
    "Test the pages of a catalogue of many services"
    module = 'hb_marketplace'
    languages = ('fi',)

    @classmethod
    def setUpDatabase(cls):
        with set_company(create_wellbeing_area()):
            data = create_master_data()

            def services(numbers):
                # Pairs of services with the same name and price (the id
                # decides), both categories and many equal prices on each
                # page
                return [('Palvelu %03d' % (i - i % 2),
                        'cleaning' if i % 2 else 'meals',
                        Decimal('%d.00' % (8 + (i // 2) % 7)))
                    for i in numbers]
            # The first services are also for the elderly
            first = create_provider(
                data, customer_groups=('avain', 'elderly'),
                services=services(range(FEW_SERVICES)))
            second = create_provider(
                data, 1, name='Toinen Palvelu Oy', email='toinen@example.com',
                services=services(range(FEW_SERVICES, SERVICES)))
            templates = sorted(
                first.contract.services + second.contract.services,
                key=lambda t: t.id)
            key = {
                'price': lambda t: (t.list_price, t.name.lower(), t.id),
                'name': lambda t: (t.name.lower(), t.list_price, t.id),
                }
            cls.expected = {
                sort: [t.id for t in sorted(templates, key=key[sort])]
                for sort in key}
            cls.expected['few'] = [t.id for t in sorted(
                    templates[:FEW_SERVICES], key=key['price'])]
            cls.expected['cleaning'] = [t.id for t in sorted(
                    (t for t in templates
                        if t.hb_category == data['cleaning']),
                    key=key['price'])]
            cls.categories = {t.id: t.hb_category.id for t in templates}
        cls.ids = {k: v.id for k, v in data.items()}

    def url(self, path):
        return '/%s/hb/%s' % (self.db_name, path)

    def catalogue(self, client, group='avain', **params):
        query = {'municipality': self.ids['kajaani'],
            'group': self.ids[group], **params}
        return client.get(self.url('catalogue'), query_string=query)

    def assertPage(self, html, expected):
        """The page shows expected in the chosen order across the page
        (not within category groups)"""
        shown = [int(i) for i in SERVICE_ID.findall(html)]
        self.assertEqual(shown, expected)

    def follow(self, client, pattern, html):
        "Get the page of the link of pattern in html"
        href = html_module.unescape(pattern.search(html).group(1))
        return client.get(href)

    def test_pages(self):
        "50 services a page, the count, a pager keeping the filters"
        client = self.client()
        expected = self.expected['price']
        response = self.catalogue(client)
        self.assertEqual(response.status_code, 200)
        html = response.get_data(as_text=True)
        self.assertPage(html, expected[:PAGE])
        self.assertIn('Löytyi %d palvelua.' % SERVICES, html)
        self.assertIn('Näytetään palvelut 1–50.', html)
        self.assertIn(
            '<nav class="pager" aria-label="Löytyneiden palvelujen sivut">',
            html)
        self.assertIn('Sivu 1 / 4', html)
        self.assertIsNone(PREVIOUS.search(html))
        # What each service shows
        for text in ['>Toinen Palvelu Oy</td>', '8,00\u00a0€',
                'Ei vielä arvioita', 'Ateriapalvelu', 'Kotiapu / Siivous']:
            self.assertIn(text, html)
        for page in range(2, 5):
            with self.subTest(page=page):
                response = self.follow(client, NEXT, html)
                self.assertEqual(response.status_code, 200)
                html = response.get_data(as_text=True)
                self.assertPage(
                    html, expected[(page - 1) * PAGE:page * PAGE])
                self.assertIn('Sivu %d / 4' % page, html)
                self.assertIn('Löytyi %d palvelua.' % SERVICES, html)
        self.assertIn('Näytetään palvelut 151–200.', html)
        self.assertIsNone(NEXT.search(html))
        # Back to page 3 by the previous link
        html = self.follow(client, PREVIOUS, html).get_data(as_text=True)
        self.assertPage(html, expected[2 * PAGE:3 * PAGE])
        # The links to a service and the compare form keep the page
        link = re.search(r'id="service-\d+"><a href="([^"]*)"', html)
        self.assertIn('page=3', link.group(1))
        self.assertIn('<input type="hidden" name="page" value="3">', html)

    def test_pages_keep_filters(self):
        "The links of the pager keep the category, the sort, the language"
        client = self.client()
        response = self.catalogue(client, category=self.ids['cleaning'],
            lang='en')
        html = response.get_data(as_text=True)
        expected = self.expected['cleaning']
        self.assertEqual(len(expected), SERVICES // 2)
        self.assertPage(html, expected[:PAGE])
        self.assertIn('%d services found.' % len(expected), html)
        self.assertIn('Page 1 of 2', html)
        self.assertIn('aria-label="Pages of the services found"', html)
        href = html_module.unescape(NEXT.search(html).group(1))
        for param in ['municipality=%d' % self.ids['kajaani'],
                'group=%d' % self.ids['avain'],
                'category=%d' % self.ids['cleaning'], 'sort=price',
                'page=2', 'lang=en']:
            self.assertIn(param, href)
        html = self.follow(client, NEXT, html).get_data(as_text=True)
        self.assertPage(html, expected[PAGE:])
        self.assertIn('Page 2 of 2', html)
        self.assertIsNone(NEXT.search(html))
        self.assertIn('Previous page', html)

        # By name over the pages
        expected = self.expected['name']
        for page in [1, 3]:
            html = self.catalogue(client, sort='name', page=page
                ).get_data(as_text=True)
            self.assertPage(html, expected[(page - 1) * PAGE:page * PAGE])
            self.assertIn('sort=name', NEXT.search(html).group(1))

        # Fewer services for another group: 60 on two pages
        html = self.catalogue(client, group='elderly', page=2
            ).get_data(as_text=True)
        self.assertPage(html, self.expected['few'][PAGE:])
        self.assertIn('Löytyi %d palvelua.' % FEW_SERVICES, html)
        self.assertIn('Näytetään palvelut 51–60.', html)

    def test_bad_page(self):
        "A page number that is not one is refused, beyond the last is last"
        client = self.client()
        for value in ['abc', '0', '00', '-1', '', '1.5', '²', '2e3']:
            with self.subTest(page=value):
                response = self.catalogue(client, page=value)
                self.assertEqual(response.status_code, 400)
                html = response.get_data(as_text=True)
                self.assertIn('role="alert"', html)
                self.assertIn('Sivunumero ei kelpaa', html)
        response = self.catalogue(client, page='x', lang='en')
        self.assertEqual(response.status_code, 400)
        self.assertIn('The page number is not valid',
            response.get_data(as_text=True))
        for value in ['5', '99', '0004', '9' * 30]:
            with self.subTest(page=value):
                response = self.catalogue(client, page=value)
                self.assertEqual(response.status_code, 200)
                html = response.get_data(as_text=True)
                self.assertIn('Sivu 4 / 4', html)
                self.assertPage(html, self.expected['price'][3 * PAGE:])
        # Without a search, one page of nothing
        response = client.get(self.url('catalogue'),
            query_string={'page': '2'})
        self.assertEqual(response.status_code, 200)
        self.assertNotIn('class="pager"', response.get_data(as_text=True))

    def test_queries_do_not_grow(self):
        "A page costs the same queries with 60 or 200 services"
        client = self.client()
        pages = [('elderly', 1), ('avain', 1), ('avain', 3)]
        for group, page in pages:  # fill the caches (messages...)
            self.catalogue(client, group=group, page=page)
        counts = {}
        for group, page in pages:
            with count_queries() as queries:
                response = self.catalogue(client, group=group, page=page)
            self.assertEqual(response.status_code, 200)
            counts[group, page] = len(queries)
        self.assertEqual(len(set(counts.values())), 1, counts)
        self.assertLess(counts['avain', 1], PAGE, counts)


del RouteTestCase
