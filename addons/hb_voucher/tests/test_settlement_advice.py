# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The remittance advice (maksuerittely, issue 18 item 4): sent by e-mail
in the provider's language when the payment file is released, and shown
on the provider portal, to that provider only."""
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import module_po_path
from trytond.modules.hb_marketplace.tests.tools import no_email, set_password

from .test_portal import csrf_token
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

MOBILE = '+358401234567'
PASSWORD = 'Provider-Advice-secret-1'


class AdvicePortalTestCase(RouteTestCase):
    "Test the remittance advice by e-mail and on the portal"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        """Two providers (A in Swedish) paid by a run whose file is
        released; the e-mails sent kept"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Charge = pool.get('hb.charge')
        Billing = pool.get('hb.billing')
        Run = pool.get('hb.payment.run')
        Group = pool.get('account.payment.group')
        Message = pool.get('account.payment.sepa.message')
        Lang = pool.get('ir.lang')
        Date = pool.get('ir.date')
        Translation = pool.get('ir.translation')
        for code in ['fi', 'sv']:
            lang, = Lang.search([('code', '=', code)])
            lang.translatable = True
            lang.save()
            Translation.translation_import(
                code, 'hb_voucher', module_po_path('hb_voucher', code))
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            config = Configuration(1)
            config.hb_invoice_post = True
            config.save()
            a = create_provider_with_service(data, index=0)
            b = create_provider_with_service(data, index=1)
            sv, = Lang.search([('code', '=', 'sv')])
            a.party.lang = sv
            a.party.save()
            for application in [a, b]:
                set_password(application.web_user, PASSWORD)
            client = create_client(data, MOBILE)
            create_budget(data, client, Decimal('500.00'))
            for i, (application, quantity) in enumerate(
                    [(a, 1), (a, 2), (b, 1)]):
                charge, _ = Charge.request(application.party, MOBILE, [
                        (provider_product(application).id, quantity)],
                    'advice-%d' % i)
                Charge.confirm(charge, last_code(MOBILE))
            bills = {i.party: i for i in Billing.bill_providers(
                    end_date=Date.today())}
            # made by the scheduled task, approved by admin
            with Transaction().set_user(0):
                group = Run.pay_vendor_bills()
            Group.hb_approve([group])
            message, = group.sepa_messages
            with no_email():
                Message.do([message])
            payments = {p.party: p for p in group.payments}
            cls.payment_a = payments[a.party].id
            cls.payment_b = payments[b.party].id
            cls.bill_a = bills[a.party].number
            cls.reference_a = payments[a.party].reference

    def url(self, path):
        return '/%s/hb/%s' % (DB_NAME, path)

    def in_transaction(self, func):
        return run_in_transaction(lambda: func(Pool()), user=0)

    def login(self, email):
        client = self.client()
        page = client.get(self.url('provider/login'))
        response = client.post(self.url('provider/login'), data={
                'email': email, 'password': PASSWORD,
                'csrf_token': csrf_token(page)})
        self.assertEqual(response.status_code, 302)
        return client

    def test_email(self):
        """Each provider gets the advice of its payment by e-mail in its
        language: bills, charges, amounts, the total of the transfer"""
        def emails(pool):
            Email = pool.get('ir.email')
            return {e.recipients: (e.subject, e.body) for e in Email.search(
                    [('resource', 'like', 'account.payment,%')])}
        emails = self.in_transaction(emails)
        subject, body = emails['palvelu0@example.com']
        self.assertIn('Betalningsspecifikation', subject)
        self.assertIn('105.00 EUR', subject)
        self.assertIn('Faktura %s' % self.bill_a, body)
        self.assertIn('Debitering', body)
        self.assertIn(': 35.00 EUR', body)
        self.assertIn(': 70.00 EUR', body)
        self.assertIn('Betalt totalt: 105.00 EUR', body)
        self.assertIn(self.reference_a, body)
        subject, body = emails['palvelu1@example.com']
        self.assertIn('Maksuerittely', subject)
        self.assertIn('Maksettu yhteensä: 35.00 EUR', body)
        self.assertNotIn('Lasku %s (' % self.bill_a, body)
        self.assertIn('Veloitus', body)

    def test_portal(self):
        """The provider sees its payments and their advice; another
        provider's payment is not found"""
        client = self.login('palvelu0@example.com')
        html = client.get(self.url('provider/payments'),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('provider/payments/%d' % self.payment_a, html)
        self.assertNotIn('provider/payments/%d' % self.payment_b, html)
        page = client.get(self.url('provider/payments/%d' % self.payment_a),
            query_string={'lang': 'en'})
        self.assertEqual(page.status_code, 200)
        html = page.get_data(as_text=True)
        self.assertIn(' %s · ' % self.bill_a, html)
        self.assertIn(self.reference_a, html)
        self.assertEqual(html.count('<th scope="row">Charge '), 2)
        self.assertIn('105.00', html)
        self.assertIn('70.00', html)
        self.assertEqual(client.get(
                self.url('provider/payments/%d' % self.payment_b)
                ).status_code, 404)
        other = self.login('palvelu1@example.com')
        self.assertEqual(other.get(
                self.url('provider/payments/%d' % self.payment_b)
                ).status_code, 200)
        self.assertEqual(other.get(
                self.url('provider/payments/%d' % self.payment_a)
                ).status_code, 404)
