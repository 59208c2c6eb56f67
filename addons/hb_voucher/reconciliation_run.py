# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The reconciliation as a report finance can file (issue 18, item 6):
each reconciliation run is stored with who ran it and when, its figures
and checks (those of hb.charge.reconciliation) and its lines per
provider, budget and municipality, with the succeeded and failed
payments of the bills; printable as an OpenDocument spreadsheet and
exportable as CSV. A run is an audit record: nobody but the
administrator changes or deletes it.

The figures of a line are those of the period's captured charges (and
refunds) of the provider on the budget, the municipality being the
client's: captured, refunded, billed (on a vendor bill), unbilled, paid
(on a bill settled by a succeeded payment) and failed (on a bill not
paid whose last payment failed), with the number of failed payments of
the line's bills."""
import csv
import io
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.report import Report
from trytond.transaction import Transaction, without_check_access

ZERO = Decimal('0.00')
CSV_COLUMNS = ['provider', 'budget', 'municipality', 'captured', 'refunded',
    'billed', 'unbilled', 'paid', 'failed', 'failed_count']


class ReconciliationRunModificationError(AccessError):
    "A stored reconciliation run changed by another than the administrator"


def _monetary(string, help=''):
    return Monetary(string, currency='currency', digits='currency',
        readonly=True, help=help)


