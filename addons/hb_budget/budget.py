# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime as dt
import functools
from decimal import Decimal

from sql import For
from sql.aggregate import Min, Sum
from sql.conditionals import Case
from sql.functions import CurrentTimestamp, ToChar
from sql.operators import Equal
from trytond import backend
from trytond.config import config
from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction, without_check_access

from .access_log import AccessLogMixin, CheckedExportMixin
from .exceptions import (
    BudgetAmountError,
    BudgetBusyError,
    BudgetInsufficientError,
    BudgetModificationError,
    BudgetPeriodError,
    BudgetStateError,
)

STATES = [
    ('active', "Active"),
    ('suspended', "Suspended"),
    ('closed', "Closed"),
    ]
MOVE_KINDS = [
    ('reserve', "Reserve"),
    ('release', "Release"),
    ('capture', "Capture"),
    ('refund', "Refund"),
    ]
ZERO = Decimal('0.00')
# serialization failure, deadlock, lock not available
CONFLICTS = {'40001', '40P01', '55P03'}


def _decimal(value):
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return value


def round_sum(value, currency=None):
    """Return the money sum read from SQL as a Decimal rounded to the
    currency (to cents without one).

    SQLite sums Numeric columns as floating point (10.05 + 10.15 is
    20.200000000000003 there); PostgreSQL sums them exactly. Every money
    sum HB computes in SQL goes through this function."""
    value = _decimal(value)
    if currency is not None:
        return currency.round(value)
    return value.quantize(ZERO)


