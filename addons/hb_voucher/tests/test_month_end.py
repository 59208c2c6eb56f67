# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The clearing account "HB charges to be billed" against the general
ledger (issue 18, item 7): a posted bill clears exactly what its charges
put into the clearing account, VAT included (the refundable VAT is booked
to the tax account and taken off the HB service expense), and the
month-end report of captured-but-unbilled charges ties to the clearing
account's balance at a date to the cent."""
import datetime as dt
from decimal import Decimal

from trytond.modules.account.tests import get_fiscalyear
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction

from .finance_tools import setup_vat, supervise
from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    setup_hb,
)

MOBILE = '+358401234567'
PRICES = [Decimal('37.00'), Decimal('19.99'), Decimal('0.10')]


def balance(account, date=None):
    "The balance (debit - credit) of account's posted moves up to date"
    pool = Pool()
    Account = pool.get('account.account')
    context = {'posted': True}
    if date:
        context['date'] = date
    with Transaction().set_context(**context):
        return Account(account.id).balance


class MonthEndTestCase(_DBTestCase):
    "Test the clearing account against the charges"
    module = 'hb_voucher'

    def setup(self):
        """An exempt (supervised) and a taxable provider of cleaning at
        PRICES, a client with a budget; return data, the taxes and the
        two providers' applications"""
        data = setup_hb()
        taxes = setup_vat(data)
        exempt = create_provider_with_service(data, index=0,
            name="Sosiaalipalvelu Oy", services=[
                ('Kotisiivous %s' % p, 'cleaning', p) for p in PRICES])
        taxable = create_provider_with_service(data, index=1,
            name="Siivousliike Oy", services=[
                ('Kotisiivous %s' % p, 'cleaning', p) for p in PRICES])
        supervise(exempt.party)
        client = create_client(data, MOBILE)
        create_budget(data, client, Decimal('5000.00'))
        self.keys = 0
        return data, taxes, exempt, taxable

    def charge(self, application, items):
        "A confirmed charge of (product index, quantity) items"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Product = pool.get('product.product')
        products = Product.search([
                ('template.hb_provider', '=', application.party.id)],
            order=[('id', 'ASC')])
        self.keys += 1
        charge, _ = Charge.request(application.party, MOBILE, [
                (products[i].id, q) for i, q in items], 'm%d' % self.keys)
        return Charge.confirm(charge, last_code(MOBILE))

    def month(self, exempt, taxable):
        "The month's charges of both providers, with a refund"
        pool = Pool()
        Charge = pool.get('hb.charge')
        charges = [
            self.charge(exempt, [(0, 2), (1, '2.5')]),
            self.charge(taxable, [(0, 3), (1, '2.5'), (2, 7)]),
            self.charge(taxable, [(1, 1)]),
            ]
        charges.append(Charge.make_refund(
                charges[1], Decimal('37.00'), "Yksi tunti jäi tekemättä"))
        return Charge.browse(charges)

    @with_transaction()
    def test_taxed_bill_clears_the_clearing_account(self):
        """A month with an exempt and a taxable provider, captured,
        billed and posted: the clearing account's balance is zero to the
        cent, the tax account holds the bills' VAT, the payables are the
        charges' totals and the HB expense is the charges less the VAT"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Charge = pool.get('hb.charge')
        Date = pool.get('ir.date')
        Reconciliation = pool.get('hb.charge.reconciliation')
        Invoice = pool.get('account.invoice')
        with set_company(create_wellbeing_area()):
            data, taxes, exempt, taxable = self.setup()
            charges = self.month(exempt, taxable)
            total = sum(c.amount for c in charges)
            while Charge.post_sales():
                pass
            self.assertEqual(balance(data['clearing']), -total)
            self.assertEqual(balance(data['expense']), total)
            bills = Billing.bill_providers(end_date=Date.today(), post=True)
            self.assertEqual({b.state for b in bills}, {'posted'})
            vat = sum(b.tax_amount for b in bills)
            self.assertGreater(vat, 0)
            for bill in bills:
                self.assertEqual(bill.total_amount, sum(c.amount
                        for c in charges if c.provider == bill.party))
                payable = sum(ml.credit - ml.debit for ml in bill.move.lines
                    if ml.account == bill.account)
                self.assertEqual(payable, bill.total_amount)
            tax_account = taxes['general'].invoice_account
            self.assertEqual(balance(data['clearing']), Decimal('0.00'))
            self.assertEqual(balance(tax_account), vat)
            self.assertEqual(balance(data['expense']), total - vat)
            payables = {b.account for b in bills}
            self.assertEqual(
                -sum(balance(a) for a in payables), total)
            result = Reconciliation.reconcile()
            self.assertEqual(result['checks'], {
                    'clearing': True, 'spent': True, 'analytic': True},
                result['mismatches'])

            # A credit note of the taxed bill puts its charges back into
            # the clearing account, VAT included, and takes back its VAT
            taxed, = [b for b in bills if b.party == taxable.party]
            credit, = Invoice.credit([taxed])
            credit.invoice_date = Date.today()
            credit.save()
            Invoice.post([credit])
            self.assertEqual(credit.total_amount, -taxed.total_amount)
            self.assertEqual(balance(data['clearing']), -taxed.total_amount)
            self.assertEqual(
                balance(tax_account), vat - taxed.tax_amount)
            self.assertEqual(balance(data['expense']),
                total - vat + taxed.tax_amount)

    def assertTies(self, report, data, lines):
        "report ties to the clearing account with lines {provider: sum}"
        self.assertEqual(
            {r['provider']: r['amount'] for r in report['lines']}, lines)
        total = sum(lines.values(), Decimal('0.00'))
        self.assertEqual(report['total'], total)
        self.assertEqual(report['clearing_balance'], total)
        self.assertEqual(
            -balance(data['clearing'], report['date']), total)
        self.assertEqual(report['difference'], Decimal('0.00'))
        self.assertTrue(report['tied'])

    @with_transaction()
    def test_unbilled_report_ties(self):
        """The month-end report lists per provider the posted charges not
        on a posted bill and ties to the clearing account: before
        billing (all), after billing (none) and with charges captured
        after the bills (those); a charge whose sale is not yet posted
        is in neither"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Charge = pool.get('hb.charge')
        Date = pool.get('ir.date')
        Unbilled = pool.get('hb.charge.unbilled')
        with set_company(create_wellbeing_area()):
            data, _, exempt, taxable = self.setup()
            today = Date.today()
            charges = self.month(exempt, taxable)
            self.assertTies(Unbilled.unbilled(today), data, {})
            while Charge.post_sales():
                pass

            def sums(charges):
                result = {}
                for charge in charges:
                    result[charge.provider.id] = result.get(
                        charge.provider.id, Decimal(0)) + charge.amount
                return result
            self.assertTies(Unbilled.unbilled(today), data, sums(charges))
            Billing.bill_providers(end_date=today, post=True)
            self.assertTies(Unbilled.unbilled(today), data, {})
            later = [self.charge(taxable, [(0, 1), (2, 3)]),
                self.charge(exempt, [(1, 1)])]
            while Charge.post_sales():
                pass
            self.charge(taxable, [(0, 2)])  # its sale not posted
            report = Unbilled.unbilled(today)
            self.assertTies(report, data, sums(later))
            line, = [r for r in report['lines']
                if r['provider'] == taxable.party.id]
            self.assertEqual(
                (line['charges'], line['first_date'], line['last_date']),
                (1, today, today))

            # the wizard under the finance menu shows the same
            Report = pool.get('hb.charge.unbilled.report', type='wizard')
            session_id, _, _ = Report.create()
            result = Report.execute(
                session_id, {'start': {'date': today}}, 'result')
            values = result['view']['defaults']
            self.assertEqual(values['total'], report['total'])
            self.assertEqual(values['difference'], Decimal('0.00'))
            self.assertTrue(values['tied'])
            self.assertEqual(len(values['lines']), 2)
            Report.delete(session_id)

    @with_transaction()
    def test_unbilled_report_bill_next_month(self):
        """Charges of a month billed on the first day of the next month:
        at the month's end they are unbilled and the clearing account
        holds them (VAT included); on the bill's date both are zero"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Charge = pool.get('hb.charge')
        Date = pool.get('ir.date')
        Unbilled = pool.get('hb.charge.unbilled')
        FiscalYear = pool.get('account.fiscalyear')
        with set_company(create_wellbeing_area()):
            data, _, exempt, taxable = self.setup()
            today = Date.today()
            month_end = (today.replace(day=28) + dt.timedelta(days=4)
                ).replace(day=1) - dt.timedelta(days=1)
            next_month = month_end + dt.timedelta(days=1)
            if next_month.year != today.year:
                fiscalyear = set_invoice_sequences(get_fiscalyear(
                        data['company'], today=next_month))
                fiscalyear.save()
                FiscalYear.create_period([fiscalyear])
            charges = self.month(exempt, taxable)
            while Charge.post_sales():
                pass
            bills = Billing.bill_providers(
                end_date=today, date=next_month, post=True)
            self.assertEqual(
                {b.move.date for b in bills}, {next_month})
            self.assertGreater(sum(b.tax_amount for b in bills), 0)
            sums = {}
            for charge in charges:
                sums[charge.provider.id] = sums.get(
                    charge.provider.id, Decimal(0)) + charge.amount
            report = Unbilled.unbilled(month_end)
            self.assertTies(report, data, sums)
            self.assertEqual(report['total'], sum(c.amount for c in charges))
            self.assertTies(Unbilled.unbilled(next_month), data, {})
            self.assertEqual(
                balance(data['clearing'], next_month), Decimal('0.00'))
