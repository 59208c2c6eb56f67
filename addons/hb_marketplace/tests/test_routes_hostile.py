# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Hostile input through the public pages and the provider portal
(issue 15): a re-application by an existing provider's business ID,
oversized text and disguised uploads."""
import io
import re

from trytond.exceptions import UserError, UserWarning
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase
from trytond.transaction import Transaction

from . import test_routes
from .tools import (
    BIC,
    BUSINESS_IDS,
    CHECKLIST,
    IBANS,
    CachedLanguages,
    no_email,
)

_Base = test_routes.HbMarketplaceRouteTestCase
csrf_token = test_routes.csrf_token
PASSWORD_A = test_routes.PASSWORD_A
PASSWORD_B = test_routes.PASSWORD_B
TOO_LONG = 'liian pitkä'  # the Finnish refusal of an oversized text
TEXT_INPUT = re.compile(
    r'<(?:input type="(?:text|email|tel)"|textarea\b)[^>]*>')


class HbMarketplaceHostileTestCase(CachedLanguages, RouteTestCase):
    "Attacks on the public pages and the portal are refused or held"
    module = 'hb_marketplace'
    languages = ('fi',)  # the pages are in Finnish by default

    # The world of the route tests: providers A and B with their logins
    setUpDatabase = _Base.__dict__['setUpDatabase']
    url = _Base.url
    login = _Base.login
    transaction = _Base.transaction
    count = _Base.count
    assertSecure = _Base.assertSecure
    application_form = _Base.application_form
    post_application = _Base.post_application

    def provider_state(self, key):
        "Return what a takeover would change of the provider key"
        with self.transaction():
            pool = Pool()
            Party = pool.get('party.party')
            WebUser = pool.get('web.user')
            BankChange = pool.get('hb.provider.bank.change')
            party = Party(self.ids[key])
            return {
                'bank_account': party.hb_bank_account.id,
                'iban': party.hb_bank_account.numbers[0].number,
                'description': party.hb_provider_description,
                'name': party.name,
                'users': sorted(u.email for u in WebUser.search([
                            ('party', '=', party.id)])),
                'open_bank_changes': BankChange.search([
                        ('party', '=', party.id),
                        ('state', '=', 'requested'),
                        ], count=True),
                }

    def application(self, email):
        Application = Pool().get('hb.provider.application')
        application, = Application.search([('email', '=', email)])
        return application

    def approve(self, email, skip_warnings=True):
        "Approve the application of email as the back office would"
        with self.transaction() as transaction, no_email():
            pool = Pool()
            Application = pool.get('hb.provider.application')
            Company = pool.get('company.company')
            application = self.application(email)
            Application.write([application], CHECKLIST)
            # As the administrator: warnings are for real users only
            with set_company(Company.search([])[0]), \
                    Transaction().set_user(1), \
                    Transaction().set_context(_skip_warnings=skip_warnings):
                Application.approve([application])
            transaction.commit()

    def reject(self, email):
        with self.transaction() as transaction, no_email():
            Application = Pool().get('hb.provider.application')
            application = self.application(email)
            application.rejection_reason = "Test"
            application.save()
            Application.reject([application])
            transaction.commit()

    def decide(self, client, application_id, decision):
        token = csrf_token(client.get(self.url('provider')))
        with no_email():
            return client.post(
                self.url('provider/application/%d' % application_id),
                data={'decision': decision, 'csrf_token': token})

    def test_reapplication_takeover_held(self):
        "A re-application with A's business ID changes nothing of A unheard"
        before = self.provider_state('party_a')
        attacker = 'kaappaaja@example.com'
        client = self.client()
        response = self.post_application(client, business_id=BUSINESS_IDS[0],
            name='Kaappaus Oy', email=attacker, iban=IBANS[3],
            description='Kaapattu esittely')
        self.assertEqual(response.status_code, 200, response.get_data())
        # The back office approves, clicking through any warning: refused
        # as long as A has not confirmed the application in its portal
        with self.assertRaises(UserError) as cm:
            self.approve(attacker)
        self.assertIn('portal', cm.exception.message)
        self.assertEqual(self.provider_state('party_a'), before)
        self.assertEqual(self.count('web.user', [
                    ('email', '=', attacker)]), 0)
        with self.transaction():
            pool = Pool()
            Email = pool.get('ir.email')
            application = self.application(attacker)
            application_id = application.id
            self.assertEqual(application.state, 'submitted')
            self.assertEqual(application.existing_party.id,
                self.ids['party_a'])
            self.assertEqual(application.provider_confirmation, 'pending')
            self.assertIsNone(application.party)
            # A's portal login is told of the application
            self.assertEqual(Email.search([
                        ('resource', '=', str(application)),
                        ('recipients', '=', 'palvelu@example.com'),
                        ], count=True), 1)

        # B neither sees nor decides A's application
        client_b = self.client()
        self.login(client_b, 'ateria@example.com', PASSWORD_B)
        self.assertNotIn(attacker, client_b.get(self.url('provider')
                ).get_data(as_text=True))
        response = self.decide(client_b, application_id, 'confirm')
        self.assertEqual(response.status_code, 404)

        # A sees it with what it would change and declines it
        client_a = self.client()
        self.login(client_a, 'palvelu@example.com', PASSWORD_A)
        html = client_a.get(self.url('provider')).get_data(as_text=True)
        for text in [attacker, IBANS[3], 'Kaappaus Oy']:
            self.assertIn(text, html)
        response = self.decide(client_a, application_id, 'decline')
        self.assertEqual(response.status_code, 302)
        with self.transaction():
            application = self.application(attacker)
            self.assertEqual(application.provider_confirmation, 'declined')
        with self.assertRaises(UserError) as cm:
            self.approve(attacker)
        self.assertIn('declined', cm.exception.message)
        self.assertEqual(self.provider_state('party_a'), before)
        self.assertEqual(self.count('web.user', [
                    ('email', '=', attacker)]), 0)
        self.reject(attacker)

    def test_reapplication_confirmed_by_provider(self):
        "A's own re-application, confirmed by A and approved, extends A"
        before = self.provider_state('party_a')
        email = 'laajennus@example.com'
        client = self.client()
        response = self.post_application(client, business_id=BUSINESS_IDS[0],
            name='Siivouspalvelu Esimerkki Oy', email=email, iban=IBANS[3],
            description='Uusi esittely', service_name_1='Ikkunanpesu')
        self.assertEqual(response.status_code, 200, response.get_data())
        self.assertIn('portaali', response.get_data(as_text=True))
        with self.transaction():
            application_id = self.application(email).id

        client_a = self.client()
        self.login(client_a, 'palvelu@example.com', PASSWORD_A)
        response = self.decide(client_a, application_id, 'confirm')
        self.assertEqual(response.status_code, 302)

        # The back office is warned that the provider exists
        with self.assertRaises(UserWarning):
            self.approve(email, skip_warnings=False)
        self.approve(email)
        with self.transaction() as transaction:
            pool = Pool()
            Party = pool.get('party.party')
            Identifier = pool.get('party.identifier')
            WebUser = pool.get('web.user')
            BankChange = pool.get('hb.provider.bank.change')
            application = self.application(email)
            party = Party(self.ids['party_a'])
            self.assertEqual(application.state, 'approved')
            self.assertEqual(application.party, party)
            self.assertEqual(application.provider_decided_by.id, self.ids['user_a'])
            self.assertEqual(Identifier.search([
                        ('code', '=', BUSINESS_IDS[0])], count=True), 1)
            # The bank account is not replaced: a change waits for its
            # verification
            self.assertEqual(party.hb_bank_account.id, before['bank_account'])
            change, = BankChange.search([
                    ('party', '=', party.id), ('state', '=', 'requested')])
            self.assertEqual(change.iban, IBANS[3])
            self.assertEqual(change.web_user.id, self.ids['user_a'])
            # The login and the presentation A confirmed
            user, = WebUser.search([('email', '=', email)])
            self.assertEqual(user.party, party)
            self.assertEqual(party.hb_provider_description, 'Uusi esittely')
            self.assertIn('Ikkunanpesu',
                [s.name for s in application.contract.services])
            change.refusal_reason = "Test"
            change.save()
            BankChange.refuse([change])
            transaction.commit()

    def test_reapplication_no_portal_login(self):
        "A party known by its business ID but without a login is held too"
        with self.transaction() as transaction:
            pool = Pool()
            Party = pool.get('party.party')
            party, = Party.create([{
                        'name': 'Vanha Toimittaja Oy',
                        'identifiers': [('create', [{
                                        'type': 'fi_ytunnus',
                                        'code': BUSINESS_IDS[3]}])],
                        }])
            party_id = party.id
            transaction.commit()
        email = 'vanha@example.com'
        response = self.post_application(self.client(),
            business_id=BUSINESS_IDS[3], email=email, iban=IBANS[3])
        self.assertEqual(response.status_code, 200, response.get_data())
        with self.assertRaises(UserError) as cm:
            self.approve(email)
        self.assertIn('portal', cm.exception.message)
        with self.transaction():
            pool = Pool()
            Party = pool.get('party.party')
            self.assertIsNone(Party(party_id).hb_bank_account)
            self.assertEqual(self.application(email).existing_party.id,
                party_id)
        self.assertEqual(self.count('web.user', [('email', '=', email)]), 0)
        self.reject(email)

    def assertRefusedTooLong(self, response):
        self.assertEqual(response.status_code, 400)
        self.assertSecure(response)
        html = response.get_data(as_text=True)
        self.assertIn('role="alert"', html)
        self.assertIn(TOO_LONG, html)

    def test_oversized_application(self):
        "An application with an oversized text is refused, nothing stored"
        client = self.client()
        before = self.count('hb.provider.application')
        for values in [
                {'name': 'N' * 10000},
                {'service_name_1': 'S' * 10000},
                {'description': 'D' * 1500000},
                {'service_description_1': 'K' * 100000},
                {'contact_name': 'C' * 10000},
                {'email': 'e' * 10010 + '@example.com'},
                ]:
            with self.subTest(field=list(values)[0]):
                response = self.post_application(
                    client, business_id=BUSINESS_IDS[2], **values)
                self.assertRefusedTooLong(response)
        self.assertEqual(self.count('hb.provider.application'), before)

    def test_oversized_portal_forms(self):
        "The portal's forms refuse oversized text, storing and sending none"
        client = self.client()
        self.login(client, 'palvelu@example.com', PASSWORD_A)
        path = self.url('provider/service/%d' % self.ids['service_a'])
        token = csrf_token(client.get(path))
        response = client.post(path, data={
                'price': '38,00', 'note': 'n' * 100000, 'csrf_token': token})
        self.assertRefusedTooLong(response)
        self.assertEqual(self.count('hb.service.price.proposal'), 0)

        response = client.post(self.url('provider/service/new'), data={
                'name': 'Pitkä kuvaus', 'category': self.ids['cleaning'],
                'price': '30,00', 'description': 'd' * 100000,
                'csrf_token': token})
        self.assertRefusedTooLong(response)
        response = client.post(self.url('provider/service/new'), data={
                'name': 'P' * 10000, 'category': self.ids['cleaning'],
                'price': '30,00', 'csrf_token': token})
        self.assertRefusedTooLong(response)
        self.assertEqual(self.count('product.template', [
                    ('hb_provider', '=', self.ids['party_a'])]), 1)

        emails = self.count('ir.email')
        with no_email() as send:
            response = client.post(self.url('provider/users'), data={
                    'email': 'u' * 10010 + '@example.com',
                    'csrf_token': token})
        self.assertRefusedTooLong(response)
        self.assertEqual(send.call_count, 0)
        self.assertEqual(self.count('ir.email'), emails)
        self.assertEqual(self.count('web.user', [
                    ('email', 'like', 'uuuu%')]), 0)

        response = client.post(self.url('provider/bank'), data={
                'iban': 'FI' + '1' * 10000, 'bic': BIC, 'csrf_token': token})
        self.assertRefusedTooLong(response)
        self.assertEqual(self.count('hb.provider.bank.change'), 0)

    def test_forms_have_maxlength(self):
        "Every text box of the forms tells the browser its limit"
        client = self.client()
        pages = [client.get(self.url('provider/apply'))]
        self.login(client, 'palvelu@example.com', PASSWORD_A)
        pages += [client.get(self.url(path)) for path in [
                'provider', 'provider/service/new',
                'provider/service/%d' % self.ids['service_a']]]
        for response in pages:
            self.assertEqual(response.status_code, 200)
            boxes = TEXT_INPUT.findall(response.get_data(as_text=True))
            self.assertTrue(boxes)
            for box in boxes:
                self.assertRegex(box, r'maxlength="\d+"')

    def test_disguised_upload(self):
        "An upload whose content is not of its declared type is refused"
        client = self.client()
        before = self.count('hb.provider.application')
        attachments = self.count('ir.attachment')
        png = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR'
        for filename, data, mimetype in [
                ('virus.exe', b'MZ\x90\x00\x03\x00\x00\x00', 'application/pdf'),
                ('virus.pdf', b'MZ\x90\x00\x03\x00\x00\x00', 'application/pdf'),
                ('kuva.pdf', png, 'application/pdf'),
                ('kuva.png', b'%PDF-1.4 ...', 'image/png'),
                ('teksti.txt', b'MZ\x90\x00\x03\x00\x00\x00', 'text/plain'),
                ('asiakirja.docx', b'MZ\x90\x00', 'application/vnd.'
                    'openxmlformats-officedocument.wordprocessingml.document'),
                ]:
            with self.subTest(filename=filename, mimetype=mimetype):
                response = self.post_application(
                    client, business_id=BUSINESS_IDS[2],
                    liability_insurance=(io.BytesIO(data), filename, mimetype))
                self.assertEqual(response.status_code, 400)
                html = response.get_data(as_text=True)
                self.assertIn('role="alert"', html)
                self.assertIn(filename, html)
                self.assertIn('sisältö ei vastaa', html)  # in Finnish
        self.assertEqual(self.count('hb.provider.application'), before)
        self.assertEqual(self.count('ir.attachment'), attachments)
        # What its content says it is is accepted
        response = self.post_application(client, business_id=BUSINESS_IDS[2],
            email='kuvat@example.com',
            liability_insurance=(io.BytesIO(png), 'kuva.png', 'image/png'),
            prepayment_register=(
                io.BytesIO(b'Ennakkoperintarekisteriote\n'), 'ote.txt',
                'text/plain'))
        self.assertEqual(response.status_code, 200, response.get_data())
        self.assertEqual(self.count('ir.attachment'), attachments + 2)
        self.reject('kuvat@example.com')


# Not a test case of this module (its tests run from test_routes)
del _Base