def busy_try_again(func):
    """Decorate a method that users call through Tryton's dispatcher (a
    button, a wizard transition) and that locks budget rows.

    A lock conflict (another transaction changed the same rows) propagates
    as usual, so that the dispatcher retries the whole call; the conflict
    after its last retry is refused with a message asking to try again
    instead of a database error. The attempts are counted on the request
    (the same for each retry). Without a request (cron, workers, scripts)
    nothing changes."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except backend.DatabaseOperationalError as exception:
            if getattr(exception, 'sqlstate', None) not in CONFLICTS:
                raise
            request = Transaction().context.get('_request')
            if not isinstance(request, dict):
                raise
            conflicts = request.get('hb_lock_conflicts', 0) + 1
            request['hb_lock_conflicts'] = conflicts
            if conflicts <= config.getint('database', 'retry'):
                raise
            # The failed statement aborted this transaction: read the
            # message in another one
            with Transaction().new_transaction(readonly=True):
                message = gettext('hb_budget.msg_busy_try_again')
            raise BudgetBusyError(message) from exception
    return wrapper


def forecast(allocated, reserved, spent, start_date, end_date, today):
    """Return the burn-rate forecast of a budget (line) as
    (daily rate, exhaustion date, unused amount at period end).

    The pace is what was used (spent and held) per elapsed day. At that
    pace the budget runs out on the exhaustion date if it is within the
    period; otherwise the unused amount is what is left at period end."""
    available = allocated - reserved - spent
    used = reserved + spent
    if not (start_date and end_date) or today < start_date:
        return None, None, None
    current = min(today, end_date)
    elapsed = (current - start_date).days + 1
    remaining = (end_date - current).days
    rate = used / elapsed
    if rate <= 0:
        return ZERO, None, available
    if available <= 0:
        return rate, current, ZERO
    # (compared in days before making a date: a huge budget used at a
    # tiny pace would run out after the year 9999)
    days = int(available / rate)
    if days <= remaining:
        return rate, current + dt.timedelta(days=days), ZERO
    return rate, None, max(available - rate * remaining, ZERO)


class Budget(AccessLogMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'hb.budget'
    __string__ = "Personal Budget"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    client = fields.Many2One(
        'party.party', "Client", required=True, readonly=True,
        ondelete='RESTRICT',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    decision = fields.Many2One(
        'hb.decision', "Decision", required=True, readonly=True,
        ondelete='RESTRICT',
        help="The approved decision the budget carries out.")
    start_date = fields.Date("Start Date", required=True, readonly=True)
    end_date = fields.Date("End Date", required=True, readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    lines = fields.One2Many(
        'hb.budget.line', 'budget', "Lines", readonly=True)
    analytic_account = fields.Many2One(
        'analytic_account.account', "Analytic Account", readonly=True,
        ondelete='RESTRICT',
        help="The analytic account in which the budget's spending "
        "is booked.")
    amount = fields.Function(Monetary(
            "Allocated", currency='currency', digits='currency'),
        'get_amounts')
    reserved = fields.Function(Monetary(
            "Reserved", currency='currency', digits='currency',
            help="Held by charges not yet confirmed."),
        'get_amounts')
    spent = fields.Function(Monetary(
            "Spent", currency='currency', digits='currency'),
        'get_amounts')
    available = fields.Function(Monetary(
            "Available", currency='currency', digits='currency'),
        'get_amounts')
    forecast_exhaustion_date = fields.Function(fields.Date(
            "Forecast Exhaustion Date",
            help="At the current pace, the date the budget runs out."),
        'get_forecast')
    forecast_unused = fields.Function(Monetary(
            "Forecast Unused", currency='currency', digits='currency',
            help="At the current pace, the amount left unused "
            "at the end of the period."),
        'get_forecast')
    low_balance = fields.Function(
        fields.Boolean("Low Balance"), 'get_low_balance')
    closed_date = fields.Date("Closed Date", readonly=True)
    unused_amount = fields.Numeric(
        "Unused Amount", digits=(16, 2), readonly=True,
        help="The allocated amount left unspent when the budget closed.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('decision_unique', Exclude(t, (t.decision, Equal)),
                'hb_budget.msg_budget_decision_unique'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.client, Index.Range()),
                    (t.start_date, Index.Range()),
                    (t.end_date, Index.Range()),
                    where=t.state == 'active'),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    (t.end_date, Index.Range())),
                })
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('active', 'suspended'),
            ('suspended', 'active'),
            ('active', 'closed'),
            ('suspended', 'closed'),
            }
        cls._buttons.update({
                'suspend': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state'],
                    },
                'resume': {
                    'invisible': Eval('state') != 'suspended',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') == 'closed',
                    'icon': 'tryton-close',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'active'

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('low_balance', False), 'warning', '')),
            ]

    def get_rec_name(self, name):
        return '%s (%s - %s)' % (
            self.client.rec_name, self.start_date, self.end_date)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('client.rec_name',) + tuple(clause[1:])]

    @classmethod
    def get_amounts(cls, budgets, names):
        pool = Pool()
        Line = pool.get('hb.budget.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {b.id: ZERO for b in budgets} for n in names}
        currencies = {b.id: b.currency for b in budgets}
        for sub_ids in grouped_slice(budgets, backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(
                    line.budget, Sum(line.amount), Sum(line.reserved),
                    Sum(line.spent),
                    where=reduce_ids(line.budget, [int(i) for i in sub_ids]),
                    group_by=line.budget))
            for budget_id, amount, reserved, spent in cursor:
                currency = currencies[budget_id]
                amount = round_sum(amount, currency)
                reserved = round_sum(reserved, currency)
                spent = round_sum(spent, currency)
                values = {
                    'amount': amount,
                    'reserved': reserved,
                    'spent': spent,
                    'available': amount - reserved - spent,
                    }
                for name in names:
                    result[name][budget_id] = values[name]
        return result

    @classmethod
    def get_forecast(cls, budgets, names):
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        result = {n: {} for n in names}
        # (the sums computed here, not through the records' attributes:
        # those read the budgets again, once for the sums)
        amounts = cls.get_amounts(budgets, ['amount', 'reserved', 'spent'])
        for budget in budgets:
            _, exhaustion, unused = forecast(
                amounts['amount'][budget.id], amounts['reserved'][budget.id],
                amounts['spent'][budget.id],
                budget.start_date, budget.end_date, today)
            if unused is not None:
                unused = budget.currency.round(unused)
            values = {
                'forecast_exhaustion_date': exhaustion,
                'forecast_unused': unused,
                }
            for name in names:
                result[name][budget.id] = values[name]
        return result

    def get_low_balance(self, name):
        return any(line.low_balance for line in self.lines)

    @classmethod
    def get_active(cls, client, date=None):
        "Return the active budget of client covering date (today) or None"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        budgets = cls.search([
                ('client', '=', int(client)),
                ('state', '=', 'active'),
                ('start_date', '<=', date),
                ('end_date', '>=', date),
                ], limit=1)
        if budgets:
            return budgets[0]

    @classmethod
    def get_analytic_root(cls, company):
        "Return the HB analytic root of company, created on demand"
        pool = Pool()
        Account = pool.get('analytic_account.account')
        domain = [
            ('company', '=', company.id),
            ('type', '=', 'root'),
            ('parent', '=', None),
            ('code', '=', 'HB'),
            ]
        roots = Account.search(domain, limit=1)
        if not roots:
            # Two approvals must not create two roots at once: an empty
            # write of the company (through its model: it only sets who
            # and when) updates its row; on PostgreSQL the second
            # transaction fails to serialize and Tryton retries it, then
            # it finds the root of the first
            Company = pool.get('company.company')
            with without_check_access():
                Company.write([company], {})
            roots = Account.search(domain, limit=1)
        if roots:
            return roots[0]
        root = Account(
            company=company, type='root', code='HB',
            name=gettext('hb_budget.msg_analytic_root_name'),
            state='opened')
        root.save()
        return root

    def get_analytic_account(self, root):
        "Return a new analytic account for the budget under root"
        pool = Pool()
        Account = pool.get('analytic_account.account')
        return Account(
            company=self.company, type='normal', root=root, parent=root,
            code='HB-%s' % (self.decision.number or self.id),
            name='%s %s - %s' % (
                self.client.rec_name, self.start_date, self.end_date),
            state='opened')

    @classmethod
    def create_analytic_accounts(cls, budgets):
        "Give each budget without one its own analytic account"
        pool = Pool()
        Account = pool.get('analytic_account.account')
        budgets = [b for b in budgets if not b.analytic_account]
        roots = {}
        accounts = []
        for budget in budgets:
            if budget.company not in roots:
                roots[budget.company] = cls.get_analytic_root(budget.company)
            accounts.append(
                budget.get_analytic_account(roots[budget.company]))
        Account.save(accounts)
        for budget, account in zip(budgets, accounts):
            budget.analytic_account = account
        cls.save(budgets)

    @classmethod
    def check_modification(cls, mode, budgets, values=None, external=False):
        super().check_modification(
            mode, budgets, values=values, external=external)
        if mode == 'delete':
            raise BudgetModificationError(gettext(
                    'hb_budget.msg_budget_delete'))

    @classmethod
    @ModelView.button
    @Workflow.transition('suspended')
    def suspend(cls, budgets):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def resume(cls, budgets):
        pass

    @classmethod
    @busy_try_again
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, budgets):
        "Close budgets: release the holds left and report the unused amount"
        pool = Pool()
        Date = pool.get('ir.date')
        Line = pool.get('hb.budget.line')
        today = Date.today()
        for budget in budgets:
            for line in budget.lines:
                line = Line(line.id)
                if line.reserved:
                    Line._update(
                        'release', line, line.reserved, origin=str(budget),
                        date=today, check_state=False)
        budgets = cls.browse(budgets)
        for budget in budgets:
            budget.closed_date = today
            budget.unused_amount = budget.amount - budget.spent
        cls.save(budgets)

    @classmethod
    def close_expired(cls, date=None):
        "Close the budgets whose period ended before date (today)"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        budgets = cls.search([
                ('state', 'in', ['active', 'suspended']),
                ('end_date', '<', date),
                ])
        if budgets:
            cls.close(budgets)
        return budgets


class BudgetLine(AccessLogMixin, ModelSQL, ModelView):
    __name__ = 'hb.budget.line'
    __string__ = "Personal Budget Line"

    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True,
        ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        readonly=True, ondelete='RESTRICT')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    amount = Monetary(
        "Allocated", currency='currency', digits='currency',
        required=True, readonly=True)
    reserved = Monetary(
        "Reserved", currency='currency', digits='currency',
        required=True, readonly=True,
        help="Held by charges not yet confirmed.")
    spent = Monetary(
        "Spent", currency='currency', digits='currency',
        required=True, readonly=True)
    available = fields.Function(Monetary(
            "Available", currency='currency', digits='currency'),
        'get_available')
    moves = fields.One2Many(
        'hb.budget.move', 'line', "Ledger", readonly=True)
    daily_rate = fields.Function(Monetary(
            "Daily Rate", currency='currency', digits='currency',
            help="The average amount used per day so far."),
        'get_forecast')
    forecast_exhaustion_date = fields.Function(fields.Date(
            "Forecast Exhaustion Date",
            help="At the current pace, the date the line runs out."),
        'get_forecast')
    forecast_unused = fields.Function(Monetary(
            "Forecast Unused", currency='currency', digits='currency',
            help="At the current pace, the amount left unused "
            "at the end of the period."),
        'get_forecast')
    low_balance = fields.Function(
        fields.Boolean("Low Balance",
            help="The available amount is below the warning percentage "
            "of the settings."),
        'get_low_balance')
    month_left = fields.Function(Monetary(
            "Left This Month", currency='currency', digits='currency',
            help="What can still be used in the current calendar month, "
            "when the line has a monthly limit."),
        'get_month_left')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('budget')
        t = cls.__table__()
        cls._sql_constraints += [
            ('category_unique',
                Exclude(t, (t.budget, Equal), (t.category, Equal)),
                'hb_budget.msg_budget_line_category_unique'),
            ]
        cls._order.insert(0, ('budget', 'ASC'))

    @classmethod
    def default_reserved(cls):
        return ZERO

    @classmethod
    def default_spent(cls):
        return ZERO

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('low_balance', False), 'warning', '')),
            ]

    @fields.depends('budget', '_parent_budget.currency')
    def on_change_with_currency(self, name=None):
        return self.budget.currency if self.budget else None

    def get_rec_name(self, name):
        return '%s: %s' % (self.budget.rec_name, self.category.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('budget.rec_name', operator, operand, *extra),
            ('category.rec_name', operator, operand, *extra),
            ]

    def get_available(self, name):
        return self.amount - self.reserved - self.spent

    @classmethod
    def get_forecast(cls, lines, names):
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        result = {n: {} for n in names}
        for line in lines:
            budget = line.budget
            values = dict(zip(
                    ['daily_rate', 'forecast_exhaustion_date',
                        'forecast_unused'],
                    forecast(line.amount, line.reserved, line.spent,
                        budget.start_date, budget.end_date, today)))
            for name in ['daily_rate', 'forecast_unused']:
                if values[name] is not None:
                    values[name] = budget.currency.round(values[name])
            for name in names:
                result[name][line.id] = values[name]
        return result

    @classmethod
    def get_month_left(cls, lines, name):
        """Return what is left this month per line id: None when the line
        has no monthly limit (a module with monthly limits overrides
        this)"""
        return {line.id: None for line in lines}

    def get_low_balance(self, name):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        percentage = Configuration.get_values(
            ['low_balance_percentage'])['low_balance_percentage'] or 0
        return bool(self.amount) and (
            self.available * 100 < self.amount * percentage)

    @classmethod
    def _hb_access_clients(cls, ids):
        pool = Pool()
        Budget = pool.get('hb.budget')
        table = cls.__table__()
        budget = Budget.__table__()
        cursor = Transaction().connection.cursor()
        pairs = []
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.join(budget,
                    condition=table.budget == budget.id
                    ).select(table.id, budget.client,
                    where=table.id.in_(list(sub_ids))))
            pairs.extend(cursor)
        return pairs

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode == 'write' and (
                {'reserved', 'spent', 'budget', 'category'} & set(values)
                and not (Transaction().context.get('_hb_budget_ledger')
                    and set(values) <= {'reserved', 'spent'})):
            raise BudgetModificationError(gettext(
                    'hb_budget.msg_budget_line_figures'))
        if mode == 'delete':
            for line in lines:
                if line.reserved or line.spent:
                    raise BudgetModificationError(gettext(
                            'hb_budget.msg_budget_line_delete',
                            line=line.rec_name))

    # The spending interface. Each method locks the line row (SELECT ...
    # FOR UPDATE), re-reads its figures, checks them and updates them in
    # SQL, then writes the ledger; on error nothing is changed.
    # Concurrency: a second transaction waits for the lock. Tryton runs
    # PostgreSQL transactions in REPEATABLE READ, so when the first one
    # commits a change of the row, the second fails to serialize
    # (DatabaseOperationalError) and Tryton's request dispatcher (and the
    # cron and queue workers) retry it from the start: it then reads the
    # new figures. Callers outside those must retry the same way.

    @classmethod
    def reserve(cls, line, amount, origin=None, date=None):
        "Hold amount of the available amount of line"
        return cls._update('reserve', line, amount, origin=origin, date=date)

    @classmethod
    def release(cls, line, amount, origin=None, date=None):
        "Give back to the available amount a held amount of line"
        return cls._update('release', line, amount, origin=origin, date=date)

    @classmethod
    def capture(cls, line, amount, origin=None, date=None):
        "Turn a held amount of line into spent"
        return cls._update('capture', line, amount, origin=origin, date=date)

    @classmethod
    def refund(cls, line, amount, origin=None, date=None):
        "Give back to the available amount a spent amount of line"
        return cls._update('refund', line, amount, origin=origin, date=date)

    @classmethod
    def _lock(cls, line_id):
        """Lock the line row (and share-lock its budget row) then return
        the stored figures and the budget's state and period"""
        pool = Pool()
        Budget = pool.get('hb.budget')
        transaction = Transaction()
        database = transaction.database
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        budget = Budget.__table__()

        query = table.select(
            table.amount, table.reserved, table.spent, table.budget,
            where=table.id == line_id)
        if database.has_select_for():
            query.for_ = For('UPDATE')
        cursor.execute(*query)
        row = cursor.fetchone()
        if not row:
            return None
        amount, reserved, spent, budget_id = row
        query = budget.select(
            budget.state, budget.start_date, budget.end_date,
            where=budget.id == budget_id)
        if database.has_select_for():
            query.for_ = For('SHARE')
        cursor.execute(*query)
        state, start_date, end_date = cursor.fetchone()
        if isinstance(start_date, str):
            start_date = dt.date.fromisoformat(start_date)
        if isinstance(end_date, str):
            end_date = dt.date.fromisoformat(end_date)
        return {
            'amount': _decimal(amount),
            'reserved': _decimal(reserved),
            'spent': _decimal(spent),
            'state': state,
            'start_date': start_date,
            'end_date': end_date,
            }

    @classmethod
    def _update(cls, kind, line, amount, origin=None, date=None,
            check_state=True):
        pool = Pool()
        Date = pool.get('ir.date')
        Move = pool.get('hb.budget.move')
        transaction = Transaction()

        line = cls(int(line))
        currency = line.budget.currency
        if date is None:
            date = Date.today()
        if origin is not None and not isinstance(origin, str):
            origin = str(origin)
        if (not isinstance(amount, (Decimal, int))
                or amount <= 0
                or currency.round(Decimal(amount)) != amount):
            raise BudgetAmountError(gettext(
                    'hb_budget.msg_budget_amount_invalid',
                    amount=amount, line=line.rec_name))
        amount = Decimal(amount)

        figures = cls._lock(line.id)
        if check_state and figures['state'] != 'active':
            raise BudgetStateError(gettext(
                    'hb_budget.msg_budget_not_active',
                    budget=line.budget.rec_name,
                    state=line.budget.state_string))
        if kind == 'reserve' and not (
                figures['start_date'] <= date <= figures['end_date']):
            raise BudgetPeriodError(gettext(
                    'hb_budget.msg_budget_date_outside',
                    date=date, budget=line.budget.rec_name,
                    start_date=figures['start_date'],
                    end_date=figures['end_date']))

        reserved, spent = figures['reserved'], figures['spent']
        available = figures['amount'] - reserved - spent
        if kind == 'reserve':
            if amount > available:
                raise BudgetInsufficientError(gettext(
                        'hb_budget.msg_budget_insufficient_available',
                        amount=amount, available=available,
                        line=line.rec_name))
            reserved += amount
        elif kind in {'release', 'capture'}:
            if amount > reserved:
                raise BudgetInsufficientError(gettext(
                        'hb_budget.msg_budget_insufficient_reserved',
                        amount=amount, reserved=reserved,
                        line=line.rec_name))
            reserved -= amount
            if kind == 'capture':
                spent += amount
        elif kind == 'refund':
            if amount > spent:
                raise BudgetInsufficientError(gettext(
                        'hb_budget.msg_budget_insufficient_spent',
                        amount=amount, spent=spent, line=line.rec_name))
            spent -= amount
        else:
            raise ValueError(kind)

        # Through the ORM (it keeps the transaction's caches right); the
        # figures are written by these methods only (check_modification)
        with Transaction().set_context(_hb_budget_ledger=True), \
                without_check_access():
            cls.write([line], {'reserved': reserved, 'spent': spent})

        return Move(cls._insert_move({
                    'line': line.id,
                    'budget': line.budget.id,
                    'kind': kind,
                    'amount': amount,
                    'origin': origin,
                    'date': date,
                    'user': transaction.user,
                    'reserved_after': reserved,
                    'spent_after': spent,
                    }))

    @classmethod
    def _insert_move(cls, values):
        """Insert the ledger entry of values (field: value) in one INSERT
        into the ledger's own table and return its id.

        The row is the one Move.create stores (test_ledger_move_as_orm
        compares them and validates it), without the ORM's validation of
        the new record, which cost as much as the rest of a ledger update:
        what it checks holds by construction here (the line and its
        budget exist and are locked, the kind is one of MOVE_KINDS, the
        amount has the currency's digits, the date is set). An entry is
        never written nor deleted (BudgetMove.check_modification): no
        record of it can be cached before it exists."""
        pool = Pool()
        Move = pool.get('hb.budget.move')
        assert Move.__name__.startswith('hb.'), Move.__name__
        transaction = Transaction()
        database = transaction.database
        cursor = transaction.connection.cursor()
        table = Move.__table__()
        names = list(values)
        columns = [table.create_uid, table.create_date] + [
            getattr(table, name) for name in names]
        row = [transaction.user, CurrentTimestamp()] + [
            Move._fields[name].sql_format(values[name]) for name in names]
        if database.has_returning():
            cursor.execute(*table.insert(columns, [row], [table.id]))
            return cursor.fetchone()[0]
        cursor.execute(*table.insert(columns, [row]))
        return database.lastid(cursor)


