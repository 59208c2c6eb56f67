# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Vendor bills made from charges, their SEPA payment and the
reconciliation of the money path.

Billing: one supplier invoice per provider and run from its captured
charges not yet billed (Dr HB charges to be billed / Cr payable). The
charges are locked and marked billed in the transaction that makes the
invoices: each charge is billed exactly once, however often the task runs
or if it crashes midway."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from itertools import groupby

from sql import Column
from sql.aggregate import Sum
from sql.conditionals import Case
from sql.functions import CurrentTimestamp
from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from trytond.modules.hb_budget.budget import round_sum

from .exceptions import BillingError

ZERO = Decimal('0.00')


class Charge(metaclass=PoolMeta):
    __name__ = 'hb.charge'

    @classmethod
    def _billable_domain(cls, start_date=None, end_date=None):
        domain = [
            ('state', 'in', ['captured', 'cancelled']),
            ('sale', '!=', None),
            ('invoice_line', '=', None),
            ]
        if start_date:
            domain.append(('date', '>=', start_date))
        if end_date:
            domain.append(('date', '<=', end_date))
        return domain

    @classmethod
    def bill_providers(cls, start_date=None, end_date=None, date=None):
        """Make the vendor bills of the captured charges of the period
        not yet billed (up to yesterday by default); return the bills"""
        pool = Pool()
        Date = pool.get('ir.date')
        Invoice = pool.get('account.invoice')
        config = cls._config()
        today = Date.today()
        if end_date is None:
            end_date = today - dt.timedelta(days=1)
        if date is None:
            date = today
        if not config.hb_clearing_account:
            raise BillingError(gettext(
                    'hb_voucher.msg_billing_not_configured'))
        # The clearing account must hold what the bills take from it
        while cls.post_sales():
            pass

        ids = cls._billable_ids(start_date, end_date)
        if not ids:
            return []
        cls._lock_rows(ids)
        # Re-read after the lock: another run may have billed some
        lines = cls._billable_lines(start_date, end_date, ids)
        if not lines:
            return []
        if cls._bill_with_orm():
            invoices = cls._bill_orm(lines, start_date, end_date, date)
        else:
            invoices = cls._bill_sql(lines, start_date, end_date, date)
        if config.hb_invoice_post:
            with Transaction().set_context(_skip_warnings=True):
                Invoice.validate_invoice(invoices)
                Invoice.post(invoices)
        return invoices

    @classmethod
    def _billable_ids(cls, start_date, end_date):
        "Return the ids of the billable charges"
        cursor = Transaction().connection.cursor()
        cursor.execute(*cls.search(
                cls._billable_domain(start_date, end_date), order=[],
                query=True))
        return [i for i, in cursor]

    @classmethod
    def _billable_lines(cls, start_date, end_date, ids):
        """Return the lines of the billable charges of ids as dicts (line,
        charge, company, provider, date, number, product, quantity,
        unit_price) ordered by company, provider, date, charge and line"""
        pool = Pool()
        Line = pool.get('hb.charge.line')
        line = Line.__table__()
        charge = cls.__table__()
        domain = [('id', 'in', ids)] + cls._billable_domain(
            start_date, end_date)
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.join(charge,
                condition=line.charge == charge.id).select(
                line.id, charge.id, charge.company, charge.provider,
                charge.date, charge.number, line.product, line.quantity,
                line.unit_price,
                where=charge.id.in_(
                    cls.search(domain, order=[], query=True)),
                order_by=[charge.company.asc, charge.provider.asc,
                    charge.date.asc, charge.id.asc, line.id.asc]))
        keys = ['line', 'charge', 'company', 'provider', 'date', 'number',
            'product', 'quantity', 'unit_price']
        result = []
        for row in cursor:
            row = dict(zip(keys, row))
            if isinstance(row['date'], str):  # SQLite
                row['date'] = dt.date.fromisoformat(row['date'])
            result.append(row)
        return result

    @classmethod
    def _bill_with_orm(cls):
        """Whether to make the bill lines through the ORM: when triggers
        would have to run on their creation or on the charges' update"""
        pool = Pool()
        Trigger = pool.get('ir.trigger')
        with without_check_access():
            return bool(
                Trigger.get_triggers('account.invoice.line', 'create')
                or Trigger.get_triggers('analytic.account.entry', 'create')
                or Trigger.get_triggers(cls.__name__, 'write'))

    @classmethod
    def _bill_orm(cls, lines, start_date, end_date, date):
        """Make the bills of the charges of lines (_billable_lines) through
        the ORM (one save of every bill with its lines): the reference of
        _bill_sql"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        charges = cls.browse(list(dict.fromkeys(
                    line['charge'] for line in lines)))
        invoices, billed = [], []
        for (company, provider), provider_charges in groupby(
                charges, key=lambda c: (c.company, c.provider)):
            provider_charges = list(provider_charges)
            invoice = cls._get_vendor_bill(
                company, provider, provider_charges, start_date, end_date,
                date)
            invoices.append(invoice)
            billed.append(provider_charges)
        Invoice.save(invoices)
        to_save = []
        for invoice, provider_charges in zip(invoices, billed):
            lines = iter(invoice.lines)
            for charge in provider_charges:
                first = None
                for _ in charge.lines:
                    line = next(lines)
                    first = first or line
                charge.invoice_line = first
                to_save.append(charge)
        cls.save(to_save)
        return invoices

    @classmethod
    def _bill_sql(cls, lines, start_date, end_date, date):
        """Make the bills of the charges of lines (_billable_lines): the
        bills, their lines (one per charge line, as _get_vendor_bill makes
        them), the lines' analytic entries and the charges' links in SQL;
        return the bills.

        The records are the ORM's: the values it is given completed by
        the defaults of the model (and the bills' computed fields) and
        inserted as ModelSQL.create inserts them, but without its
        validation of each record: the first bill and its first line are
        validated, all share the values validated there but their party's
        (address, payable account, read by the ORM's getters) and their
        amounts."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Party = pool.get('party.party')
        Product = pool.get('product.product')
        Company = pool.get('company.company')
        transaction = Transaction()
        config = cls._config()

        groups = [(key, list(group)) for key, group in groupby(
                lines, key=lambda r: (r['company'], r['provider']))]
        companies = {c.id: c for c in Company.browse(
                    list({k[0] for k, _ in groups}))}
        providers = {p.id: p for p in Party.browse(
                    list({k[1] for k, _ in groups}))}
        journals = {}
        invoices = []
        for (company, provider), group in groups:
            invoices.append(cls._get_vendor_bill_header(
                    companies[company], providers[provider],
                    min(r['date'] for r in group), start_date, end_date,
                    date, journals=journals))
        invoice_ids = cls._sql_insert(Invoice,
            [i._save_values() for i in invoices], computed=True)

        products = {p.id: p for p in Product.browse(
                    list({line['product'] for line in lines}))}
        values = []
        for invoice_id, invoice, (_, group) in zip(
                invoice_ids, invoices, groups):
            base = {
                'invoice': invoice_id,
                'company': invoice.company.id,
                'type': 'line',
                'currency': invoice.company.currency.id,
                'account': config.hb_clearing_account.id,
                }
            for line in group:
                values.append(dict(base,
                        **cls._get_invoice_line_values(line, products)))
        line_ids = cls._sql_insert(InvoiceLine, values,
            skip_defaults={'analytic_accounts'})

        # The analytic entries the ORM gives each line by default
        if hasattr(InvoiceLine, 'default_analytic_accounts'):
            Entry = pool.get('analytic.account.entry')
            entries = InvoiceLine.default_analytic_accounts()
            cls._sql_insert(Entry, [dict(entry,
                        origin='%s,%s' % (InvoiceLine.__name__, line_id))
                    for line_id in line_ids for entry in entries])

        # Each charge links to its first line
        first = {}
        for line, line_id in zip(lines, line_ids):
            first.setdefault(line['charge'], line_id)
        cls._sql_link_invoice_lines(first)

        transaction.counter += 1
        # (browsed alone: not to read every bill and line)
        Invoice._validate(Invoice.browse(invoice_ids[:1]))
        InvoiceLine._validate(InvoiceLine.browse(line_ids[:1]))
        return Invoice.browse(invoice_ids)

    @classmethod
    def _get_invoice_line_values(cls, line, products):
        """Return the values of the bill line of the charge line (a dict
        of _billable_lines) that are its own, as _get_vendor_bill sets
        them; products: {id: product}"""
        # The client's identity (HETU, name) stays out of the bill
        return {
            'quantity': float(line['quantity']),
            'unit_price': Decimal(str(line['unit_price'])),
            'description': '%s %s %s' % (
                line['number'], line['date'].isoformat(),
                products[line['product']].rec_name),
            'origin': '%s,%s' % (cls.__name__, line['charge']),
            }

    @classmethod
    def _sql_insert(cls, Model, vlist, skip_defaults=(), computed=False):
        """Insert the records of vlist in the table of Model as
        ModelSQL.create does (the defaults of the missing fields, create_uid
        and create_date, the values formatted by their field) but without
        its validation; return their ids in order. computed: add the
        values of the records' compute_fields, which create writes at
        once (so with write_uid and write_date).
        Every value dict must have the same keys."""
        transaction = Transaction()
        database = transaction.database
        cursor = transaction.connection.cursor()
        if not vlist:
            return []
        keys = set(vlist[0])
        missing = [n for n, f in Model._fields.items()
            if n not in keys and n not in skip_defaults
            and n not in {'id', 'create_uid', 'create_date', 'write_uid',
                'write_date'}
            and not (isinstance(f, fields.Function) and not f.setter)]
        defaults = Model._clean_defaults(
            Model.default_get(missing, with_rec_name=False))
        for name, value in list(defaults.items()):
            if hasattr(Model._fields[name], 'set'):
                if value:
                    raise NotImplementedError('%s.%s not insertable in SQL'
                        % (Model.__name__, name))
                del defaults[name]
        # the columns (a record read back has None in those not given)
        stored = [n for n, f in Model._fields.items()
            if not hasattr(f, 'set')
            and n not in {'id', 'create_uid', 'create_date', 'write_uid',
                'write_date'}]
        full = []
        for values in vlist:
            values = dict(defaults, **values)
            if computed:
                record = Model(**{n: values.get(n) for n in stored})
                values.update(record.compute_fields())
            full.append(values)
        names = sorted(full[0])
        for name in names:
            if hasattr(Model._fields[name], 'set'):
                raise NotImplementedError('%s.%s not insertable in SQL'
                    % (Model.__name__, name))
        table = Model.__table__()
        meta = [table.create_uid, table.create_date]
        if computed:
            meta += [table.write_uid, table.write_date]
        columns = meta + [Column(table, n) for n in names] + [table.id]
        now = CurrentTimestamp()
        if any(len(v) != len(names) for v in full):
            raise ValueError('vlist: values of different fields')
        rows = []
        for values in full:
            rows.append([transaction.user, now] * (len(meta) // 2) + [
                    Model._fields[n].sql_format(values[n]) for n in names])
        ids = []
        size = backend.MAX_QUERY_PARAMS // (len(columns) + 1)
        for sub_rows in grouped_slice(rows, size):
            sub_rows = list(sub_rows)
            new_ids = (database.nextid(
                    transaction.connection, Model._table,
                    count=len(sub_rows))
                if database.has_multirow_insert() and len(sub_rows) > 1
                else None)
            if new_ids is not None:
                cursor.execute(*table.insert(columns, [
                            r + [i] for r, i in zip(sub_rows, new_ids)]))
                ids.extend(new_ids)
            else:
                for row in sub_rows:
                    new_id = database.nextid(
                        transaction.connection, Model._table)
                    if new_id:
                        cursor.execute(*table.insert(
                                columns, [row + [new_id]]))
                    else:
                        cursor.execute(*table.insert(columns[:-1], [row]))
                        new_id = database.lastid(cursor)
                    ids.append(new_id)
        transaction.create_records[Model.__name__].extend(ids)
        return ids

    @classmethod
    def _sql_link_invoice_lines(cls, first):
        """Set the invoice line of the charges of first {charge id: line
        id}, as a write of the ORM sets it (with write_uid, write_date)"""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        items = sorted(first.items())
        # small batches: CASE tests its branches one after another
        for sub_items in grouped_slice(items, 500):
            sub_items = list(sub_items)
            line = Case(*((table.id == c, i) for c, i in sub_items))
            cursor.execute(*table.update(
                    [table.invoice_line, table.write_uid, table.write_date],
                    [line, transaction.user, CurrentTimestamp()],
                    where=table.id.in_([c for c, _ in sub_items])))

    @classmethod
    def _get_vendor_bill(cls, company, provider, charges, start_date,
            end_date, date):
        "Return the unsaved vendor bill of provider for charges"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        config = cls._config()
        invoice = cls._get_vendor_bill_header(company, provider,
            min(c.date for c in charges), start_date, end_date, date)
        lines = []
        for charge in charges:
            for line in charge.lines:
                # The client's identity (HETU, name) stays out of the bill
                lines.append(InvoiceLine(
                        invoice=invoice, company=company, type='line',
                        currency=company.currency,
                        account=config.hb_clearing_account,
                        quantity=float(line.quantity),
                        unit_price=line.unit_price,
                        description='%s %s %s' % (
                            charge.number, charge.date.isoformat(),
                            line.product.rec_name),
                        origin=charge))
        invoice.lines = lines
        return invoice

    @classmethod
    def _get_vendor_bill_header(cls, company, provider, first_date,
            start_date, end_date, date, journals=None):
        """Return the unsaved vendor bill of provider, without lines
        (journals: {company: journal} found by earlier calls)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        config = cls._config()
        lang = provider.lang.code if provider.lang else 'fi'
        with Transaction().set_context(language=lang):
            reference = gettext('hb_voucher.msg_bill_reference',
                start=start_date or first_date, end=end_date)
        invoice = Invoice(
            company=company, type='in', party=provider,
            invoice_address=provider.address_get(type='invoice'),
            currency=company.currency,
            account=provider.account_payable_used,
            invoice_date=date, reference=reference,
            description=reference, hb_bill=True)
        if config.hb_invoice_journal:
            invoice.journal = config.hb_invoice_journal
        elif journals is not None and company in journals:
            invoice.journal = journals[company]
        else:
            invoice.set_journal()
            if journals is not None:
                journals[company] = invoice.journal
        return invoice

    @classmethod
    def pay_vendor_bills(cls, date=None):
        """Pay by SEPA credit transfer what each provider is owed by its
        posted HB vendor bills due on date (today), net of what it owes
        back, to its verified IBAN; record the run (hb.payment.run) with
        the providers skipped and why; return the payment group (None
        when nothing is paid).

        A provider's credits (a bill below zero, a refund billed after its
        charges) are grouped with its bills to pay (Tryton's grouping of
        move lines) and the net paid; a provider owing more than it is
        owed is skipped: its open balance is listed for collection
        (hb.payment.run.owed_back)."""
        pool = Pool()
        Date = pool.get('ir.date')
        Payment = pool.get('account.payment')
        Group = pool.get('account.payment.group')
        Run = pool.get('hb.payment.run')
        Skip = pool.get('hb.payment.run.skip')
        config = cls._config()
        if date is None:
            date = Date.today()
        journal = config.hb_payment_journal
        if not journal:
            raise BillingError(gettext(
                    'hb_voucher.msg_billing_not_configured'))
        if not (journal.clearing_account and journal.clearing_journal):
            raise BillingError(gettext(
                    'hb_voucher.msg_payment_clearing_missing',
                    journal=journal.rec_name))
        company = journal.company
        lines = [line for line in cls._hb_payable_lines(company.id)
            if not line.payment_blocked
            and not any(p.state != 'failed' for p in line.payments)
            and (line.debit - line.credit > 0
                or not line.maturity_date or line.maturity_date <= date)]
        lines.sort(key=lambda line: (line.party.id, line.id))
        payments, skips = [], []
        for party, party_lines in groupby(
                lines, key=lambda line: line.party):
            party_lines = list(party_lines)
            balance = sum(
                (line.credit - line.debit for line in party_lines), ZERO)
            number = party.hb_iban_number
            reason = None
            if balance < 0:
                reason = 'owed'
            elif balance > 0 and not number:
                reason = 'no_account'
            elif balance > 0 and not number.account.bank:
                reason = 'no_bank'
            if reason:
                skips.append(Skip(party=party, amount=balance, reason=reason))
            if (len(party_lines) > 1
                    and any(line.debit - line.credit > 0
                        for line in party_lines)
                    and any(line.credit - line.debit > 0
                        for line in party_lines)):
                # Net the credits against the bills to pay
                line = cls._group_payable_lines(party_lines, date)
                party_lines = [line] if line else []
            if reason:
                continue
            for line in party_lines:
                payments.append(Payment(
                        company=company, journal=journal,
                        kind='payable', party=party, line=line,
                        amount=line.payment_amount, date=date,
                        sepa_payable_bank_account_number=number,
                        reference=cls._payment_reference(line),
                        state='approved'))
        group = None
        if payments:
            Payment.save(payments)
            group = Group(company=company, journal=journal,
                kind='payable')
            group.save()
            Payment.process(payments, lambda: group)
        if payments or skips:
            Run.save([Run(company=company, date=date, group=group,
                        payment_count=len(payments),
                        amount_paid=sum(
                            (p.amount for p in payments), ZERO),
                        skipped=skips)])
        return group

    @classmethod
    def _hb_payable_lines(cls, company):
        """Return the open posted payable lines of the HB vendor bills of
        company, and of the groupings netting them"""
        pool = Pool()
        Line = pool.get('account.move.line')
        lines = Line.search([
                ('move.company', '=', company),
                ('account.type.payable', '=', True),
                ('reconciliation', '=', None),
                ('move_state', '=', 'posted'),
                ('party', '!=', None),
                ['OR',
                    ('move.origin', 'like', 'account.invoice,%'),
                    ('reconciliations_delegated.id', '!=', None),
                    ],
                ], order=[('party', 'ASC'), ('id', 'ASC')])
        return [line for line in lines if cls._is_hb_payable(line)]

    @classmethod
    def _is_hb_payable(cls, line):
        """Whether line is the payable line of an HB vendor bill or the
        balance of a grouping of such lines only"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        origin = line.move.origin
        if isinstance(origin, Invoice):
            return bool(origin.hb_bill)
        grouped = [other for reconciliation in line.reconciliations_delegated
            for other in reconciliation.lines if other.move != line.move]
        return bool(grouped) and all(
            cls._is_hb_payable(other) for other in grouped)

    @classmethod
    def _group_payable_lines(cls, lines, date):
        """Group the payable lines of a provider into one (posted) line of
        their balance with Tryton's grouping of lines; return it (None when
        they balance out)"""
        pool = Pool()
        GroupLines = pool.get('account.move.line.group', type='wizard')
        Move = pool.get('account.move')
        ModelData = pool.get('ir.model.data')
        Journal = pool.get('account.journal')
        journal = Journal(ModelData.get_id('account', 'journal_miscellaneous'))
        move, balance_line = GroupLines.group_lines(lines, journal, date)
        move.description = gettext('hb_voucher.msg_payment_netting')
        move.save()
        Move.post([move])
        return balance_line

    @classmethod
    def _payment_reference(cls, line):
        """The reference of the payment of line: the bill's own, or the
        numbers of the bills netted in it"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        origin = line.move.origin
        if isinstance(origin, Invoice):
            return origin.reference
        numbers = []

        def collect(line):
            origin = line.move.origin
            if isinstance(origin, Invoice):
                numbers.append(origin.number)
            for reconciliation in line.reconciliations_delegated:
                for other in reconciliation.lines:
                    if other.move != line.move:
                        collect(other)
        collect(line)
        lang = line.party.lang.code if line.party.lang else 'fi'
        with Transaction().set_context(language=lang):
            return gettext('hb_voucher.msg_payment_reference_netted',
                numbers=', '.join(sorted(numbers)))

    @classmethod
    def reconcile(cls, start_date=None, end_date=None):
        """Return the reconciliation of charges: figures of the period and
        the checks of the whole money path (with their mismatches)"""
        pool = Pool()
        Budget = pool.get('hb.budget')
        MoveLine = pool.get('account.move.line')
        Move = pool.get('account.move')
        config = cls._config()
        domain = [
            ('state', 'in', ['captured', 'cancelled']),
            ('captured_at', '!=', None),
            ]
        period = list(domain)
        if start_date:
            period.append(('date', '>=', start_date))
        if end_date:
            period.append(('date', '<=', end_date))
        figures = defaultdict(lambda: ZERO)
        for charge in cls.search(period):
            amount = charge.amount
            if charge.kind == 'charge':
                figures['captured'] += amount
            else:
                figures['refunded'] -= amount
            if not charge.posted:
                figures['not_posted'] += amount
            invoice = charge.invoice
            if charge.invoice_line:
                figures['billed'] += amount
                if invoice.state == 'paid':
                    figures['paid'] += amount
            else:
                figures['unbilled'] += amount

        checks, mismatches = {}, []
        # 1. The clearing account holds the posted charges not yet on a
        # posted vendor bill
        charges = cls.search(domain)
        expected = sum((c.amount for c in charges if c.posted and not (
                        c.invoice_line
                        and c.invoice.state in {'posted', 'paid'})),
            ZERO)
        clearing = ZERO
        if config.hb_clearing_account:
            line = MoveLine.__table__()
            move = Move.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*line.join(move,
                    condition=line.move == move.id).select(
                    Sum(line.credit - line.debit),
                    where=(line.account == config.hb_clearing_account.id)
                    & (move.state == 'posted')))
            value, = cursor.fetchone()
            clearing = round_sum(value)  # SQLite sums as floats
        checks['clearing'] = clearing == expected
        if not checks['clearing']:
            mismatches.append(gettext('hb_voucher.msg_reconcile_clearing',
                    balance=clearing, expected=expected))

        # 2. and 3. per budget
        by_budget = defaultdict(lambda: [ZERO, ZERO])
        for charge in charges:
            by_budget[charge.budget][0] += charge.amount
            if charge.posted:
                by_budget[charge.budget][1] += charge.amount
        checks['spent'] = checks['analytic'] = True
        with without_check_access():
            budgets = Budget.search([])
        for budget in budgets:
            captured, posted = by_budget.get(budget, (ZERO, ZERO))
            if budget.spent != captured:
                checks['spent'] = False
                mismatches.append(gettext('hb_voucher.msg_reconcile_spent',
                        budget=budget.rec_name, spent=budget.spent,
                        expected=captured))
            if budget.analytic_account:
                balance = -budget.analytic_account.balance
                if balance != posted:
                    checks['analytic'] = False
                    mismatches.append(gettext(
                            'hb_voucher.msg_reconcile_analytic',
                            budget=budget.rec_name, balance=balance,
                            expected=posted))
        return {
            'captured': figures['captured'],
            'refunded': figures['refunded'],
            'billed': figures['billed'],
            'unbilled': figures['unbilled'],
            'paid': figures['paid'],
            'not_posted': figures['not_posted'],
            'clearing_balance': clearing,
            'clearing_expected': expected,
            'checks': checks,
            'mismatches': mismatches,
            }


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @property
    def hb_iban_number(self):
        "The IBAN number of the provider's verified payment account"
        if self.hb_bank_account:
            for number in self.hb_bank_account.numbers:
                if number.type == 'iban':
                    return number


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    hb_bill = fields.Boolean(
        "Personal Budget Bill", readonly=True,
        help="Made from the provider's personal budget charges.")

    @classmethod
    def default_hb_bill(cls):
        return False

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('hb_bill', False)
        return super().copy(invoices, default=default)


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['hb.charge']


class BillStart(ModelView):
    __name__ = 'hb.charge.bill.start'
    __string__ = "Make Vendor Bills"

    start_date = fields.Date("Start Date",
        help="Empty: every charge not yet billed up to the end date.")
    end_date = fields.Date("End Date", required=True)

    @classmethod
    def default_end_date(cls):
        return Pool().get('ir.date').today()


class Bill(Wizard):
    __name__ = 'hb.charge.bill'
    __string__ = "Make Vendor Bills"
    start = StateView('hb.charge.bill.start',
        'hb_voucher.charge_bill_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Make", 'bill', 'tryton-ok', default=True),
            ])
    bill = StateTransition()

    def transition_bill(self):
        pool = Pool()
        Charge = pool.get('hb.charge')
        Charge.bill_providers(self.start.start_date, self.start.end_date)
        return 'end'


class ReconciliationStart(ModelView):
    __name__ = 'hb.charge.reconciliation.start'
    __string__ = "Reconcile Charges"

    start_date = fields.Date("Start Date")
    end_date = fields.Date("End Date")


class Reconciliation(ModelView):
    __name__ = 'hb.charge.reconciliation'
    __string__ = "Charge Reconciliation"

    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    start_date = fields.Date("Start Date", readonly=True)
    end_date = fields.Date("End Date", readonly=True)
    captured = Monetary(
        "Captured", currency='currency', digits='currency', readonly=True)
    refunded = Monetary(
        "Refunded", currency='currency', digits='currency', readonly=True)
    billed = Monetary(
        "Billed", currency='currency', digits='currency', readonly=True)
    unbilled = Monetary(
        "Unbilled", currency='currency', digits='currency', readonly=True)
    paid = Monetary(
        "Paid", currency='currency', digits='currency', readonly=True)
    not_posted = Monetary(
        "Captured, Not Yet Posted", currency='currency', digits='currency',
        readonly=True)
    clearing_balance = Monetary(
        "Clearing Account Balance", currency='currency', digits='currency',
        readonly=True)
    clearing_expected = Monetary(
        "Posted Charges Not on a Posted Bill", currency='currency',
        digits='currency', readonly=True)
    check_clearing = fields.Boolean(
        "Clearing Balance = Unbilled Charges", readonly=True)
    check_spent = fields.Boolean(
        "Budget Spent = Captured − Refunded", readonly=True)
    check_analytic = fields.Boolean(
        "Analytic Balance = Spent", readonly=True)
    mismatches = fields.Text("Mismatches", size=1000000, readonly=True)


class Reconcile(Wizard):
    __name__ = 'hb.charge.reconcile'
    __string__ = "Reconcile Charges"
    start = StateView('hb.charge.reconciliation.start',
        'hb_voucher.charge_reconciliation_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reconcile", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('hb.charge.reconciliation',
        'hb_voucher.charge_reconciliation_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        pool = Pool()
        Charge = pool.get('hb.charge')
        Company = pool.get('company.company')
        result = Charge.reconcile(self.start.start_date, self.start.end_date)
        company = Transaction().context.get('company')
        values = {k: v for k, v in result.items()
            if k not in {'checks', 'mismatches'}}
        values.update({
                'currency': (Company(company).currency.id
                    if company else None),
                'start_date': self.start.start_date,
                'end_date': self.start.end_date,
                'check_clearing': result['checks']['clearing'],
                'check_spent': result['checks']['spent'],
                'check_analytic': result['checks']['analytic'],
                'mismatches': '\n'.join(result['mismatches']),
                })
        return values
