# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Billing (issue 16): the vendor bills are made and posted through
account_invoice's API (hb.billing), one bill line per provider, service,
unit price and service date (refunds on lines of their own), each charge
line linked to its bill line; each charge is billed exactly once; the
bill's total is the sum of its charges."""
import os
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase

from trytond.modules.hb_budget.tests.tools import with_transaction

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    setup_hb,
)

MOBILE_1 = '+358401234567'
MOBILE_2 = '+358401234568'
MODULE = os.path.dirname(os.path.dirname(__file__))


class BillingTestCase(_DBTestCase):
    "Test the vendor bills made from charges"
    module = 'hb_voucher'

    def make_charges(self):
        """Two providers (the first with two services), charges of two
        clients, one of two lines, and a partial refund; return data,
        the providers, the products and the charges"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Product = pool.get('product.product')
        data = setup_hb()
        first = create_provider_with_service(data, services=[
                ('Kotisiivous', 'cleaning', Decimal('35.00')),
                ('Ikkunanpesu', 'cleaning', Decimal('20.50'))])
        second = create_provider_with_service(data, index=1)
        for mobile, individual in [(MOBILE_1, 901), (MOBILE_2, 902)]:
            client = create_client(data, mobile, individual=individual)
            create_budget(data, client)
        products = {a.party: Product.search([
                    ('template.hb_provider', '=', a.party.id)],
                order=[('id', 'ASC')]) for a in [first, second]}
        charges = []
        for key, application, mobile, items in [
                ('b1', first, MOBILE_1, [(0, 3)]),
                ('b2', first, MOBILE_2, [(0, 1), (1, '2.5')]),
                ('b3', second, MOBILE_1, [(0, 2)]),
                ('b4', first, MOBILE_1, [(1, 1)]),
                ]:
            charge, _ = Charge.request(application.party, mobile, [
                    (products[application.party][i].id, q)
                    for i, q in items], key)
            charges.append(Charge.confirm(charge, last_code(mobile)))
        refund = Charge.make_refund(
            charges[0], Decimal('35.00'), "One hour was not done")
        return (data, (first.party, second.party), products,
            charges + [refund])

    def bill_lines(self, bill):
        """(service, quantity, unit price, amount, taxes) of bill's lines,
        the service of a line being that of the charge lines linked to it"""
        pool = Pool()
        ChargeLine = pool.get('hb.charge.line')
        result = []
        for line in bill.lines:
            products = {cl.product for cl in ChargeLine.search(
                    [('invoice_line', '=', line.id)])}
            product, = products
            result.append((product, line.quantity, line.unit_price,
                    line.amount, tuple(line.taxes)))
        return sorted(result)

    @with_transaction()
    def test_one_line_per_service_price_and_date(self):
        """The bill of a provider has one line per service, unit price and
        date, a refund a line of its own; no taxes; the bill's total is
        the sum of its charges; each charge line links to its line"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Charge = pool.get('hb.charge')
        ChargeLine = pool.get('hb.charge.line')
        with set_company(create_wellbeing_area()):
            data, (first, second), products, charges = self.make_charges()
            end = charges[0].date
            bills = Billing.bill_providers(end_date=end)
            self.assertEqual(sorted(b.party.id for b in bills),
                sorted([first.id, second.id]))
            bill_1, bill_2 = sorted(bills, key=lambda b: b.party != first)
            cleaning, windows = products[first]
            self.assertEqual(self.bill_lines(bill_1), sorted([
                        # b1 (3 h) + b2 (1 h)
                        (cleaning, 4.0, Decimal('35.00'),
                            Decimal('140.00'), ()),
                        # b2 (2.5) + b4 (1)
                        (windows, 3.5, Decimal('20.50'),
                            Decimal('71.75'), ()),
                        # the refund of one hour of b1
                        (cleaning, -1.0, Decimal('35.00'),
                            Decimal('-35.00'), ()),
                        ]))
            self.assertEqual(self.bill_lines(bill_2), [
                    (products[second][0], 2.0, Decimal('35.00'),
                        Decimal('70.00'), ())])
            for bill in bills:
                self.assertEqual(bill.tax_amount, Decimal('0.00'))
                self.assertTrue(bill.hb_bill)
                self.assertEqual(bill.total_amount, sum(
                        c.amount for c in Charge.browse(charges)
                        if c.provider == bill.party))
                for line in bill.lines:
                    product, = {cl.product for cl in ChargeLine.search(
                            [('invoice_line', '=', line.id)])}
                    self.assertEqual(line.account, data['clearing'])
                    self.assertEqual(line.description, '%s %s' % (
                            end.isoformat(), product.rec_name))
                    self.assertNotIn('Testi Asiakas', line.description)
            for charge in Charge.browse(charges):
                for charge_line in charge.lines:
                    line = charge_line.invoice_line
                    self.assertIn(charge_line.product.rec_name,
                        line.description)
                    self.assertEqual(line.unit_price,
                        charge_line.unit_price)
                    self.assertEqual(line.quantity < 0,
                        charge_line.quantity < 0)
                    self.assertEqual(line.invoice.party, charge.provider)
                self.assertEqual(
                    charge.invoice_line, charge.lines[0].invoice_line)
                self.assertEqual(charge.invoice.party, charge.provider)
            # Each bill line's quantity is the sum of its charge lines'
            for bill in bills:
                for line in bill.lines:
                    members = ChargeLine.search(
                        [('invoice_line', '=', line.id)])
                    self.assertEqual(Decimal(str(line.quantity)),
                        sum(m.quantity for m in members))
                    self.assertEqual(line.amount,
                        sum(m.amount for m in members))

    @with_transaction()
    def test_charge_billed_once(self):
        "A second run bills nothing; every charge is on a bill once"
        pool = Pool()
        Billing = pool.get('hb.billing')
        Charge = pool.get('hb.charge')
        with set_company(create_wellbeing_area()):
            data, providers, products, charges = self.make_charges()
            end = charges[0].date
            bills = Billing.bill_providers(end_date=end)
            self.assertEqual(len(bills), 2)
            self.assertEqual(Billing.bill_providers(end_date=end), [])
            self.assertEqual(Charge.search(
                    Billing._billable_domain(end_date=end)), [])
            self.assertEqual(sum(b.total_amount for b in bills),
                sum(c.amount for c in Charge.browse(charges)))

    @with_transaction()
    def test_rounded_amounts_own_line(self):
        """Charge lines whose amount was rounded get a bill line each:
        the bill's total stays the sum of its charges"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Charge = pool.get('hb.charge')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            application = create_provider_with_service(
                data, price=Decimal('20.55'))
            client = create_client(data, MOBILE_1)
            create_budget(data, client)
            product, = pool.get('product.product').search([
                    ('template.hb_provider', '=', application.party.id)])
            charges = []
            for key, quantity in [('r1', '0.5'), ('r2', '0.5'), ('r3', 2)]:
                charge, _ = Charge.request(application.party, MOBILE_1,
                    [(product.id, quantity)], key)
                charges.append(Charge.confirm(charge, last_code(MOBILE_1)))
            # 0.5 × 20.55 = 10.275 is rounded on each charge
            self.assertNotEqual(charges[0].amount * 2, Decimal('20.55'))
            bill, = Billing.bill_providers(end_date=charges[0].date)
            self.assertEqual(bill.total_amount,
                sum(c.amount for c in charges))
            self.assertEqual(sorted(line.quantity for line in bill.lines),
                [0.5, 0.5, 2.0])

    @with_transaction()
    def test_posted_bills_reconcile(self):
        """Posted by Invoice.post: the accounting of the bills, no
        analytic line on them (the budget's analytic account is on the
        posted sale), and the reconciliation checks hold"""
        pool = Pool()
        Billing = pool.get('hb.billing')
        Reconciliation = pool.get('hb.charge.reconciliation')
        Charge = pool.get('hb.charge')
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data, providers, products, charges = self.make_charges()
            config = Configuration(1)
            config.hb_invoice_post = True
            config.save()
            budgets = {c.budget for c in Charge.browse(charges)}
            while Charge.post_sales():  # the budgets' analytic lines
                pass
            analytic = {b: b.analytic_account.balance for b in budgets}
            bills = Billing.bill_providers(end_date=charges[0].date)
            self.assertEqual({b.state for b in bills}, {'posted'})
            for bill in bills:
                lines = bill.move.lines
                total = bill.total_amount
                self.assertEqual(sorted((ml.account, ml.debit, ml.credit)
                        for ml in lines if ml.account == data['clearing']),
                    sorted((data['clearing'], max(bl.amount, 0),
                            max(-bl.amount, 0)) for bl in bill.lines))
                payable, = [ml for ml in lines
                    if ml.account == bill.account]
                self.assertEqual(payable.credit - payable.debit, total)
                self.assertEqual(payable.party, bill.party)
                self.assertEqual(
                    [al for ml in lines for al in ml.analytic_lines], [])
            for budget in budgets:
                self.assertEqual(
                    budget.analytic_account.balance, analytic[budget])
            result = Reconciliation.reconcile()
            self.assertEqual(result['checks'], {
                    'clearing': True, 'spent': True, 'analytic': True},
                result['mismatches'])
            self.assertEqual(result['unbilled'], Decimal('0.00'))
            self.assertEqual(result['clearing_balance'], Decimal('0.00'))
            # the delegate of the charge gives the same
            self.assertEqual(Charge.reconcile(), result)

    @with_transaction()
    def test_scheduled_tasks(self):
        "The scheduled tasks call the billing and payment models"
        pool = Pool()
        Cron = pool.get('ir.cron')
        ModelData = pool.get('ir.model.data')
        cron = Cron(ModelData.get_id('hb_voucher', 'cron_bill_providers'))
        self.assertEqual(cron.method, 'hb.billing|bill_providers')
        methods = dict(Cron.method.selection)
        self.assertIn('hb.billing|bill_providers', methods)
        self.assertIn('hb.payment.run|pay_vendor_bills', methods)
        self.assertNotIn('hb.charge|bill_providers', methods)
        self.assertNotIn('hb.charge|pay_vendor_bills', methods)
        Billing = pool.get('hb.billing')
        PaymentRun = pool.get('hb.payment.run')
        self.assertTrue(callable(Billing.bill_providers))
        self.assertTrue(callable(PaymentRun.pay_vendor_bills))

    def test_no_sql_writes_nor_private_api(self):
        """The billing, payment, reconciliation and settings write no other
        module's table in SQL and use no private trytond API"""
        private = r'_clean_defaults|_validate\(|create_records' \
            r'|\.counter\b|__wrapped__|_connpool'
        writes = r'|\bINSERT\b|\bUPDATE\b|\bDELETE\b' \
            r'|table\.(?:insert|update|delete)\('
        # configuration.py writes its own table (the settings' migration)
        for name, forbidden in [
                ('billing.py', private + writes),
                ('payment.py', private + writes),
                ('reconciliation.py', private + writes),
                ('configuration.py', private)]:
            with open(os.path.join(MODULE, name)) as source:
                found = re.findall(forbidden, source.read())
            self.assertEqual(found, [], name)

