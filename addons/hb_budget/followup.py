# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Follow-up that warns (issue 13, item 6).

A scheduled task looks at every active budget once a day and records a
follow-up warning when

- at the current pace the budget runs out before its period ends (the
  budget's forecast),
- its balance is low (a line below the settings' low balance percentage),
- its use is far below the plan: once a fifth of the period has passed, the
  share of the budget used is below the settings' percentage of the share
  of the period elapsed.

A warning of a kind is recorded once per budget and calendar month. The
warnings are the own-worker's caseload list (filtered and sorted by kind
and date); the client is told per the settings (a page notice here, an SMS
through hb_voucher's outbox)."""
import datetime as dt
from decimal import Decimal

from sql.operators import Equal
from trytond.model import Exclude, Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .budget import forecast

KINDS = [
    ('exhaustion', "Runs Out Before the Period Ends"),
    ('low_balance', "Low Balance"),
    ('underuse', "Spending Far Below the Plan"),
    ]
SENT = [
    ('none', "Not Sent"),
    ('page', "Client Page"),
    ('sms', "SMS"),
    ]
NOTIFY = [
    ('none', "No"),
    ('page', "Client Page Notice"),
    ('sms', "SMS"),
    ]
# the share of the period that must have passed before underuse is warned
UNDERUSE_MIN_ELAPSED = Decimal('0.2')


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    followup_underuse_percentage = fields.Numeric(
        "Spending Far Below the Plan", digits=(5, 2), required=True,
        domain=[
            ('followup_underuse_percentage', '>=', 0),
            ('followup_underuse_percentage', '<=', 100),
            ],
        help="Warn when the share of a budget used is below this "
        "percentage of the share of its period elapsed (once a fifth of "
        "the period has passed).")
    followup_notify_client = fields.Selection(
        NOTIFY, "Notify the Client", required=True, sort=False,
        help="How the client is told of a follow-up warning.")

    @classmethod
    def default_followup_underuse_percentage(cls):
        return Decimal('50.00')

    @classmethod
    def default_followup_notify_client(cls):
        return 'page'


class Budget(metaclass=PoolMeta):
    __name__ = 'hb.budget'

    followup_notices = fields.One2Many(
        'hb.budget.notice', 'budget', "Follow-up Warnings", readonly=True)

    def get_followup_kinds(self, date):
        "Return the kinds of follow-up warning of the budget on date"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        config = Configuration(1)
        kinds = []
        if not (self.start_date <= date <= self.end_date) or not self.amount:
            return kinds
        _, exhaustion, _ = forecast(self.amount, self.reserved, self.spent,
            self.start_date, self.end_date, date)
        if exhaustion is not None and exhaustion < self.end_date:
            kinds.append('exhaustion')
        if self.low_balance:
            kinds.append('low_balance')
        period = (self.end_date - self.start_date).days + 1
        elapsed = Decimal((date - self.start_date).days + 1) / period
        used = (self.reserved + self.spent) / self.amount
        percentage = config.followup_underuse_percentage or 0
        if (elapsed >= UNDERUSE_MIN_ELAPSED
                and used * 100 < elapsed * percentage):
            kinds.append('underuse')
        return kinds


class Notice(ModelSQL, ModelView):
    __name__ = 'hb.budget.notice'
    __string__ = "Follow-up Warning"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True,
        ondelete='CASCADE')
    client = fields.Many2One(
        'party.party', "Client", required=True, readonly=True,
        ondelete='RESTRICT',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    own_worker = fields.Many2One(
        'res.user', "Own-Worker", readonly=True, ondelete='SET NULL',
        help="The client's own-worker when the warning was recorded.")
    kind = fields.Selection(
        KINDS, "Warning", required=True, readonly=True, sort=False)
    kind_string = kind.translated('kind')
    date = fields.Date("Date", required=True, readonly=True)
    month = fields.Date(
        "Month", required=True, readonly=True,
        help="The first day of the month of the warning: a warning of a "
        "kind is recorded once per budget and month.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    available = Monetary(
        "Available", currency='currency', digits='currency', readonly=True)
    forecast_exhaustion_date = fields.Date(
        "Forecast Exhaustion Date", readonly=True)
    end_date = fields.Date("Period End", readonly=True)
    sent = fields.Selection(
        SENT, "Client Notified", required=True, readonly=True, sort=False)
    handled = fields.Boolean(
        "Handled", help="Check when the warning has been dealt with.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('budget_kind_month_unique',
                Exclude(t, (t.budget, Equal), (t.kind, Equal),
                    (t.month, Equal)),
                'hb_budget.msg_notice_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.budget, Index.Range()), (t.month, Index.Range())),
                Index(t, (t.own_worker, Index.Range()),
                    (t.handled, Index.Equality(cardinality='low'))),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_sent(cls):
        return 'none'

    @classmethod
    def default_handled(cls):
        return False

    def get_currency(self, name):
        return self.budget.currency.id

    def get_rec_name(self, name):
        return '%s: %s (%s)' % (
            self.client.rec_name, self.kind_string, self.date)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('client.rec_name',) + tuple(clause[1:])]

    @classmethod
    def run_followup(cls, date=None):
        """Record the follow-up warnings of the active budgets on date
        (today) not yet recorded this month, and notify the clients.
        Return the new warnings."""
        pool = Pool()
        Budget = pool.get('hb.budget')
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        month = date.replace(day=1)
        budgets = Budget.search([
                ('state', '=', 'active'),
                ('start_date', '<=', date),
                ('end_date', '>=', date),
                ])
        existing = {(n.budget.id, n.kind) for n in cls.search([
                    ('month', '=', month),
                    ('budget', 'in', [b.id for b in budgets]),
                    ])}
        notices = []
        for budget in budgets:
            for kind in budget.get_followup_kinds(date):
                if (budget.id, kind) in existing:
                    continue
                _, exhaustion, _ = forecast(
                    budget.amount, budget.reserved, budget.spent,
                    budget.start_date, budget.end_date, date)
                notices.append(cls(
                        company=budget.company, budget=budget,
                        client=budget.client,
                        own_worker=budget.client.hb_own_worker,
                        kind=kind, date=date, month=month,
                        available=budget.available,
                        forecast_exhaustion_date=exhaustion,
                        end_date=budget.end_date, sent='none'))
        cls.save(notices)
        cls.notify(notices)
        return notices

    @classmethod
    def notify(cls, notices):
        """Tell the clients of notices as the settings say: a notice on the
        client page is the warning itself (marked as sent to the page);
        hb_voucher sends the SMS"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        if Configuration(1).followup_notify_client == 'page':
            to_save = [n for n in notices if n.sent == 'none']
            for notice in to_save:
                notice.sent = 'page'
            cls.save(to_save)

    @classmethod
    def page_notices(cls, client, date=None):
        """Return the warnings of client to show on their page: sent to the
        page in the last 31 days, newest first"""
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        return cls.search([
                ('client', '=', int(client)),
                ('sent', '=', 'page'),
                ('date', '>=', date - dt.timedelta(days=31)),
                ], order=[('date', 'DESC'), ('id', 'DESC')])


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _hb_user_rule_models(cls):
        return super()._hb_user_rule_models() | {'hb.budget.notice'}


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('hb.budget.notice|run_followup',
                "Follow Up Personal Budgets"))

