# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The SEPA payment of the vendor bills (issue 15): a provider's negative
balance does not stop the run and is netted against its next bills or
listed for collection; succeeded payments settle the bills; the portal
shows a bill's real payment state; the pain.001 keeps to the SEPA
character set."""
import re
from decimal import Decimal

from lxml import etree
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.portal_pages import bill_payment

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    load_finnish,
    provider_product,
    setup_hb,
)

MOBILE = '+358401234567'
# The SEPA (EPC) basic Latin character set
SEPA_TEXT = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]*")


def run_tasks():
    "Run the tasks queued by the transaction (as the end of a request does)"
    pool = Pool()
    Queue = pool.get('ir.queue')
    transaction = Transaction()
    while transaction.tasks:
        Queue(transaction.tasks.pop()).run()


class PaymentTestCase(_DBTestCase):
    "Test the SEPA payment of the vendor bills"
    module = 'hb_voucher'

    def setup(self, *names):
        """Settings posting the bills, one provider per name (each with a
        cleaning service at 35.00) and a client with a budget; return the
        providers' parties"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        data = setup_hb()
        config = Configuration(1)
        config.hb_invoice_post = True
        config.save()
        self.applications = [
            create_provider_with_service(data, index=i, name=name)
            for i, name in enumerate(names)]
        client = create_client(data, MOBILE)
        create_budget(data, client, Decimal('1000.00'))
        self.keys = 0
        return [a.party for a in self.applications]

    def charge(self, party, quantity=1):
        "A confirmed charge of quantity hours of party's service"
        pool = Pool()
        Charge = pool.get('hb.charge')
        application, = [a for a in self.applications if a.party == party]
        self.keys += 1
        charge, _ = Charge.request(party, MOBILE, [
                (provider_product(application).id, quantity)],
            'k%d' % self.keys)
        return Charge.confirm(charge, last_code(MOBILE))

    def bill(self):
        pool = Pool()
        Date = pool.get('ir.date')
        Billing = pool.get('hb.billing')
        return {b.party: b for b in Billing.bill_providers(
                end_date=Date.today())}

    def pain001(self, group):
        message, = group.sepa_messages
        return etree.fromstring(bytes(message.message))

    def payments(self, group):
        return {p.party: p.amount for p in group.payments}

    @with_transaction()
    def test_negative_bill_does_not_stop_the_run(self):
        """A provider owing money back is skipped and reported, the others
        are paid; its later bill is paid net of what it owes"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Invoice = pool.get('account.invoice')
        with set_company(create_wellbeing_area()):
            a, b = self.setup("Palvelu A Oy", "Palvelu B Oy")
            first = self.charge(a)
            self.bill()
            group = Pool().get('hb.payment.run').pay_vendor_bills()
            self.assertEqual(self.payments(group), {a: Decimal('35.00')})

            # A refund after billing, no new charge of A: a bill of -10.00
            Charge.make_refund(first, Decimal('10.00'), "Shorter visit")
            self.charge(b)
            bills = self.bill()
            self.assertEqual(bills[a].total_amount, Decimal('-10.00'))
            self.assertEqual(bills[b].total_amount, Decimal('35.00'))

            group = Pool().get('hb.payment.run').pay_vendor_bills()
            self.assertEqual(self.payments(group), {b: Decimal('35.00')})
            Run = pool.get('hb.payment.run')
            run, = Run.search([], order=[('id', 'DESC')], limit=1)
            self.assertEqual(run.group, group)
            self.assertEqual(run.payment_count, 1)
            self.assertEqual(run.amount_paid, Decimal('35.00'))
            skip, = run.skipped
            self.assertEqual(skip.party, a)
            self.assertEqual(skip.reason, 'owed')
            self.assertEqual(skip.amount, Decimal('-10.00'))
            # listed for collection
            self.assertEqual(
                [(line.party, line.debit - line.credit)
                    for line in Run.owed_back()],
                [(a, Decimal('10.00'))])

            # A's next bill is paid net of the 10.00 it owes
            self.charge(a, 2)
            bills = self.bill()
            self.assertEqual(bills[a].total_amount, Decimal('70.00'))
            group = Pool().get('hb.payment.run').pay_vendor_bills()
            self.assertEqual(self.payments(group), {a: Decimal('60.00')})
            xml = self.pain001(group)
            ns = {'p': xml.nsmap[None]}
            self.assertEqual(xml.xpath(
                    '//p:InstdAmt/text()', namespaces=ns), ['60.00'])
            self.assertEqual(Run.owed_back(), [])
            run, = Run.search([], order=[('id', 'DESC')], limit=1)
            self.assertEqual(run.skipped, ())

            # nothing is paid twice
            self.assertIsNone(Pool().get('hb.payment.run').pay_vendor_bills())
            # the bank confirms: every bill of A is paid
            pool.get('account.payment.group').succeed(
                pool.get('account.payment.group').search([]))
            run_tasks()
            self.assertEqual(
                {i.state for i in Invoice.search([('party', '=', a.id)])},
                {'paid'})

    @with_transaction()
    def test_provider_without_iban_skipped(self):
        "A provider without a verified account is skipped with its reason"
        pool = Pool()
        Party = pool.get('party.party')
        Run = pool.get('hb.payment.run')
        with set_company(create_wellbeing_area()):
            a, b = self.setup("Palvelu A Oy", "Palvelu B Oy")
            self.charge(a)
            self.charge(b)
            self.bill()
            Party.write([a], {'hb_bank_account': None})
            group = Pool().get('hb.payment.run').pay_vendor_bills()
            self.assertEqual(self.payments(group), {b: Decimal('35.00')})
            run, = Run.search([])
            skip, = run.skipped
            self.assertEqual((skip.party, skip.reason, skip.amount),
                (a, 'no_account', Decimal('35.00')))

    @with_transaction()
    def test_succeeded_payments_settle_bills(self):
        """The bank confirms the payments: the bills are paid, and the
        reconciliation shows them paid; the portal shows each state"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Payment = pool.get('account.payment')
        with set_company(create_wellbeing_area()):
            a, b = self.setup("Palvelu A Oy", "Palvelu B Oy")
            self.charge(a, 2)
            self.charge(b)
            bills = self.bill()
            self.assertEqual(bill_payment(bills[a]), 'unpaid')
            group = Pool().get('hb.payment.run').pay_vendor_bills()
            # in a file, not yet at the bank: not paid
            for bill in bills.values():
                self.assertEqual(bill_payment(Invoice(bill.id)),
                    'processing')
            payment_a, = [p for p in group.payments if p.party == a]
            payment_b, = [p for p in group.payments if p.party == b]
            Payment.succeed([payment_a])
            Payment.fail([payment_b])
            run_tasks()
            bill_a, bill_b = Invoice(bills[a].id), Invoice(bills[b].id)
            self.assertEqual(bill_a.state, 'paid')
            self.assertEqual(bill_payment(bill_a), 'paid')
            self.assertEqual(bill_b.state, 'posted')
            self.assertEqual(bill_payment(bill_b), 'failed')
            result = Pool().get('hb.charge.reconciliation').reconcile()
            self.assertEqual(result['billed'], Decimal('105.00'))
            self.assertEqual(result['paid'], Decimal('70.00'))
            self.assertTrue(all(result['checks'].values()),
                result['mismatches'])

            # the failed one is paid by the next run
            group = Pool().get('hb.payment.run').pay_vendor_bills()
            self.assertEqual(self.payments(group), {b: Decimal('35.00')})
            pool.get('account.payment.group').succeed([group])
            run_tasks()
            self.assertEqual(Invoice(bills[b].id).state, 'paid')
            Reconciliation = pool.get('hb.charge.reconciliation')
            self.assertEqual(
                Reconciliation.reconcile()['paid'], Decimal('105.00'))

    @with_transaction()
    def test_pain001_sepa_characters(self):
        "Every text of the pain.001 is in the SEPA character set"
        pool = Pool()
        Party = pool.get('party.party')
        with set_company(create_wellbeing_area()):
            load_finnish()
            a, = self.setup("Palvelu A Oy")
            Party.write([a], {'name': "Åkerlund & Söderström Oy — Kotipalvelu"})
            address = a.address_get()
            address.street_unstructured = "Äijälänkatu 5 “B”"
            address.city = "Jyväskylä"
            address.save()
            self.charge(a)
            bill, = self.bill().values()
            self.assertIn('–', bill.reference)
            group = Pool().get('hb.payment.run').pay_vendor_bills()
            xml = self.pain001(group)
            texts = [(e.tag, e.text) for e in xml.iter()
                if e.text and e.text.strip()]
            self.assertTrue(texts)
            for tag, text in texts:
                self.assertRegex(text, SEPA_TEXT)
                self.assertTrue(SEPA_TEXT.fullmatch(text), (tag, text))
            ns = {'p': xml.nsmap[None]}
            self.assertIn('Akerlund + Soderstrom Oy - Kotipalvelu',
                xml.xpath('//p:Cdtr/p:Nm/text()', namespaces=ns))
            ustrd, = xml.xpath('//p:Ustrd/text()', namespaces=ns)
            self.assertIn('Henkilokohtaisen budjetin veloitukset', ustrd)
            self.assertIn('Jyvaskyla',
                xml.xpath('//p:TwnNm/text()', namespaces=ns))


del _DBTestCase