class ReconciliationRun(ModelSQL, ModelView):
    __name__ = 'hb.reconciliation.run'
    __string__ = "Reconciliation Run"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    start_date = fields.Date("Start Date", readonly=True)
    end_date = fields.Date("End Date", readonly=True)
    run_by = fields.Function(fields.Many2One(
            'res.user', "Run By"), 'get_run_by')
    run_at = fields.Function(fields.Timestamp("Run At"), 'get_run_at')
    captured = _monetary("Captured")
    refunded = _monetary("Refunded")
    billed = _monetary("Billed")
    unbilled = _monetary("Unbilled")
    paid = _monetary("Paid",
        help="The charges on bills settled by a succeeded payment.")
    not_posted = _monetary("Captured, Not Yet Posted")
    clearing_balance = _monetary("Clearing Account Balance")
    clearing_expected = _monetary("Posted Charges Not on a Posted Bill")
    payments_succeeded = _monetary("Succeeded Payments",
        help="The succeeded payments of the period's bills.")
    payments_succeeded_count = fields.Integer(
        "Succeeded Payments (Count)", readonly=True)
    payments_failed = _monetary("Failed Payments",
        help="The failed payments of the period's bills.")
    payments_failed_count = fields.Integer(
        "Failed Payments (Count)", readonly=True)
    check_clearing = fields.Boolean(
        "Clearing Balance = Unbilled Charges", readonly=True)
    check_spent = fields.Boolean(
        "Budget Spent = Captured − Refunded", readonly=True)
    check_analytic = fields.Boolean(
        "Analytic Balance = Spent", readonly=True)
    checks_passed = fields.Function(
        fields.Boolean("All Checks Passed"), 'get_checks_passed')
    mismatches = fields.Text("Mismatches", size=1000000, readonly=True)
    lines = fields.One2Many(
        'hb.reconciliation.run.line', 'run', "Lines", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('create_date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))

    def get_currency(self, name):
        return self.company.currency.id

    def get_run_by(self, name):
        return self.create_uid.id if self.create_uid else None

    def get_run_at(self, name):
        return self.create_date

    def get_checks_passed(self, name):
        return bool(self.check_clearing and self.check_spent
            and self.check_analytic)

    def get_rec_name(self, name):
        period = ' – '.join(d.isoformat() if d else '…'
            for d in [self.start_date, self.end_date])
        return '%s (%s)' % (period, self.create_date.strftime(
                '%Y-%m-%d %H:%M') if self.create_date else '')

    @classmethod
    def check_modification(cls, mode, runs, values=None, external=False):
        super().check_modification(
            mode, runs, values=values, external=external)
        if mode in {'write', 'delete'} and not cls._administrator():
            raise ReconciliationRunModificationError(gettext(
                    'hb_voucher.msg_reconciliation_run_read_only'))

    @classmethod
    def _administrator(cls):
        "Whether the user of the transaction may change stored runs"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        transaction = Transaction()
        if transaction.user == 0 or not transaction.check_access:
            return True
        admin = ModelData.get_id('res', 'group_admin')
        with without_check_access():
            return admin in {g.id for g in User(transaction.user).groups}

    @classmethod
    def make(cls, start_date=None, end_date=None):
        """Reconcile the charges of the period (all when no dates) of the
        company of the context and store the run with its lines; return
        the run"""
        pool = Pool()
        Reconciliation = pool.get('hb.charge.reconciliation')
        company = Transaction().context.get('company')
        result = Reconciliation.reconcile(start_date, end_date)
        with without_check_access():
            lines, payments = cls._lines(start_date, end_date)
        succeeded = [p for p in payments if p.state == 'succeeded']
        failed = [p for p in payments if p.state == 'failed']
        run = cls(company=company, start_date=start_date, end_date=end_date,
            captured=result['captured'], refunded=result['refunded'],
            billed=result['billed'], unbilled=result['unbilled'],
            paid=result['paid'], not_posted=result['not_posted'],
            clearing_balance=result['clearing_balance'],
            clearing_expected=result['clearing_expected'],
            payments_succeeded=sum((p.amount for p in succeeded), ZERO),
            payments_succeeded_count=len(succeeded),
            payments_failed=sum((p.amount for p in failed), ZERO),
            payments_failed_count=len(failed),
            check_clearing=result['checks']['clearing'],
            check_spent=result['checks']['spent'],
            check_analytic=result['checks']['analytic'],
            mismatches='\n'.join(result['mismatches']),
            lines=lines)
        run.save()
        return run

    @classmethod
    def _lines(cls, start_date, end_date):
        """Return the unsaved lines of the period per provider, budget and
        municipality, and the payments of the period's bills"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Line = pool.get('hb.reconciliation.run.line')
        domain = [
            ('company', '=', Transaction().context.get('company')),
            ('state', 'in', ['captured', 'cancelled']),
            ('captured_at', '!=', None),
            ]
        if start_date:
            domain.append(('date', '>=', start_date))
        if end_date:
            domain.append(('date', '<=', end_date))
        charges = Charge.search(domain, order=[('id', 'ASC')])
        bill_payments = {}
        for charge in charges:
            invoice = charge.invoice
            if invoice and invoice not in bill_payments:
                bill_payments[invoice] = cls._bill_payments(invoice)
        figures = defaultdict(lambda: defaultdict(lambda: ZERO))
        failed_payments = defaultdict(set)
        for charge in charges:
            budget = charge.budget
            key = (charge.provider, budget, budget.client.hb_municipality)
            line, amount = figures[key], charge.amount
            if charge.kind == 'charge':
                line['captured'] += amount
            else:
                line['refunded'] -= amount
            invoice = charge.invoice
            if not charge.invoice_line:
                line['unbilled'] += amount
                continue
            line['billed'] += amount
            payments = bill_payments[invoice]
            failed_payments[key].update(
                p for p in payments if p.state == 'failed')
            if invoice.state == 'paid':
                line['paid'] += amount
            elif payments and payments[-1].state == 'failed':
                line['failed'] += amount

        def order(key):
            provider, budget, municipality = key
            return (provider.rec_name, municipality.rec_name
                if municipality else '', budget.id)
        lines = []
        for key in sorted(figures, key=order):
            provider, budget, municipality = key
            values = figures[key]
            lines.append(Line(provider=provider, budget=budget,
                    municipality=municipality,
                    failed_count=len(failed_payments[key]),
                    **{name: values[name] for name in [
                            'captured', 'refunded', 'billed', 'unbilled',
                            'paid', 'failed']}))
        payments = sorted({p for ps in bill_payments.values() for p in ps},
            key=lambda p: p.id)
        return lines, payments

    @classmethod
    def _bill_payments(cls, invoice):
        """Return the payments of the bill (ordered by id): those of its
        lines to pay and of the lines its netting delegated them to"""
        payments, seen = set(), set()

        def collect(line):
            if line.id in seen:
                return
            seen.add(line.id)
            payments.update(line.payments)
            reconciliation = line.reconciliation
            if reconciliation and reconciliation.delegate_to:
                collect(reconciliation.delegate_to)
        for line in invoice.lines_to_pay:
            collect(line)
        return sorted(payments, key=lambda p: p.id)

    def csv_rows(self):
        "Return the rows (header first) of the run's lines for CSV"
        Line = Pool().get('hb.reconciliation.run.line')
        strings = Line.fields_get(CSV_COLUMNS)
        rows = [[strings[name]['string'] for name in CSV_COLUMNS]]
        for line in self.lines:
            row = []
            for name in CSV_COLUMNS:
                value = getattr(line, name)
                if hasattr(value, 'rec_name'):
                    value = value.rec_name
                elif value is None:
                    value = ''
                elif isinstance(value, Decimal):
                    # Finnish decimal comma
                    value = str(value.quantize(ZERO)).replace('.', ',')
                row.append(str(value))
            rows.append(row)
        return rows


class ReconciliationRunLine(ModelSQL, ModelView):
    __name__ = 'hb.reconciliation.run.line'
    __string__ = "Reconciliation Run Line"

    run = fields.Many2One(
        'hb.reconciliation.run', "Run", required=True, readonly=True,
        ondelete='CASCADE')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    provider = fields.Many2One(
        'party.party', "Provider", required=True, readonly=True)
    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True)
    municipality = fields.Many2One(
        'hb.municipality', "Municipality", readonly=True,
        help="The client's municipality.")
    captured = _monetary("Captured")
    refunded = _monetary("Refunded")
    billed = _monetary("Billed")
    unbilled = _monetary("Unbilled")
    paid = _monetary("Paid",
        help="The charges on bills settled by a succeeded payment.")
    failed = _monetary("Failed Payments",
        help="The charges on bills not paid whose last payment failed.")
    failed_count = fields.Integer("Failed Payments (Count)", readonly=True,
        help="The failed payments of the line's bills.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('run', 'DESC'))
        cls._order.insert(1, ('id', 'ASC'))

    def get_currency(self, name):
        return self.run.company.currency.id

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        pool = Pool()
        Run = pool.get('hb.reconciliation.run')
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode in {'write', 'delete'} and not Run._administrator():
            raise ReconciliationRunModificationError(gettext(
                    'hb_voucher.msg_reconciliation_run_read_only'))


class ReconciliationRunReport(Report):
    "A reconciliation run as an OpenDocument spreadsheet"
    __name__ = 'hb.reconciliation.run.report'

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Run = pool.get('hb.reconciliation.run')
        Line = pool.get('hb.reconciliation.run.line')
        context = super().get_context(records, header, data)
        names = [n for n, f in Run._fields.items() if f.string]
        context['label'] = {n: f['string']
            for n, f in Run.fields_get(names).items()}
        context['line_label'] = {n: f['string']
            for n, f in Line.fields_get(list(Line._fields)).items()}
        context['title'] = gettext('hb_voucher.msg_reconciliation_run_title')
        context['yes_no'] = lambda value: gettext(
            'hb_voucher.msg_reconciliation_run_yes' if value
            else 'hb_voucher.msg_reconciliation_run_no')
        return context


class ReconciliationRunCSV(Report):
    """The lines of a reconciliation run as CSV: UTF-8 with a byte order
    mark, semicolon separated and decimal commas, as a Finnish Excel
    opens it"""
    __name__ = 'hb.reconciliation.run.csv'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        Run = pool.get('hb.reconciliation.run')
        ModelAccess = pool.get('ir.model.access')
        ModelAccess.check('hb.reconciliation.run', 'read')
        if not ids and data:
            ids = data.get('ids') or [data.get('id')]
        run, = Run.browse(ids[:1])
        with Transaction().set_context(_check_access=True):
            run, = Run.search([('id', '=', run.id)])
        output = io.StringIO()
        writer = csv.writer(output, delimiter=';', lineterminator='\r\n')
        writer.writerows(run.csv_rows())
        content = output.getvalue().encode('utf-8-sig')
        name = 'reconciliation-%s' % run.id
        return 'csv', content, False, name


class Reconciliation(metaclass=PoolMeta):
    __name__ = 'hb.charge.reconciliation'

    run = fields.Many2One(
        'hb.reconciliation.run', "Stored Run", readonly=True,
        help="The reconciliation as stored, to print or export.")


class Reconcile(metaclass=PoolMeta):
    "Store each reconciliation the wizard shows"
    __name__ = 'hb.charge.reconcile'

    def default_result(self, fields):
        pool = Pool()
        Run = pool.get('hb.reconciliation.run')
        values = super().default_result(fields)
        run = Run.make(self.start.start_date, self.start.end_date)
        values['run'] = run.id
        return values
