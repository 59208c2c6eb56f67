# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Self-billing (issue 18, item 2): with an agreement version in the
settings, the charges of a provider who has not accepted it are held (and
listed with the reason); each bill is marked "Itselaskutus" with the
provider as seller; an objection within the settings' days holds the
bill's payment until finance clears it."""
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase, _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_marketplace.tests.tools import no_email, set_password

from .finance_tools import accept_self_billing, require_self_billing
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


class SelfBillingTestCase(_DBTestCase):
    "Test the self-billing agreement, marking and objections"
    module = 'hb_voucher'

    def setup(self):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        data = setup_hb()
        config = Configuration(1)
        config.hb_invoice_post = True
        config.save()
        self.applications = [
            create_provider_with_service(data, index=i, name=name)
            for i, name in enumerate(["Palvelu A Oy", "Palvelu B Oy"])]
        client = create_client(data, MOBILE)
        create_budget(data, client, Decimal('1000.00'))
        self.keys = 0
        require_self_billing('2026-1')
        return self.applications

    def charge(self, application, quantity=1):
        pool = Pool()
        Charge = pool.get('hb.charge')
        self.keys += 1
        charge, _ = Charge.request(application.party, MOBILE, [
                (provider_product(application).id, quantity)],
            's%d' % self.keys)
        return Charge.confirm(charge, last_code(MOBILE))

    def bill(self):
        pool = Pool()
        Date = pool.get('ir.date')
        Billing = pool.get('hb.billing')
        return {b.party: b for b in Billing.bill_providers(
                end_date=Date.today())}

    @with_transaction()
    def test_agreement_required(self):
        """Without the accepted agreement a provider's charges are held
        and listed; once accepted they are billed, marked as self-billing
        with the provider as seller"""
        pool = Pool()
        Hold = pool.get('hb.billing.hold')
        Contract = pool.get('hb.provider.contract')
        with set_company(create_wellbeing_area()):
            a, b = self.setup()
            accepted, = accept_self_billing(a)
            self.assertEqual(accepted.hb_self_billing_version, '2026-1')
            self.assertEqual(accepted.hb_self_billing_user, a.web_user)
            self.assertTrue(accepted.hb_self_billing_date)
            self.charge(a)
            charge_b = self.charge(b, 2)
            bills = self.bill()
            self.assertEqual(set(bills), {a.party})
            hold, = Hold.search([])
            self.assertEqual((hold.provider, hold.charges, hold.reason),
                (b.party, 1, 'no_agreement'))
            self.assertIsNone(charge_b.invoice_line)
            bill = bills[a.party]
            self.assertTrue(bill.hb_self_billing)
            self.assertEqual(bill.type, 'in')
            self.assertEqual(bill.party, a.party)
            self.assertTrue(bill.description.startswith('Self-billing: '))
            self.assertIn(a.party.rec_name, bill.comment)
            self.assertIn('2026-1', bill.comment)

            # A new version needs a new acceptance
            self.assertTrue(Contract.self_billing_accepted(a.party))
            require_self_billing('2027-1')
            self.assertFalse(Contract.self_billing_accepted(a.party))
            require_self_billing('2026-1')

            accept_self_billing(b)
            bills = self.bill()
            self.assertEqual(set(bills), {b.party})
            self.assertEqual(bills[b.party].total_amount, Decimal('70.00'))

    @with_transaction()
    def test_objection_holds_payment(self):
        """An objection within the time holds the bill's payment (the run
        lists it); after finance clears it the next run pays the bill;
        no objection after the deadline nor a second open one"""
        pool = Pool()
        Objection = pool.get('hb.bill.objection')
        PaymentRun = pool.get('hb.payment.run')
        Configuration = pool.get('hb.configuration')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            a, b = self.setup()
            for application in [a, b]:
                accept_self_billing(application)
                self.charge(application)
            bills = self.bill()
            bill = bills[a.party]
            self.assertEqual(bill.state, 'posted')
            self.assertEqual(bill.hb_objection_deadline,
                bill.invoice_date + dt.timedelta(days=14))
            with self.assertRaises(UserError):
                Objection.object(bill, a.web_user, '   ')
            objection = Objection.object(
                bill, a.web_user, "Yksi käynti on laskutettu kahdesti.")
            self.assertTrue(bill.hb_payment_held)
            with self.assertRaises(UserError):
                Objection.object(bill, a.web_user, "Toinen huomautus")

            group = PaymentRun.pay_vendor_bills()
            self.assertEqual({p.party for p in group.payments}, {b.party})
            run, = PaymentRun.search([])
            skip, = run.skipped
            self.assertEqual((skip.party, skip.reason, skip.amount),
                (a.party, 'objection', Decimal('35.00')))

            Objection.clear([objection])
            self.assertEqual(objection.state, 'cleared')
            self.assertFalse(bill.hb_payment_held)
            group = PaymentRun.pay_vendor_bills()
            self.assertEqual({p.party: p.amount for p in group.payments},
                {a.party: Decimal('35.00')})

            # the objection time is the settings'
            config = Configuration(1)
            config.hb_self_billing_objection_days = 3
            config.save()
            bill = bills[b.party]
            self.assertTrue(bill.hb_may_object(
                    bill.invoice_date + dt.timedelta(days=3)))
            self.assertFalse(bill.hb_may_object(
                    bill.invoice_date + dt.timedelta(days=4)))
            self.assertTrue(bill.hb_may_object(Date.today()))


    @with_transaction()
    def test_objection_after_the_run(self):
        """An objection that comes after the run made the payment group
        stops the release of its file; withdrawing the objected bills
        cancels the group's payments and file and pays the other bills in a
        new group under four eyes; after the file is released an objection
        is still taken, marked as made after the payment, and the group's
        payments can no longer be withdrawn"""
        pool = Pool()
        Objection = pool.get('hb.bill.objection')
        PaymentRun = pool.get('hb.payment.run')
        Group = pool.get('account.payment.group')
        Message = pool.get('account.payment.sepa.message')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        company = create_wellbeing_area()
        with set_company(company):
            a, b = self.setup()
            maker, checker = User.create([{
                        'name': login, 'login': login,
                        'groups': [('add', [ModelData.get_id(
                                        'hb_voucher', 'group_hb_finance')])],
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        } for login in ['maker', 'checker']])
            for application in [a, b]:
                accept_self_billing(application)
                self.charge(application)
            bills = self.bill()
            with Transaction().set_user(maker.id):
                group = PaymentRun.pay_vendor_bills()
            group = Group(group.id)
            self.assertEqual(len(group.payments), 2)
            objection = Objection.object(
                bills[a.party], a.web_user, "Käynti puuttuu kalenterista.")
            self.assertFalse(objection.payment_sent)
            with Transaction().set_user(checker.id):
                Group.hb_approve([group])
            message, = Group(group.id).sepa_messages
            with self.assertRaises(UserError) as cm:
                Message.do([message])
            self.assertIn(bills[a.party].number, str(cm.exception))
            self.assertEqual(Message(message.id).state, 'waiting')
            self.assertIsNone(Group(group.id).hb_sent_by)

            # as in the client: the finance user's access checked
            with Transaction().set_user(maker.id), \
                    Transaction().set_context(_check_access=True):
                Group.hb_withdraw_objected([Group(group.id)])
                new, = Group.search([('id', '>', group.id)])
            group = Group(group.id)
            self.assertEqual({p.state for p in group.payments}, {'failed'})
            self.assertEqual(Message(message.id).state, 'cancelled')
            new = Group(new.id)
            self.assertNotEqual(new, group)
            self.assertEqual({p.party: p.amount for p in new.payments},
                {b.party: Decimal('35.00')})
            self.assertTrue(new.hb_four_eyes)
            self.assertIsNone(new.hb_approved_by)
            # the objected bill waits for finance
            self.assertEqual(PaymentRun.search([], order=[('id', 'DESC')],
                    limit=1)[0].skipped[0].reason, 'objection')

            with Transaction().set_user(checker.id):
                Group.hb_approve([new])
            message, = Group(new.id).sepa_messages
            with Transaction().set_user(checker.id), no_email():
                Message.do([message])
            self.assertEqual(Message(message.id).state, 'done')
            bill_b = bills[b.party]
            self.assertTrue(bill_b.hb_payment_sent())
            self.assertTrue(bill_b.hb_may_object())
            late = Objection.object(bill_b, b.web_user, "Väärä hinta.")
            self.assertTrue(late.payment_sent)
            with self.assertRaises(UserError):
                Group.hb_withdraw_objected([Group(new.id)])
            self.assertEqual(
                {p.state for p in Group(new.id).payments}, {'processing'})

            # cleared, the objected bill is paid by the next run
            Objection.clear([objection])
            group = PaymentRun.pay_vendor_bills()
            self.assertEqual({p.party: p.amount for p in group.payments},
                {a.party: Decimal('35.00')})


    @with_transaction()
    def test_minimum_payout_carried_forward(self):
        """A provider owed less than the minimum is skipped (below the
        minimum) and paid by a later run once its bills reach it"""
        pool = Pool()
        PaymentRun = pool.get('hb.payment.run')
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            a, b = self.setup()
            config = Configuration(1)
            config.hb_minimum_payout = Decimal('50.00')
            config.save()
            for application in [a, b]:
                accept_self_billing(application)
            self.charge(a)
            self.charge(b, 2)
            self.bill()
            group = PaymentRun.pay_vendor_bills()
            self.assertEqual({p.party: p.amount for p in group.payments},
                {b.party: Decimal('70.00')})
            run, = PaymentRun.search([])
            skip, = run.skipped
            self.assertEqual((skip.party, skip.reason, skip.amount),
                (a.party, 'below_minimum', Decimal('35.00')))
            self.charge(a)
            self.bill()
            group = PaymentRun.pay_vendor_bills()
            self.assertEqual(sum(p.amount for p in group.payments),
                Decimal('70.00'))
            self.assertEqual({p.party for p in group.payments}, {a.party})


