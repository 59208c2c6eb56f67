# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The reconciliation as a report finance can file (issue 18, item 6): a
stored run per provider, budget and municipality with the succeeded and
failed payments, its spreadsheet (ODS) and CSV reading the same figures
as the run and the ledger, and the run kept as an audit record."""
import csv
import io
import zipfile
from decimal import Decimal

from lxml import etree
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction

from .test_payment import run_tasks
from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    setup_hb,
)

KAJAANI, SOTKAMO = '+358401234567', '+358401234568'
NS = {
    'table': 'urn:oasis:names:tc:opendocument:xmlns:table:1.0',
    'office': 'urn:oasis:names:tc:opendocument:xmlns:office:1.0',
    'text': 'urn:oasis:names:tc:opendocument:xmlns:text:1.0',
    }


def ods_rows(content):
    """Return the rows of the spreadsheet's first table as lists of
    (text, value) of its cells: value the number of a float cell"""
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        assert package.read('mimetype') == (
            b'application/vnd.oasis.opendocument.spreadsheet')
        root = etree.fromstring(package.read('content.xml'))
    rows = []
    value = '{%s}value' % NS['office']
    kind = '{%s}value-type' % NS['office']
    for row in root.iterfind('.//table:table-row', NS):
        cells = []
        for cell in row.iterfind('table:table-cell', NS):
            text = ''.join(cell.itertext())
            number = (Decimal(cell.get(value)).quantize(Decimal('0.01'))
                if cell.get(kind) == 'float' else None)
            cells.append((text, number))
        rows.append(cells)
    return rows


class ReconciliationRunTestCase(_DBTestCase):
    "Test the stored reconciliation runs and their reports"
    module = 'hb_voucher'

    def setup(self):
        """Two providers serving Kajaani and Sotkamo, a client in each
        with a budget; bills posted"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        data = setup_hb()
        config = Configuration(1)
        config.hb_invoice_post = True
        config.save()
        self.applications = [
            create_provider_with_service(data, index=i, name=name,
                municipalities=('kajaani', 'sotkamo'))
            for i, name in enumerate(["Palvelu A Oy", "Palvelu B Oy"])]
        clients = [
            create_client(data, KAJAANI, individual=901),
            create_client(data, SOTKAMO, individual=902,
                municipality='sotkamo', name="Toinen Asiakas")]
        self.budgets = [create_budget(data, c, Decimal('1000.00'))
            for c in clients]
        self.data = data
        self.keys = 0
        return [a.party for a in self.applications]

    def charge(self, party, mobile, quantity=1):
        pool = Pool()
        Charge = pool.get('hb.charge')
        application, = [a for a in self.applications if a.party == party]
        self.keys += 1
        charge, _ = Charge.request(party, mobile, [
                (provider_product(application).id, quantity)],
            'k%d' % self.keys)
        return Charge.confirm(charge, last_code(mobile))

    def month(self):
        """A month: A charges both clients, B the Kajaani client; billed;
        A's payment succeeds, B's fails; then B charges the Sotkamo
        client (not billed). Return the providers and the bills"""
        pool = Pool()
        Date = pool.get('ir.date')
        Billing = pool.get('hb.billing')
        Payment = pool.get('account.payment')
        Run = pool.get('hb.payment.run')
        a, b = self.setup()
        self.charge(a, KAJAANI, 2)
        self.charge(a, SOTKAMO)
        self.charge(b, KAJAANI)
        bills = {x.party: x for x in Billing.bill_providers(
                end_date=Date.today())}
        group = Run.pay_vendor_bills()
        payment_a, = [p for p in group.payments if p.party == a]
        payment_b, = [p for p in group.payments if p.party == b]
        Payment.succeed([payment_a])
        Payment.fail([payment_b])
        run_tasks()
        self.charge(b, SOTKAMO)
        return a, b, bills

    @with_transaction()
    def test_run_per_provider_budget_municipality(self):
        """The stored run has a line per provider, budget and
        municipality; the succeeded and failed payments are those of the
        bills; the totals tie to the lines, the payments and the ledger"""
        pool = Pool()
        Run = pool.get('hb.reconciliation.run')
        Payment = pool.get('account.payment')
        Invoice = pool.get('account.invoice')
        with set_company(create_wellbeing_area()):
            a, b, bills = self.month()
            run = Run.make()
            kajaani, sotkamo = self.budgets
            D = Decimal
            self.assertEqual([(line.provider, line.budget,
                        line.municipality.code, line.captured,
                        line.refunded, line.billed, line.unbilled,
                        line.paid, line.failed, line.failed_count)
                    for line in run.lines], [
                    (a, kajaani, kajaani.client.hb_municipality.code,
                        D('70.00'), D('0.00'), D('70.00'), D('0.00'),
                        D('70.00'), D('0.00'), 0),
                    (a, sotkamo, sotkamo.client.hb_municipality.code,
                        D('35.00'), D('0.00'), D('35.00'), D('0.00'),
                        D('35.00'), D('0.00'), 0),
                    (b, kajaani, kajaani.client.hb_municipality.code,
                        D('35.00'), D('0.00'), D('35.00'), D('0.00'),
                        D('0.00'), D('35.00'), 1),
                    (b, sotkamo, sotkamo.client.hb_municipality.code,
                        D('35.00'), D('0.00'), D('0.00'), D('35.00'),
                        D('0.00'), D('0.00'), 0),
                    ])
            self.assertNotEqual(kajaani.client.hb_municipality,
                sotkamo.client.hb_municipality)
            # the totals are the lines' and the wizard's reconciliation
            for name in ['captured', 'refunded', 'billed', 'unbilled',
                    'paid']:
                self.assertEqual(getattr(run, name),
                    sum(getattr(line, name) for line in run.lines), name)
            result = pool.get('hb.charge.reconciliation').reconcile()
            self.assertEqual(run.captured, result['captured'])
            self.assertEqual(run.paid, D('105.00'))
            self.assertTrue(run.checks_passed, run.mismatches)
            # the payments are the ledger's: A's bill paid by one
            # succeeded payment, B's by one failed
            succeeded = Payment.search([('state', '=', 'succeeded')])
            failed = Payment.search([('state', '=', 'failed')])
            self.assertEqual(
                (run.payments_succeeded, run.payments_succeeded_count),
                (sum(p.amount for p in succeeded), len(succeeded)))
            self.assertEqual(
                (run.payments_failed, run.payments_failed_count),
                (sum(p.amount for p in failed), len(failed)))
            self.assertEqual(run.payments_succeeded,
                Invoice(bills[a].id).total_amount)
            self.assertEqual(Invoice(bills[a].id).state, 'paid')
            self.assertEqual(run.payments_failed,
                Invoice(bills[b].id).amount_to_pay)
            # the clearing account holds B's unbilled charge
            self.assertEqual(run.clearing_balance, run.clearing_expected)
            self.assertEqual(run.run_by.id, Transaction().user)
            self.assertTrue(run.run_at)

    @with_transaction()
    def test_ods_and_csv(self):
        "The spreadsheet and the CSV show the run's figures"
        pool = Pool()
        Run = pool.get('hb.reconciliation.run')
        ODS = pool.get('hb.reconciliation.run.report', type='report')
        CSV = pool.get('hb.reconciliation.run.csv', type='report')
        with set_company(create_wellbeing_area()):
            self.month()
            run = Run.make()
            ext, content, _, name = ODS.execute([run.id], {})
            self.assertEqual(ext, 'ods')
            rows = ods_rows(content)
            texts = [[t for t, _ in row] for row in rows]
            self.assertIn(run.run_by.rec_name, [t for r in texts for t in r])
            # the header's figures
            numbers = {row[0][0]: row[1][1] for row in rows
                if len(row) == 2 and row[1][1] is not None}
            fields = Run.fields_get(['captured', 'paid', 'payments_failed',
                    'payments_failed_count', 'clearing_balance'])
            for field, value in fields.items():
                self.assertEqual(numbers[value['string']],
                    getattr(run, field), field)
            # a row per line, in the lines' order
            lines = [row for row in rows if len(row) == 10][1:]
            self.assertEqual(len(lines), len(run.lines))
            for row, line in zip(lines, run.lines):
                self.assertEqual(row[0][0], line.provider.rec_name)
                self.assertEqual(row[1][0], line.budget.rec_name)
                self.assertEqual(row[2][0], line.municipality.rec_name)
                self.assertEqual([n for _, n in row[3:]], [
                        line.captured, line.refunded, line.billed,
                        line.unbilled, line.paid, line.failed,
                        line.failed_count])

            ext, content, _, name = CSV.execute([run.id], {})
            self.assertEqual(ext, 'csv')
            self.assertTrue(content.startswith(b'\xef\xbb\xbf'))
            rows = list(csv.reader(
                    io.StringIO(content.decode('utf-8-sig')), delimiter=';'))
            self.assertEqual(len(rows), len(run.lines) + 1)
            for row, line in zip(rows[1:], run.lines):
                self.assertEqual(row[:3], [line.provider.rec_name,
                        line.budget.rec_name, line.municipality.rec_name])
                self.assertEqual(
                    [Decimal(v.replace(',', '.')) for v in row[3:9]],
                    [line.captured, line.refunded, line.billed,
                        line.unbilled, line.paid, line.failed])
                self.assertEqual(int(row[9]), line.failed_count)

    @with_transaction()
    def test_run_read_only(self):
        """A finance user creates and reads runs but changes or deletes
        none; the administrator may"""
        pool = Pool()
        Run = pool.get('hb.reconciliation.run')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        company = create_wellbeing_area()
        with set_company(company):
            self.setup()
            user, = User.create([{
                        'name': "Talous", 'login': 'talous',
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        'groups': [('add', [ModelData.get_id(
                                        'hb_voucher', 'group_hb_finance')])],
                        }])
            with Transaction().set_user(user.id), \
                    Transaction().set_context(_check_access=True):
                run = Run.make()
                run, = Run.search([])
                self.assertEqual(run.run_by, user)
                with self.assertRaises(AccessError):
                    Run.write([run], {'mismatches': "changed"})
                with self.assertRaises(AccessError):
                    Run.delete([run])
                with self.assertRaises(AccessError):
                    Run.write([Run(run.id)], {'captured': Decimal('1.00')})
            Run.delete([Run(run.id)])
            self.assertEqual(Run.search([]), [])


del _DBTestCase
