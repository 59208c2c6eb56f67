# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""VAT of the bills (issue 18, item 1): the social welfare service of a
provider in the supervision register is exempt (AVL 37 §, the exemption
tax rule), that of any other provider is taxed at the category's rate
(25.5 %); the catalogue price includes the tax and each bill's total is
its charges' sum to the cent; hb.vat.purchase sums the exempt and taxable
purchases per provider and month."""
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase

from trytond.modules.hb_budget.tests.tools import with_transaction

from .finance_tools import EXEMPT_NOTICE, setup_vat, supervise
from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    setup_hb,
)

MOBILE = '+358401234567'


class VATTestCase(_DBTestCase):
    "Test the VAT of the vendor bills"
    module = 'hb_voucher'

    def setup(self, prices):
        """Two providers selling cleaning at the prices (the first in the
        supervision register), a client with a budget; return data, the
        taxes and the applications"""
        data = setup_hb()
        taxes = setup_vat(data)
        exempt = create_provider_with_service(data, index=0,
            name="Sosiaalipalvelu Oy", services=[
                ('Kotisiivous %s' % p, 'cleaning', p) for p in prices])
        taxable = create_provider_with_service(data, index=1,
            name="Siivousliike Oy", services=[
                ('Kotisiivous %s' % p, 'cleaning', p) for p in prices])
        supervise(exempt.party)
        client = create_client(data, MOBILE)
        create_budget(data, client, Decimal('2000.00'))
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
                (products[i].id, q) for i, q in items], 'v%d' % self.keys)
        return Charge.confirm(charge, last_code(MOBILE))

    @with_transaction()
    def test_exempt_and_taxable_provider(self):
        """In one month the supervised provider's bill is exempt (0 %,
        the legal notice of AVL 37 §), the other's taxed at 25.5 %, both
        totals being the charges' sums"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            _, taxes, exempt, taxable = self.setup([Decimal('37.00')])
            self.charge(exempt, [(0, 1)])
            self.charge(taxable, [(0, 1)])
            bills = {b.party: b for b in Billing.bill_providers(
                    end_date=Date.today(), post=True)}
            bill = bills[exempt.party]
            self.assertEqual(bill.state, 'posted')
            tax, = bill.taxes
            self.assertEqual(tax.tax, taxes['exempt'])
            self.assertEqual(tax.legal_notice, EXEMPT_NOTICE)
            self.assertEqual(
                (tax.base, tax.amount, bill.total_amount),
                (Decimal('37.00'), Decimal('0.00'), Decimal('37.00')))
            bill = bills[taxable.party]
            tax, = bill.taxes
            self.assertEqual(tax.tax, taxes['general'])
            self.assertEqual(
                (tax.base, tax.amount, bill.total_amount),
                (Decimal('29.48'), Decimal('7.52'), Decimal('37.00')))
            line, = bill.lines
            self.assertEqual(line.taxes, (taxes['general'],))

    @with_transaction()
    def test_price_to_the_cent(self):
        """Tax-included prices whose untaxed amounts round away from the
        charged sum (quantities, several prices, a refund) still give
        bills whose total is the charges' sum to the cent"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Charge = pool.get('hb.charge')
        Date = pool.get('ir.date')
        prices = [Decimal('37.00'), Decimal('19.99'), Decimal('20.55'),
            Decimal('0.10')]
        with set_company(create_wellbeing_area()):
            _, taxes, exempt, taxable = self.setup(prices)
            charges = [
                self.charge(taxable, [(0, 3), (1, '2.5'), (2, '0.5')]),
                self.charge(taxable, [(3, 7), (1, 1)]),
                self.charge(exempt, [(1, '2.5'), (2, '0.5')]),
                ]
            charges.append(Charge.make_refund(
                    charges[0], Decimal('37.00'), "Yksi tunti jäi tekemättä"))
            bills = Billing.bill_providers(end_date=Date.today(), post=True)
            self.assertEqual(len(bills), 2)
            for bill in bills:
                self.assertEqual(bill.total_amount, sum(
                        c.amount for c in Charge.browse(charges)
                        if c.provider == bill.party))
                self.assertEqual(bill.total_amount,
                    bill.untaxed_amount + bill.tax_amount)
                for tax in bill.taxes:
                    # within a cent or two of the rate's amount
                    self.assertLessEqual(abs(
                            tax.amount - tax.base * tax.tax.rate),
                        Decimal('0.03'))
                if bill.party == taxable.party:
                    self.assertGreater(bill.tax_amount, 0)
                else:
                    self.assertEqual(bill.tax_amount, 0)

    @with_transaction()
    def test_registration_period_and_category(self):
        """Outside the provider's registration period, or for a category
        that is not a social welfare service, the service is taxed"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            data, taxes, exempt, _ = self.setup([Decimal('37.00')])
            product = provider_product(exempt)
            today = Date.today()
            party = exempt.party
            self.assertEqual(Billing._bill_line_taxes(
                    party, product, today), [taxes['exempt']])
            self.assertEqual(Billing._bill_line_taxes(party, product,
                    party.hb_supervision_start - dt.timedelta(days=1)),
                [taxes['general']])
            party.hb_supervision_end = today - dt.timedelta(days=1)
            party.save()
            self.assertEqual(Billing._bill_line_taxes(
                    party, product, today), [taxes['general']])
            party.hb_supervision_end = None
            party.save()
            data['home_help'].hb_social_service = False
            data['home_help'].save()
            data['cleaning'].hb_social_service = False
            data['cleaning'].save()
            self.assertEqual(Billing._bill_line_taxes(
                    party, product, today), [taxes['general']])

    @with_transaction()
    def test_vat_purchase_report(self):
        "The report sums base, tax and total per provider, month and tax"
        pool = Pool()
        Billing = pool.get('hb.billing')
        Date = pool.get('ir.date')
        Report = pool.get('hb.vat.purchase')
        with set_company(create_wellbeing_area()):
            _, taxes, exempt, taxable = self.setup([Decimal('37.00')])
            self.charge(exempt, [(0, 2)])
            self.charge(taxable, [(0, 1)])
            self.charge(taxable, [(0, 3)])
            Billing.bill_providers(end_date=Date.today(), post=True)
            today = Date.today()
            rows = {(r.provider, r.tax): r for r in Report.search([])}
            self.assertEqual(set(rows), {
                    (exempt.party, taxes['exempt']),
                    (taxable.party, taxes['general'])})
            row = rows[(exempt.party, taxes['exempt'])]
            self.assertEqual((row.year, row.month), (today.year, today.month))
            self.assertTrue(row.exempt)
            self.assertEqual((row.base, row.tax_amount, row.total),
                (Decimal('74.00'), Decimal('0.00'), Decimal('74.00')))
            row = rows[(taxable.party, taxes['general'])]
            self.assertFalse(row.exempt)
            self.assertEqual(row.total, Decimal('148.00'))
            self.assertEqual(row.base + row.tax_amount, row.total)
            self.assertEqual(row.base, Decimal('117.93'))