class SelfBillingPortalTestCase(RouteTestCase):
    "Test the provider's self-billing pages"
    module = 'hb_voucher'
    password = 'Provider-SB-secret-1'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            config = Configuration(1)
            config.hb_invoice_post = True
            config.save()
            require_self_billing('2026-1')
            application = create_provider_with_service(data)
            set_password(application.web_user, cls.password)
            client = create_client(data, MOBILE)
            create_budget(data, client, Decimal('500.00'))
            Charge = pool.get('hb.charge')
            charge, _ = Charge.request(application.party, MOBILE, [
                    (provider_product(application).id, 2)], 'portal-sb')
            Charge.confirm(charge, last_code(MOBILE))
            cls.party = application.party.id

    def url(self, path):
        return '/%s/hb/%s' % (DB_NAME, path)

    def in_transaction(self, func):
        def run():
            pool = Pool()
            Company = pool.get('company.company')
            company, = Company.search([], limit=1)
            with Transaction().set_context(company=company.id):
                return func(pool)
        return run_in_transaction(run, user=0)

    def bill(self, pool):
        Date = pool.get('ir.date')
        Billing = pool.get('hb.billing')
        return [b.id for b in Billing.bill_providers(end_date=Date.today())]

    def test_accept_bill_and_object(self):
        """The provider accepts the agreement (POST with the CSRF token),
        sees its self-billed bill, downloads it and objects to it"""
        client = self.client()
        page = client.get(self.url('provider/login'))
        response = client.post(self.url('provider/login'), data={
                'email': 'palvelu0@example.com', 'password': self.password,
                'csrf_token': csrf_token(page)})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.in_transaction(self.bill), [])

        page = client.get(self.url('provider/self-billing'),
            query_string={'lang': 'en'})
        self.assertEqual(page.status_code, 200)
        html = page.get_data(as_text=True)
        self.assertIn('version 2026-1', html)
        self.assertIn('not accepted', html)
        response = client.post(self.url('provider/self-billing'),
            data={'lang': 'en'})
        self.assertEqual(response.status_code, 403)
        response = client.post(self.url('provider/self-billing'),
            data={'lang': 'en', 'csrf_token': csrf_token(page)})
        self.assertEqual(response.status_code, 302)
        html = client.get(self.url('provider/self-billing'),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('accepted', html)
        self.assertNotIn('not accepted', html)

        bill_id, = self.in_transaction(self.bill)
        html = client.get(self.url('provider/bills'),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('Self-billing', html)
        page = client.get(self.url('provider/bills/%d' % bill_id),
            query_string={'lang': 'en'})
        self.assertEqual(page.status_code, 200)
        html = page.get_data(as_text=True)
        self.assertIn('Self-billing', html)
        self.assertIn('Object to the bill', html)
        document = client.get(
            self.url('provider/bills/%d/document' % bill_id))
        self.assertEqual(document.status_code, 200)
        self.assertTrue(document.get_data())
        self.assertIn('attachment', document.headers['Content-Disposition'])

        response = client.post(
            self.url('provider/bills/%d/object' % bill_id),
            data={'lang': 'en', 'csrf_token': csrf_token(page), 'text': ''})
        self.assertEqual(response.status_code, 400)
        response = client.post(
            self.url('provider/bills/%d/object' % bill_id),
            data={'lang': 'en', 'csrf_token': csrf_token(page),
                'text': 'Kaksi tuntia, ei kolmea.'})
        self.assertEqual(response.status_code, 302)
        html = client.get(self.url('provider/bills/%d' % bill_id),
            query_string={'lang': 'en', 'done': 'objected'}).get_data(
            as_text=True)
        # the payment had not gone: it is held
        self.assertIn("the bill's payment is held", html.replace('&#39;', "'"))
        self.assertNotIn('already been sent', html)

        def held(pool):
            Invoice = pool.get('account.invoice')
            return Invoice(bill_id).hb_payment_held
        self.assertTrue(self.in_transaction(held))
        html = client.get(self.url('provider/bills/%d' % bill_id),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('Kaksi tuntia, ei kolmea.', html)
        self.assertNotIn('Object to the bill', html)
        # another provider's bill (or none) is not found
        self.assertEqual(client.get(
                self.url('provider/bills/%d' % (bill_id + 1000))).status_code,
            404)

