# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Billing in bulk (issue 7): the bill lines written in SQL are the lines
the ORM makes (column by column, with their analytic entries), the bills
post to the same accounting, each charge is billed exactly once."""
from decimal import Decimal
from unittest.mock import patch

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction

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
# Columns set by the database, not by the values
VOLATILE = {'id', 'create_date', 'write_date'}


def rows(table, where_column, ids):
    "The rows of table whose where_column is in ids, as dicts by id"
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT * FROM "%s" WHERE "%s" IN (%s) ORDER BY id' % (
            table, where_column, ', '.join(str(int(i)) for i in ids)))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def strip(row, *extra):
    return {k: v for k, v in row.items() if k not in VOLATILE | set(extra)}


class BillingTestCase(_DBTestCase):
    "Test the vendor bills made from charges"
    module = 'hb_voucher'

    def make_charges(self):
        """Two providers (the first with two services), charges of two
        clients, one of two lines, and a partial refund; return data,
        the providers and the charges"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Product = pool.get('product.product')
        data = setup_hb()
        first = create_provider_with_service(data, services=[
                ('Kotisiivous', 'cleaning', Decimal('35.00')),
                ('Ikkunanpesu', 'cleaning', Decimal('20.50'))])
        second = create_provider_with_service(data, index=1)
        budgets = []
        for mobile, individual in [(MOBILE_1, 901), (MOBILE_2, 902)]:
            client = create_client(data, mobile, individual=individual)
            budgets.append(create_budget(data, client))
        products = {a: Product.search([
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
                    (products[application][i].id, q) for i, q in items],
                key)
            charges.append(Charge.confirm(charge, last_code(mobile)))
        refund = Charge.make_refund(
            charges[0], Decimal('35.00'), "One hour was not done")
        return data, (first.party, second.party), charges + [refund]

    def orm_bills(self, charges, end_date):
        "The bills of charges made through the ORM (the reference)"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Invoice = pool.get('account.invoice')
        charges = sorted(Charge.browse(charges),
            key=lambda c: (c.company.id, c.provider.id, c.date, c.id))
        invoices = []
        for provider in sorted({c.provider for c in charges}, key=int):
            mine = [c for c in charges if c.provider == provider]
            invoices.append(Charge._get_vendor_bill(
                    mine[0].company, provider, mine, None, end_date,
                    pool.get('ir.date').today()))
        Invoice.save(invoices)
        return invoices

    def assertSameBills(self, bills, references):
        "bills and references hold the same values in every column"
        self.assertEqual(len(bills), len(references))
        for bill, reference in zip(bills, references):
            bill_row, = rows('account_invoice', 'id', [bill.id])
            reference_row, = rows('account_invoice', 'id', [reference.id])
            self.assertEqual(strip(bill_row), strip(reference_row))
            lines = rows('account_invoice_line', 'invoice', [bill.id])
            reference_lines = rows(
                'account_invoice_line', 'invoice', [reference.id])
            self.assertEqual(len(lines), len(reference_lines))
            self.assertTrue(lines)
            for line, reference_line in zip(lines, reference_lines):
                self.assertEqual(strip(line, 'invoice'),
                    strip(reference_line, 'invoice'))
                self.assertEqual(line['create_uid'],
                    reference_line['create_uid'])
                entries = [strip(e, 'origin') for e in self.entries(line)]
                self.assertEqual(entries, [strip(e, 'origin')
                        for e in self.entries(reference_line)])
                for table in ['account_invoice_line-account_tax']:
                    self.assertEqual(rows(table, 'line', [line['id']]), [])
                    self.assertEqual(
                        rows(table, 'line', [reference_line['id']]), [])
            self.assertEqual(
                (bill.untaxed_amount, bill.tax_amount, bill.total_amount),
                (reference.untaxed_amount, reference.tax_amount,
                    reference.total_amount))
            self.assertEqual(bill.taxes, reference.taxes)

    def entries(self, line):
        cursor = Transaction().connection.cursor()
        cursor.execute('SELECT * FROM analytic_account_entry '
            'WHERE origin = %s ORDER BY id' % (
                "'account.invoice.line,%d'" % line['id']))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]

    @with_transaction()
    def test_sql_lines_equal_orm_lines(self):
        "The bills made in bulk are the ORM's, column by column"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Invoice = pool.get('account.invoice')
        with set_company(create_wellbeing_area()):
            data, providers, charges = self.make_charges()
            end = charges[0].date
            bills = Charge.bill_providers(end_date=end)
            self.assertEqual([b.party for b in bills], sorted(providers,
                    key=int))
            self.assertEqual(sorted(
                    len(b.lines) for b in bills), [1, 5])
            # the analytic entries the ORM gives a line exist
            self.assertTrue(self.entries({'id': bills[0].lines[0].id}))
            references = self.orm_bills(charges, end)
            self.assertSameBills(bills, references)

            # Posted: the same accounting
            with Transaction().set_context(_skip_warnings=True):
                Invoice.validate_invoice(bills + references)
                Invoice.post(bills + references)
            for bill, reference in zip(bills, references):
                def move_lines(invoice):
                    return sorted((ml.account.id, ml.debit, ml.credit,
                            ml.party and ml.party.id, ml.maturity_date,
                            ml.description, len(ml.analytic_lines))
                        for ml in invoice.move.lines)
                self.assertEqual(move_lines(Invoice(bill.id)),
                    move_lines(Invoice(reference.id)))

    @with_transaction()
    def test_charge_billed_once_on_its_first_line(self):
        "Each charge is on the bill once and links to its first line"
        pool = Pool()
        Charge = pool.get('hb.charge')
        InvoiceLine = pool.get('account.invoice.line')
        with set_company(create_wellbeing_area()):
            data, providers, charges = self.make_charges()
            end = charges[0].date
            bills = Charge.bill_providers(end_date=end)
            self.assertEqual(Charge.bill_providers(end_date=end), [])
            lines = InvoiceLine.search([
                    ('invoice', 'in', [b.id for b in bills])],
                order=[('id', 'ASC')])
            for charge in Charge.browse(charges):
                mine = [line for line in lines if line.origin == charge]
                self.assertEqual(len(mine), len(charge.lines))
                self.assertEqual(charge.invoice_line, mine[0])
                self.assertEqual(charge.invoice, mine[0].invoice)
                for line, charge_line in zip(mine, charge.lines):
                    self.assertEqual(line.quantity,
                        float(charge_line.quantity))
                    self.assertEqual(line.unit_price, charge_line.unit_price)
                    self.assertEqual(line.description, '%s %s %s' % (
                            charge.number, charge.date.isoformat(),
                            charge_line.product.rec_name))
                    self.assertEqual(line.account, data['clearing'])
                self.assertIsNotNone(Charge(charge.id).write_date)
            self.assertEqual(sum(b.total_amount for b in bills),
                sum(Charge(c.id).amount for c in charges))
            for line in lines:
                self.assertNotIn('Testi Asiakas', line.description)

    @with_transaction()
    def test_posted_bills_reconcile(self):
        "Billed and posted in bulk: the reconciliation checks hold"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data, providers, charges = self.make_charges()
            config = Configuration(1)
            config.hb_invoice_post = True
            config.save()
            bills = Charge.bill_providers(end_date=charges[0].date)
            self.assertEqual({b.state for b in bills}, {'posted'})
            result = Charge.reconcile()
            self.assertEqual(result['checks'], {
                    'clearing': True, 'spent': True, 'analytic': True},
                result['mismatches'])
            self.assertEqual(result['unbilled'], Decimal('0.00'))
            self.assertEqual(result['clearing_balance'], Decimal('0.00'))

    @with_transaction()
    def test_orm_path_when_triggers(self):
        "With triggers to run the lines are made through the ORM, alike"
        pool = Pool()
        Charge = pool.get('hb.charge')
        with set_company(create_wellbeing_area()):
            data, providers, charges = self.make_charges()
            end = charges[0].date
            with patch.object(Charge, '_bill_with_orm', return_value=True), \
                    patch.object(Charge, '_bill_sql') as bill_sql:
                bills = Charge.bill_providers(end_date=end)
            bill_sql.assert_not_called()
            self.assertEqual(Charge.bill_providers(end_date=end), [])
            self.assertEqual(
                sum(len(c.lines) for c in Charge.browse(charges)),
                sum(len(b.lines) for b in bills))
            for charge in Charge.browse(charges):
                self.assertEqual(charge.invoice_line.origin, charge)
