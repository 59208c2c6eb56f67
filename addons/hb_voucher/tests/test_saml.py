# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Strong identification with Suomi.fi e-Identification (issue 17): the
client page's SAML service provider against a local identity provider
(saml_idp.py), and the attacks it must refuse."""
import base64
import json
import os
import re
import shutil
import tempfile
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlparse

from defusedxml import ElementTree
from trytond.config import config
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from . import saml_idp
from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    run_in_transaction,
    setup_hb,
    temporary_hetu,
)

BASE = 'https://hb.test.invalid'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
MD = '{urn:oasis:names:tc:SAML:2.0:metadata}'


class SamlTestCase(RouteTestCase):
    "Strong identification of the client page"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        cls.folder = tempfile.mkdtemp(prefix='hb-saml-')
        cls.idp, options = saml_idp.prepare(cls.folder)
        cls.mandates_file = os.path.join(cls.folder, 'mandates.json')
        if not config.has_section('hb_saml'):
            config.add_section('hb_saml')
        options.update(base_url=BASE, mandates_file=cls.mandates_file)
        for name, value in options.items():
            config.set('hb_saml', name, value)
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def tearDownClass(cls):
        config.remove_section('hb_saml')
        shutil.rmtree(cls.folder, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        Group = pool.get('hb.customer.group')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            client = create_client(data, '+358403333341', individual=941,
                name="Liisa Asiakas")
            child = create_client(data, '+358403333342', individual=942,
                name="Lapsi Asiakas", groups=('elderly',))
            create_budget(data, client, Decimal('500.00'))
            create_budget(data, child, Decimal('300.00'))
            guardian, viewer = Party.create([{
                        'name': "Huoltaja Henkilö",
                        'hb_hetu': temporary_hetu(individual=943),
                        }, {
                        'name': "Entinen Edustaja",
                        'hb_hetu': temporary_hetu(individual=944),
                        }])
            Representative.create([{
                        'client': child.id, 'party': guardian.id,
                        'role': 'guardian',
                        'may_view_balance': True,
                        'may_confirm_charges': True,
                        }, {
                        'client': child.id, 'party': viewer.id,
                        'role': 'relative',
                        'may_view_balance': False,
                        'may_confirm_charges': False,
                        }, {
                        'client': client.id, 'party': child.id,
                        'role': 'relative',
                        'may_view_balance': True,
                        'may_confirm_charges': False,
                        }])
            Group.write([data['elderly']], {'hb_sms_login': False})
            # a provider's staff member
            application = create_provider_with_service(data)
            staff, = Party.create([{
                        'name': "Työntekijä Tuottaja",
                        'hb_hetu': temporary_hetu(individual=945),
                        }])
            WebUser = pool.get('web.user')
            web_user = WebUser(application.web_user.id)
            web_user.hb_person = staff
            web_user.save()
            cls.staff_hetu = staff.hb_hetu
            cls.business_id = application.business_id
            cls.provider_email = web_user.email
            cls.client_hetu = client.hb_hetu
            cls.child_hetu = child.hb_hetu
            cls.guardian_hetu = guardian.hb_hetu
            cls.viewer_hetu = viewer.hb_hetu
            cls.client_id = client.id
            cls.child_id = child.id

    def setUp(self):
        super().setUp()
        self.set_mandates({})
        config.set('hb_saml', 'loa', 'substantial')
        config.set('hb_saml', 'accept_temporary_hetu', 'True')
        metadata = self.client().get(self.url('saml/metadata'))
        self.assertEqual(metadata.status_code, 200)
        self.idp.trust(metadata.get_data(as_text=True))

    def set_mandates(self, persons, companies=None):
        with open(self.mandates_file, 'w') as file:
            json.dump({'persons': persons, 'companies': companies or {}},
                file)

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

    def start(self, browser, purpose='client'):
        "Start the strong login in browser; return the IdP's request"
        response = browser.get(self.url('%s/saml/login?lang=en' % purpose))
        self.assertEqual(response.status_code, 303)
        location = response.headers['Location']
        self.assertTrue(location.startswith(self.idp.base_url + '/sso?'))
        query = parse_qs(urlparse(location).query)
        self.assertIn('Signature', query)  # the request is signed
        message, relay = self.idp.parse_request(location)
        self.assertEqual(relay, 'en')
        return message

    def post(self, browser, saml_response):
        return browser.post(self.url('saml/acs'), data={
                'SAMLResponse': saml_response, 'RelayState': 'en'})

    def identify(self, browser, hetu, purpose='client', **kw):
        "Log in browser as the person of hetu; return the last response"
        message = self.start(browser, purpose)
        response = self.post(browser, self.idp.respond(message, hetu, **kw))
        if response.status_code != 303:
            return response
        location = response.headers['Location']
        self.assertIn('/hb/%s/saml/finish?' % purpose, location)
        return browser.get(location)

    def assertRefused(self, response):
        self.assertEqual(response.status_code, 403)
        text = response.get_data(as_text=True)
        self.assertIn("identification did not succeed", text)
        self.assertIn('Content-Security-Policy', response.headers)

    def logins(self):
        def read(pool):
            Login = pool.get('hb.client.login')
            return [(x.method, x.client.id, x.representative is not None,
                    x.state, x.loa) for x in Login.search([
                        ('method', '=', 'suomifi')])]
        return self.run_pool(read)

    def page(self, browser):
        response = browser.get(self.url('client?lang=en'))
        return response

    def test_metadata(self):
        "The service provider's metadata: entity, endpoints, keys"
        response = self.client().get(self.url('saml/metadata'))
        self.assertEqual(response.status_code, 200)
        self.assertIn('samlmetadata+xml', response.headers['Content-Type'])
        root = ElementTree.fromstring(response.get_data())
        self.assertEqual(root.get('entityID'),
            '%s/%s/hb/saml/metadata' % (BASE, DB_NAME))
        sp, = root.findall(MD + 'SPSSODescriptor')
        self.assertEqual(sp.get('AuthnRequestsSigned'), 'true')
        self.assertEqual(sp.get('WantAssertionsSigned'), 'true')
        acs, = sp.findall(MD + 'AssertionConsumerService')
        self.assertEqual(acs.get('Location'),
            '%s/%s/hb/saml/acs' % (BASE, DB_NAME))
        self.assertEqual(sorted(k.get('use')
                for k in sp.findall(MD + 'KeyDescriptor')),
            ['encryption', 'signing'])
        self.assertTrue(sp.findall(MD + 'SingleLogoutService'))

    def test_login_as_client(self):
        "A client identified strongly lands on their own page"
        browser = self.client()
        response = self.identify(browser, self.client_hetu,
            name_id='client-1')
        self.assertEqual(response.status_code, 200)
        self.assertIn('http-equiv="refresh"', response.get_data(as_text=True))
        text = self.page(browser).get_data(as_text=True)
        self.assertIn("Liisa Asiakas", text)
        self.assertIn('€500.00', text)
        self.assertNotIn(self.client_hetu, text)
        self.assertIn(('suomifi', self.client_id, False, 'active',
                saml_idp.LOA3), self.logins())
        # the identity is forgotten once the login is made
        self.assertFalse(self.run_pool(lambda pool: pool.get(
                    'hb.saml.request').search([('hetu', '!=', None)])))

    def test_login_page_offers_strong_identification(self):
        "The login page shows 'Identify yourself' next to the SMS login"
        # (the Finnish and Swedish texts: test_translation_coverage)
        for language, label in [('en', "Identify yourself")]:
            response = self.client().get(
                self.url('client/login?lang=%s' % language))
            text = response.get_data(as_text=True)
            self.assertIn(label, text)
            self.assertIn('client/saml/login', text)

    def test_unknown_person(self):
        "A person who is nobody here learns only that no budget is linked"
        browser = self.client()
        response = self.identify(browser, temporary_hetu(individual=999))
        self.assertEqual(response.status_code, 403)
        self.assertIn("No personal budget is linked",
            response.get_data(as_text=True))
        self.assertEqual(self.page(browser).status_code, 302)

    def test_wrong_signature(self):
        "An assertion signed by another key than the metadata's is refused"
        browser = self.client()
        message = self.start(browser)
        impostor = saml_idp.LocalIdP(self.folder, key_name='impostor')
        impostor.trust(self.idp.sp_metadata)
        response = self.post(browser,
            impostor.respond(message, self.client_hetu))
        self.assertRefused(response)
        self.assertEqual(self.page(browser).status_code, 302)

    def test_unsigned_or_unencrypted(self):
        "An unsigned or an unencrypted assertion is refused"
        for kw in [{'sign': False}, {'encrypt': False}]:
            browser = self.client()
            message = self.start(browser)
            response = self.post(browser,
                self.idp.respond(message, self.client_hetu, **kw))
            self.assertRefused(response)

    def test_replayed_assertion(self):
        "A response used once is refused the second time, in any browser"
        browser = self.client()
        message = self.start(browser)
        saml_response = self.idp.respond(message, self.client_hetu)
        self.assertEqual(self.post(browser, saml_response).status_code, 303)
        self.assertRefused(self.post(browser, saml_response))
        self.assertRefused(self.post(self.client(), saml_response))

    def test_unsolicited(self):
        "A response to a request we never sent is refused"
        browser = self.client()
        message = self.start(browser)
        response = self.post(browser, self.idp.respond(message,
                self.client_hetu, in_response_to='id-never-sent'))
        self.assertRefused(response)

    def test_expired_assertion(self):
        "An assertion past its time is refused"
        browser = self.client()
        message = self.start(browser)
        response = self.post(browser, self.idp.respond(message,
                self.client_hetu, lifetime=-10))
        self.assertRefused(response)

    def test_wrong_audience(self):
        "An assertion for another service is refused"
        browser = self.client()
        message = self.start(browser)
        response = self.post(browser, self.idp.respond(message,
                self.client_hetu, audience='https://other.invalid/sp'))
        self.assertRefused(response)

    def test_level_of_assurance(self):
        "Below the configured level of assurance is refused"
        config.set('hb_saml', 'loa', 'high')
        browser = self.client()
        message = self.start(browser)
        response = self.post(browser, self.idp.respond(message,
                self.client_hetu, loa=saml_idp.LOA2))
        self.assertRefused(response)
        config.set('hb_saml', 'loa', 'substantial')
        response = self.identify(self.client(), self.client_hetu,
            loa=saml_idp.LOA2)
        self.assertEqual(response.status_code, 200)

    def test_other_browser(self):
        "The identity is used only in the browser that asked for it"
        browser = self.client()
        message = self.start(browser)
        response = self.post(browser,
            self.idp.respond(message, self.client_hetu))
        location = response.headers['Location']
        stranger = self.client()
        self.assertRefused(stranger.get(location))
        self.assertEqual(self.page(stranger).status_code, 302)
        # the right browser still finishes the login
        self.assertEqual(browser.get(location).status_code, 200)
        # and only once
        self.assertRefused(browser.get(location))

    def test_temporary_hetu_in_production(self):
        "Without the test switch a temporary HETU never matches"
        config.set('hb_saml', 'accept_temporary_hetu', 'False')
        response = self.identify(self.client(), self.client_hetu)
        self.assertEqual(response.status_code, 403)
        self.assertIn("No personal budget is linked",
            response.get_data(as_text=True))

    def test_guardian_acts_for_child(self):
        "A guardian with a mandate and an HB right acts for the child"
        self.set_mandates({self.guardian_hetu: [self.child_hetu]})
        browser = self.client()
        response = self.identify(browser, self.guardian_hetu,
            name='Huoltaja Henkilö', name_id='guardian-1')
        self.assertEqual(response.status_code, 200)
        text = self.page(browser).get_data(as_text=True)
        self.assertIn("Lapsi Asiakas", text)
        self.assertIn("Huoltaja Henkilö", text)
        self.assertIn(('suomifi', self.child_id, True, 'active',
                saml_idp.LOA3), self.logins())

    def test_choose_whom_to_act_for(self):
        "A client who may also act for another chooses on a page"
        self.set_mandates({self.child_hetu: [self.client_hetu]})
        browser = self.client()
        response = self.identify(browser, self.child_hetu,
            name='Lapsi Asiakas')
        self.assertEqual(response.status_code, 200)
        text = response.get_data(as_text=True)
        self.assertIn("Whose budget?", text)
        self.assertIn("Lapsi Asiakas (your own budget)", text)
        self.assertIn("Liisa Asiakas", text)
        ticket = re.search(r'name="ticket" value="([^"]*)"', text).group(1)
        token = CSRF.search(text).group(1)
        # a choice out of range is refused
        response = browser.post(self.url('client/saml/finish'), data={
                'ticket': ticket, 'choice': '3', 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 400)
        response = browser.post(self.url('client/saml/finish'), data={
                'ticket': ticket, 'choice': '2', 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 200)
        text = self.page(browser).get_data(as_text=True)
        self.assertIn("Liisa Asiakas", text)
        self.assertIn('€500.00', text)

    def test_lost_right(self):
        "Without the mandate, or without an HB right, no acting for another"
        # the HB record is there, the mandate is gone
        self.set_mandates({})
        response = self.identify(self.client(), self.guardian_hetu)
        self.assertIn("No personal budget is linked",
            response.get_data(as_text=True))
        # the mandate is there, the HB record allows nothing
        self.set_mandates({self.viewer_hetu: [self.child_hetu]})
        response = self.identify(self.client(), self.viewer_hetu)
        self.assertIn("No personal budget is linked",
            response.get_data(as_text=True))

    def test_logout(self):
        "Logout ends the session here and at the identity provider"
        browser = self.client()
        self.identify(browser, self.client_hetu, name_id='logout-1')
        text = self.page(browser).get_data(as_text=True)
        token = CSRF.search(text).group(1)
        response = browser.post(self.url('client/logout'), data={
                'csrf_token': token, 'lang': 'en'})
        self.assertEqual(response.status_code, 303)
        location = response.headers['Location']
        self.assertTrue(location.startswith(self.idp.base_url + '/slo?'))
        request = self.idp.parse_logout_request(location)
        self.assertEqual(request.message.name_id.text, 'logout-1')
        self.assertEqual(self.page(browser).status_code, 302)

    def test_single_logout_from_idp(self):
        "The identity provider's signed LogoutRequest ends the session"
        browser = self.client()
        self.identify(browser, self.client_hetu, name_id='logout-2')
        self.assertEqual(self.page(browser).status_code, 200)
        # the session index is the identity provider's (random)
        index, = self.run_pool(lambda pool: [x.saml_session_index
                for x in pool.get('hb.client.login').search([
                        ('saml_name_id', '=', 'logout-2')])])
        self.assertTrue(index)
        slo = '%s/%s/hb/saml/slo' % (BASE, DB_NAME)
        # unsigned: refused, the session goes on
        location = self.idp.logout_request(slo, 'logout-2', index,
            sign=False)
        path = location[len(BASE):]
        self.assertEqual(self.client().get(path).status_code, 403)
        self.assertEqual(self.page(browser).status_code, 200)
        # a signature that does not match: refused
        location = self.idp.logout_request(slo, 'logout-2', index)
        query = parse_qs(urlparse(location).query)
        forged = location.replace(urlencode({'Signature':
                    query['Signature'][0]}), urlencode({'Signature':
                    base64.b64encode(b'x' * 256).decode()}))
        self.assertNotEqual(forged, location)
        self.assertEqual(self.client().get(forged[len(BASE):]).status_code,
            403)
        self.assertEqual(self.page(browser).status_code, 200)
        response = self.client().get(location[len(BASE):])
        self.assertEqual(response.status_code, 303)
        self.assertIn('SAMLResponse=', response.headers['Location'])
        self.assertEqual(self.page(browser).status_code, 302)

    def test_sms_login_switched_off_per_group(self):
        "A group's clients may be kept to strong identification"
        browser = self.client()
        response = browser.get(self.url('client/login?lang=en'))
        token = CSRF.search(response.get_data(as_text=True)).group(1)
        response = browser.post(self.url('client/login'), data={
                'mobile': '+358403333342', 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 200)
        self.assertIsNone(self.run_pool(
                lambda pool: last_code('+358403333342')))
        # the client of a group that allows it gets a code
        response = browser.post(self.url('client/login'), data={
                'mobile': '+358403333341', 'csrf_token': token,
                'lang': 'en'})
        self.assertTrue(self.run_pool(
                lambda pool: last_code('+358403333341')))


    def test_provider_staff_with_company_mandate(self):
        "Provider staff log in with Suomi.fi and a company mandate"
        browser = self.client()
        # no company mandate: nothing
        response = self.identify(browser, self.staff_hetu, 'provider')
        self.assertEqual(response.status_code, 403)
        self.assertIn("No personal budget is linked",
            response.get_data(as_text=True))
        self.assertEqual(browser.get(self.url('provider')).status_code, 302)
        # a mandate for another company: nothing
        self.set_mandates({}, {self.staff_hetu: ['0000000-0']})
        response = self.identify(browser, self.staff_hetu, 'provider')
        self.assertEqual(response.status_code, 403)
        # a mandate for the provider's business ID: the portal
        self.set_mandates({}, {self.staff_hetu: [self.business_id]})
        response = self.identify(browser, self.staff_hetu, 'provider')
        self.assertEqual(response.status_code, 200)
        self.assertIn('/hb/provider', response.get_data(as_text=True))
        self.assertEqual(browser.get(self.url('provider')).status_code, 200)
        # the identity of a client page login does not open the portal
        other = self.client()
        message = self.start(other)
        response = self.post(other,
            self.idp.respond(message, self.staff_hetu))
        location = response.headers['Location']
        self.assertIn('/client/saml/finish', location)
        self.assertRefused(other.get(location.replace(
                    '/client/saml/finish', '/provider/saml/finish')))
        self.assertEqual(other.get(self.url('provider')).status_code, 302)

    def test_provider_password_login_switch(self):
        "The settings can switch the portal's password login off"
        def switch(value):
            def write(pool):
                Configuration = pool.get('hb.configuration')
                Configuration.write([Configuration(1)],
                    {'hb_portal_password_login': value})
            self.run_pool(write)
        browser = self.client()
        text = browser.get(self.url('provider/login?lang=en')).get_data(
            as_text=True)
        self.assertIn('provider/saml/login', text)
        self.assertIn('name="password"', text)
        switch(False)
        try:
            text = browser.get(self.url('provider/login?lang=en')).get_data(
                as_text=True)
            self.assertNotIn('name="password"', text)
            token = CSRF.search(browser.get(self.url(
                        'client/login?lang=en')).get_data(
                    as_text=True)).group(1)
            response = browser.post(self.url('provider/login'), data={
                    'email': self.provider_email, 'password': 'x' * 12,
                    'csrf_token': token, 'lang': 'en'})
            self.assertEqual(response.status_code, 403)
        finally:
            switch(True)


del RouteTestCase