class BudgetMove(CheckedExportMixin, ModelSQL, ModelView):
    __name__ = 'hb.budget.move'
    __string__ = "Personal Budget Ledger Entry"

    line = fields.Many2One(
        'hb.budget.line', "Budget Line", required=True, readonly=True,
        ondelete='RESTRICT')
    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True,
        ondelete='RESTRICT')
    category = fields.Function(
        fields.Many2One('hb.service.category', "Service Category"),
        'get_category')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    kind = fields.Selection(MOVE_KINDS, "Kind", required=True, readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    origin = fields.Char(
        "Origin", size=100, readonly=True,
        help="What caused the change, e.g. a charge (model,id).")
    date = fields.Date("Date", required=True, readonly=True)
    user = fields.Many2One(
        'res.user', "User", readonly=True, ondelete='RESTRICT')
    timestamp = fields.Function(
        fields.Timestamp("Timestamp"), 'get_timestamp')
    reserved_after = Monetary(
        "Reserved After", currency='currency', digits='currency',
        readonly=True)
    spent_after = Monetary(
        "Spent After", currency='currency', digits='currency',
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('budget')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.line, Index.Range()), (t.date, Index.Range())),
                Index(t, (t.origin, Index.Equality())),
                })
        cls._order = [('id', 'DESC')]

    def get_category(self, name):
        return self.line.category.id

    def get_currency(self, name):
        return self.budget.currency.id

    def get_timestamp(self, name):
        return self.create_date

    @classmethod
    def check_modification(cls, mode, moves, values=None, external=False):
        super().check_modification(
            mode, moves, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise BudgetModificationError(gettext(
                    'hb_budget.msg_budget_move_readonly'))


class BudgetSpending(ModelSQL, ModelView):
    __name__ = 'hb.budget.spending'
    __string__ = "Personal Budget Spending"

    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True)
    client = fields.Many2One('party.party', "Client", readonly=True)
    category = fields.Many2One(
        'hb.service.category', "Service Category", readonly=True)
    month = fields.Char("Month", size=10, readonly=True)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    amount = Monetary(
        "Spent", currency='currency', digits='currency', readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('budget')
        cls._order = [
            ('month', 'DESC'), ('category', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Move = pool.get('hb.budget.move')
        Line = pool.get('hb.budget.line')
        Budget = pool.get('hb.budget')
        move = Move.__table__()
        line = Line.__table__()
        budget = Budget.__table__()
        spending = move.join(line, condition=move.line == line.id
            ).join(budget, condition=line.budget == budget.id
            ).select(
                move.id.as_('id'),
                move.budget.as_('budget'),
                budget.client.as_('client'),
                line.category.as_('category'),
                ToChar(move.date, 'YYYY-MM').as_('month'),
                Case(
                    (move.kind == 'refund', -move.amount),
                    else_=move.amount).as_('amount'),
                where=move.kind.in_(['capture', 'refund']))
        return spending.select(
            Min(spending.id).as_('id'),
            spending.budget.as_('budget'),
            spending.client.as_('client'),
            spending.category.as_('category'),
            spending.month.as_('month'),
            Sum(spending.amount).as_('amount'),
            group_by=[
                spending.budget, spending.client, spending.category,
                spending.month])

    def get_currency(self, name):
        return self.budget.currency.id


