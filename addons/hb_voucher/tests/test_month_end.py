# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The clearing account "HB charges to be billed" against the general
ledger (issue 18, item 7): a posted bill clears exactly what its charges
put into the clearing account, VAT included (the refundable VAT is booked
to the tax account and taken off the HB service expense), and the
month-end report of captured-but-unbilled charges ties to the clearing
account's balance at a date to the cent."""
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction

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
