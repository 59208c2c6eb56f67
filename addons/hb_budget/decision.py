# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from dateutil.easter import easter
from dateutil.relativedelta import relativedelta
from sql.operators import Equal
from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.report import Report
from trytond.transaction import Transaction, without_check_access

from .access_log import AccessLogMixin
from .exceptions import (
    AmountError,
    DecisionAuthorityError,
    DecisionError,
    DecisionModificationError,
    DecisionReasonsError,
    DecisionSendingError,
    DecisionTotalError,
    PeriodError,
)
from .letter_pdf import archive_report
from .validation import AmountCheckMixin

STATES = [
    ('draft', "Draft"),
    ('proposed', "Proposed"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ('cancelled', "Cancelled"),
    ]
LEVELS = [
    (None, ""),
    ('own_worker', "Own-Worker"),
    ('supervisor', "Supervisor"),
    ('service_manager', "Service Manager"),
    ('team', "Multi-Professional Team"),
    ]
VALUE_METHODS = [
    ('cost', "Cost of the Replaced Services"),
    ('manual', "Justified Manual Amount"),
    ]
CONTENT_FIELDS = {
    'company', 'client', 'plan', 'start_date', 'end_date', 'value_method',
    'amount', 'justification', 'lines', 'supersedes',
    }
OUTCOMES = [
    (None, ""),
    ('granted', "Granted"),
    ('partly_granted', "Partly Granted"),
    ('amended', "Amended"),
    ('ended', "Ended"),
    ('rejected', "Rejected"),
    ]
# outcomes that refuse or narrow what was asked: reasons are required
# (Hallintolaki 434/2003 45 §)
NEGATIVE_OUTCOMES = {'partly_granted', 'ended', 'rejected'}
SENDING_METHODS = [
    (None, ""),
    ('post', "Post"),
    ('e_delivery', "Electronic Delivery"),
    ('handed_over', "Handed Over"),
    ]
# the day the client is deemed notified, counted from the sending date:
# by post the 7th day (Hallintolaki 59 §), by electronic delivery the 3rd
# day (Laki sähköisestä asioinnista viranomaistoiminnassa 13/2003 19 §)
NOTIFICATION_DAYS = {'post': 7, 'e_delivery': 3, 'handed_over': 0}
RECTIFICATION_DAYS = 30
# fields that may still be written once a decision is approved or rejected
SENDING_FIELDS = {'sending_method', 'sent_date', 'notified_date', 'letter'}


def notification_date(sent_date, method):
    "Return the day the client is deemed notified of a sent letter"
    if not sent_date or not method:
        return None
    return sent_date + dt.timedelta(days=NOTIFICATION_DAYS[method])


def finnish_holiday(date):
    """Return whether the date is a Saturday, Sunday or a day a time limit
    does not end on (Laki säädettyjen määräaikain laskemisesta 150/1930
    5 §): the public holidays, Independence Day, Christmas Eve, Midsummer
    Eve and May Day"""
    if date.weekday() >= 5:
        return True
    if (date.month, date.day) in {
            (1, 1), (1, 6), (5, 1), (12, 6), (12, 24), (12, 25), (12, 26)}:
        return True
    sunday = easter(date.year)
    if date in {sunday - dt.timedelta(days=2), sunday + dt.timedelta(days=1),
            sunday + dt.timedelta(days=39)}:
        return True
    # Midsummer Eve: the Friday between 19 and 25 June
    if date.month == 6 and 19 <= date.day <= 25 and date.weekday() == 4:
        return True
    return False


def rectification_deadline(notified_date):
    """Return the last day for a rectification request: 30 days from the
    notification, moved to the next working day (Hallintolaki 49 c §)"""
    if not notified_date:
        return None
    deadline = notified_date + dt.timedelta(days=RECTIFICATION_DAYS)
    while finnish_holiday(deadline):
        deadline += dt.timedelta(days=1)
    return deadline


def period_months(start_date, end_date):
    """Return the length of the period in months as a Decimal:
    whole calendar months plus the remaining days as thirtieths"""
    if not start_date or not end_date or end_date < start_date:
        return None
    delta = relativedelta(end_date + dt.timedelta(days=1), start_date)
    months = Decimal(delta.years * 12 + delta.months) + (
        Decimal(delta.days) / Decimal(30))
    return months.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP)


class Decision(
        AmountCheckMixin, AccessLogMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'hb.decision'
    __string__ = "Personal Budget Decision"
    _rec_name = 'number'
    _hb_positive_fields = ('amount',)

    _states = {
        'readonly': Eval('state') != 'draft',
        }

    number = fields.Char("Number", size=50, readonly=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    client = fields.Many2One(
        'party.party', "Client", required=True, ondelete='RESTRICT',
        domain=[('hb_client', '=', True)], states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    plan = fields.Many2One(
        'hb.plan', "Client Plan", required=True, ondelete='RESTRICT',
        domain=[
            ('client', '=', Eval('client', -1)),
            ('state', '=', 'agreed'),
            ],
        states=_states,
        help="The agreed client plan the decision is based on.")
    language = fields.Many2One(
        'ir.lang', "Letter Language", states=_states,
        domain=[('translatable', '=', True)],
        help="The language of the decision letter.")
    start_date = fields.Date("Start Date", required=True, states=_states)
    end_date = fields.Date("End Date", required=True, states=_states)
    months = fields.Function(fields.Numeric(
            "Months", digits=(16, 2),
            help="The length of the period in months."),
        'on_change_with_months')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    value_method = fields.Selection(
        VALUE_METHODS, "Value Set From", required=True, states=_states,
        help="How the amount was set: from what the replaced services "
        "cost the wellbeing area, or a justified manual amount.")
    value_method_string = value_method.translated('value_method')
    computed_amount = fields.Function(Monetary(
            "Cost of Replaced Services", currency='currency',
            digits='currency',
            help="Quantity × unit cost of the plan's services "
            "over the period."),
        'on_change_with_computed_amount')
    amount = Monetary(
        "Total Amount", currency='currency', digits='currency',
        required=True, states=_states)
    yearly_amount = fields.Function(Monetary(
            "Yearly Equivalent", currency='currency', digits='currency',
            help="The amount over a year at the same pace; "
            "used for the delegation limits."),
        'on_change_with_yearly_amount')
    justification = fields.Text(
        "Justification", size=10000,
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('value_method') == 'manual',
            },
        help="Why the amount differs from the cost of "
        "the replaced services.")
    lines = fields.One2Many(
        'hb.decision.line', 'decision', "Lines", states=_states,
        help="The amount per service category.")
    required_level = fields.Function(fields.Selection(
            LEVELS, "Required Authority",
            help="Who may approve the decision, "
            "according to the delegation limits of the settings."),
        'get_required_level')
    team_members = fields.Many2Many(
        'hb.decision-res.user', 'decision', 'user', "Team Members",
        states={
            'readonly': ~Eval('state').in_(['draft', 'proposed']),
            'invisible': Eval('required_level') != 'team',
            },
        help="The professionals of the multi-professional team "
        "who made the decision.")
    approval_level = fields.Selection(
        LEVELS, "Approved As", readonly=True)
    approved_by = fields.Many2One(
        'res.user', "Decided By", readonly=True, ondelete='RESTRICT')
    approval_date = fields.Date("Decision Date", readonly=True)
    rejection_reason = fields.Text(
        "Rejection Reason", size=5000,
        states={
            'readonly': Eval('state') != 'proposed',
            'invisible': ~Eval('state').in_(['proposed', 'rejected']),
            })
    outcome = fields.Selection(
        OUTCOMES, "Outcome", sort=False,
        states={
            'readonly': ~Eval('state').in_(['draft', 'proposed']),
            },
        help="What is decided: granted, partly granted, amended (replacing "
        "a decision), ended or rejected.\n"
        "Leave empty to grant (or amend, when the decision supersedes "
        "another); rejecting sets it.")
    outcome_string = outcome.translated('outcome')
    reasons = fields.Text(
        "Reasons", size=10000,
        states={
            'readonly': ~Eval('state').in_(['draft', 'proposed']),
            },
        help="Why the decision is what it is, printed on the letter.\n"
        "Required when the application is rejected or partly granted or "
        "the budget is ended (Hallintolaki 434/2003 45 §).")
    preparer = fields.Many2One(
        'res.user', "Prepared By", ondelete='RESTRICT',
        states={
            'readonly': ~Eval('state').in_(['draft', 'proposed']),
            },
        help="The official who prepared the decision (esittelijä).")
    contact = fields.Many2One(
        'res.user', "Contact Person", ondelete='RESTRICT',
        states={
            'readonly': ~Eval('state').in_(['draft', 'proposed']),
            },
        help="Who gives more information on the decision "
        "(Hallintolaki 44 §); by default the client's own-worker.")
    decider_title = fields.Char(
        "Decider's Title", size=200,
        states={
            'readonly': ~Eval('state').in_(['draft', 'proposed']),
            },
        help="The title of the official who decides, printed on the "
        "letter.\nLeave empty to use the authority level.")
    sending_method = fields.Selection(
        SENDING_METHODS, "Sending Method", sort=False,
        states={
            'readonly': Bool(Eval('sent_date')),
            },
        help="How the letter is given to the client: by post the client "
        "is deemed notified on the 7th day after sending, by electronic "
        "delivery on the 3rd day.")
    sending_method_string = sending_method.translated('sending_method')
    sent_date = fields.Date("Sending Date", readonly=True)
    notified_date = fields.Date(
        "Notification Date",
        states={
            'readonly': ~Bool(Eval('sent_date')),
            },
        help="The day the client is deemed notified; change it when "
        "shown otherwise (e.g. a later proof of receipt).")
    rectification_deadline = fields.Function(fields.Date(
            "Rectification Deadline",
            help="The last day to request rectification: 30 days from "
            "the notification."),
        'on_change_with_rectification_deadline')
    letter = fields.Many2One(
        'ir.attachment', "Letter", readonly=True, ondelete='SET NULL',
        help="The letter as sent, archived on the decision.")
    supersedes = fields.Many2One(
        'hb.decision', "Supersedes", ondelete='RESTRICT',
        domain=[
            ('client', '=', Eval('client', -1)),
            ('state', '=', 'approved'),
            ('superseded_by', '=', None),
            ],
        states=_states,
        help="The approved decision this one replaces.")
    superseded_by = fields.Many2One(
        'hb.decision', "Superseded By", readonly=True, ondelete='RESTRICT')
    budget = fields.Function(
        fields.Many2One('hb.budget', "Budget"), 'get_budget')
    notes = fields.Text("Notes", size=10000)
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Exclude(t, (t.number, Equal)),
                'hb_budget.msg_decision_number_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.client, Index.Range()),
                    (t.state, Index.Equality(cardinality='low'))),
                Index(t, (t.number, Index.Similarity())),
                })
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'proposed'),
            ('proposed', 'draft'),
            ('proposed', 'approved'),
            ('proposed', 'rejected'),
            ('draft', 'cancelled'),
            ('proposed', 'cancelled'),
            }
        cls._buttons.update({
                'fill_lines': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'propose': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'proposed',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'proposed',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': Eval('state') != 'proposed',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'proposed']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'send': {
                    'invisible': (
                        ~Eval('state').in_(['approved', 'rejected'])
                        | Bool(Eval('sent_date'))),
                    'icon': 'tryton-email',
                    'depends': ['state', 'sent_date'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_value_method(cls):
        return 'cost'

    @classmethod
    def default_preparer(cls):
        return Transaction().user or None

    @classmethod
    def default_sending_method(cls):
        return 'post'

    @fields.depends('notified_date')
    def on_change_with_rectification_deadline(self, name=None):
        return rectification_deadline(self.notified_date)

    @classmethod
    def default_start_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_end_date(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        months = Configuration(1).default_period_months
        return (cls.default_start_date() + relativedelta(months=months)
            - dt.timedelta(days=1))

    @fields.depends('client', 'language', 'contact')
    def on_change_client(self):
        if self.client and self.client.lang:
            self.language = self.client.lang
        if self.client and self.client.hb_own_worker and not self.contact:
            self.contact = self.client.hb_own_worker

    @fields.depends('plan', 'client')
    def on_change_plan(self):
        if self.plan and not self.client:
            self.client = self.plan.client

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @fields.depends('start_date', 'end_date')
    def on_change_with_months(self, name=None):
        months = period_months(self.start_date, self.end_date)
        if months is not None:
            return months.quantize(Decimal('0.01'))

    def _round(self, amount):
        if self.company and self.company.currency:
            return self.company.currency.round(amount)
        return amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)

    @fields.depends('plan', 'start_date', 'end_date', 'company')
    def compute_category_amounts(self):
        """Return {category: amount} of the plan's services over the
        period: quantity per month × unit cost × months"""
        months = period_months(self.start_date, self.end_date)
        if not self.plan or months is None:
            return {}
        monthly = {}
        for service in self.plan.services:
            if service.category and service.quantity and service.unit_cost:
                monthly.setdefault(service.category, Decimal(0))
                monthly[service.category] += (
                    service.quantity * service.unit_cost)
        return {c: self._round(m * months) for c, m in monthly.items()}

    @fields.depends(methods=['compute_category_amounts'])
    def on_change_with_computed_amount(self, name=None):
        amounts = self.compute_category_amounts()
        if amounts:
            return sum(amounts.values(), Decimal(0))

    @fields.depends('amount', 'start_date', 'end_date', 'company')
    def on_change_with_yearly_amount(self, name=None):
        months = period_months(self.start_date, self.end_date)
        if self.amount is None or not months:
            return None
        return self._round(self.amount * 12 / months)

    @fields.depends(methods=['on_change_with_yearly_amount'])
    def get_required_level(self, name=None):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        config = Configuration(1)
        yearly = self.on_change_with_yearly_amount()
        if yearly is None:
            return None
        if yearly <= config.own_worker_limit:
            return 'own_worker'
        elif yearly <= config.supervisor_limit:
            return 'supervisor'
        elif yearly <= config.service_manager_limit:
            return 'service_manager'
        return 'team'

    @classmethod
    def get_budget(cls, decisions, name):
        pool = Pool()
        Budget = pool.get('hb.budget')
        result = {d.id: None for d in decisions}
        with without_check_access():
            budgets = Budget.search([
                    ('decision', 'in', [d.id for d in decisions]),
                    ])
        for budget in budgets:
            result[budget.decision.id] = budget.id
        return result

    def get_rec_name(self, name):
        number = self.number or '(%s)' % self.id
        return '%s %s' % (number, self.client.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('client.rec_name', operator, operand, *extra),
            ]

    @classmethod
    def hb_check_amounts(cls, vlist):
        super().hb_check_amounts(vlist)
        cls.check_clients(vlist)

    @classmethod
    def check_clients(cls, vlist):
        """Refuse a decision for a party who is not an HB client with what
        to do, before the client field's domain and the access rules"""
        pool = Pool()
        Party = pool.get('party.party')
        ids = {v['client'] for v in vlist if v.get('client') is not None}
        if not ids:
            return
        with without_check_access():
            for party in Party.browse(list(ids)):
                if not party.hb_client:
                    raise DecisionError(gettext(
                            'hb_budget.msg_decision_client_not_hb',
                            party=party.rec_name))

    @classmethod
    def validate_fields(cls, decisions, field_names):
        super().validate_fields(decisions, field_names)
        cls.check_period(decisions, field_names)
        cls.check_amount(decisions, field_names)

    @classmethod
    def check_period(cls, decisions, field_names=None):
        if field_names and not (field_names & {'start_date', 'end_date'}):
            return
        for decision in decisions:
            if decision.end_date < decision.start_date:
                raise PeriodError(gettext(
                        'hb_budget.msg_period_end_before_start',
                        start_date=decision.start_date,
                        end_date=decision.end_date,
                        record=decision.rec_name))

    @classmethod
    def check_amount(cls, decisions, field_names=None):
        if field_names and 'amount' not in field_names:
            return
        for decision in decisions:
            if decision.amount <= 0:
                raise AmountError(gettext(
                        'hb_budget.msg_amount_positive',
                        field=cls.fields_get(['amount'])['amount']['string'],
                        record=decision.rec_name))

    @classmethod
    def check_modification(cls, mode, decisions, values=None, external=False):
        super().check_modification(
            mode, decisions, values=values, external=external)
        if mode == 'write':
            changed = set(values)
            for decision in decisions:
                if decision.state in {'approved', 'rejected', 'cancelled'}:
                    if decision.state == 'approved' and (
                            changed <= {'superseded_by'}):
                        continue
                    if decision.state in {'approved', 'rejected'} and (
                            changed <= SENDING_FIELDS):
                        continue
                    raise DecisionModificationError(gettext(
                            'hb_budget.msg_decision_modify_closed',
                            decision=decision.rec_name,
                            state=decision.state_string))
                if (decision.state == 'proposed'
                        and changed & CONTENT_FIELDS):
                    raise DecisionModificationError(gettext(
                            'hb_budget.msg_decision_modify_proposed',
                            decision=decision.rec_name))
        elif mode == 'delete':
            for decision in decisions:
                if decision.state not in {'draft', 'cancelled'} or (
                        decision.number):
                    raise DecisionModificationError(gettext(
                            'hb_budget.msg_decision_delete',
                            decision=decision.rec_name))

    @classmethod
    def copy(cls, decisions, default=None):
        default = default.copy() if default is not None else {}
        for name in ['number', 'approval_level', 'approved_by',
                'approval_date', 'rejection_reason', 'superseded_by',
                'team_members', 'sent_date', 'notified_date', 'letter',
                'decider_title']:
            default.setdefault(name)
        default.setdefault('state', 'draft')
        return super().copy(decisions, default=default)

    def check_content(self):
        "Check the decision is complete and consistent"
        if not self.plan or self.plan.state != 'agreed' or (
                self.plan.client != self.client):
            raise DecisionError(gettext(
                    'hb_budget.msg_decision_plan_not_agreed',
                    decision=self.rec_name))
        # (a gate unless the client's groups take the criteria as guidance)
        if not self.plan.criteria_met():
            raise DecisionError(gettext(
                    'hb_budget.msg_decision_plan_not_eligible',
                    decision=self.rec_name, plan=self.plan.rec_name))
        if self.end_date < self.start_date:
            raise PeriodError(gettext(
                    'hb_budget.msg_period_end_before_start',
                    start_date=self.start_date, end_date=self.end_date,
                    record=self.rec_name))
        if self.amount is None or self.amount <= 0:
            raise AmountError(gettext(
                    'hb_budget.msg_amount_positive',
                    field=self.__class__.fields_get(
                        ['amount'])['amount']['string'],
                    record=self.rec_name))
        if not self.lines:
            raise DecisionTotalError(gettext(
                    'hb_budget.msg_decision_no_lines',
                    decision=self.rec_name))
        total = sum((line.amount for line in self.lines), Decimal(0))
        if total != self.amount:
            raise DecisionTotalError(gettext(
                    'hb_budget.msg_decision_lines_total',
                    decision=self.rec_name, lines=total,
                    amount=self.amount))
        if self.value_method == 'cost':
            computed = self.on_change_with_computed_amount()
            if computed != self.amount:
                raise DecisionError(gettext(
                        'hb_budget.msg_decision_cost_mismatch',
                        decision=self.rec_name, amount=self.amount,
                        computed=computed if computed is not None else 0))
        elif not (self.justification or '').strip():
            raise DecisionError(gettext(
                    'hb_budget.msg_decision_justification_required',
                    decision=self.rec_name))
        if self.supersedes and (
                self.supersedes.client != self.client
                or self.supersedes.state != 'approved'
                or self.supersedes.superseded_by):
            raise DecisionError(gettext(
                    'hb_budget.msg_decision_supersede_invalid',
                    decision=self.rec_name,
                    superseded=self.supersedes.rec_name))
        self.check_overlap()

    def check_overlap(self):
        "Check no other budget of the client covers part of the period"
        pool = Pool()
        Budget = pool.get('hb.budget')
        domain = [
            ('client', '=', self.client.id),
            ('state', '!=', 'closed'),
            ('start_date', '<=', self.end_date),
            ('end_date', '>=', self.start_date),
            ]
        if self.supersedes:
            domain.append(('decision', '!=', self.supersedes.id))
        with without_check_access():
            budgets = Budget.search(domain, limit=1)
        if budgets:
            raise DecisionError(gettext(
                    'hb_budget.msg_decision_overlap',
                    decision=self.rec_name, budget=budgets[0].rec_name))

    def check_authority(self):
        """Check the user may approve or reject the decision and return
        the level of authority used (of a decision saved or not)"""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        Configuration = pool.get('hb.configuration')
        transaction = Transaction()
        level = self.get_required_level()
        user_id = transaction.user
        if user_id == 0:
            return level
        groups = set(User.get_groups())

        def member(name):
            return ModelData.get_id('hb_budget', name) in groups

        if level == 'own_worker':
            allowed = member('group_hb_supervisor') or (
                member('group_hb_own_worker')
                and self.client.hb_own_worker
                and self.client.hb_own_worker.id == user_id)
        elif level == 'supervisor':
            allowed = member('group_hb_supervisor')
        elif level == 'service_manager':
            allowed = member('group_hb_service_manager')
        else:
            config = Configuration(1)
            members = {u.id for u in self.team_members}
            if len(members) < config.team_min_members:
                raise DecisionAuthorityError(gettext(
                        'hb_budget.msg_decision_team_members',
                        decision=self.get_rec_name(None),
                        count=len(members),
                        minimum=config.team_min_members))
            allowed = (member('group_hb_own_worker')
                and (user_id in members
                    or member('group_hb_service_manager')))
        if not allowed:
            raise DecisionAuthorityError(gettext(
                    'hb_budget.msg_decision_no_authority',
                    decision=self.get_rec_name(None),
                    user=User(user_id).rec_name,
                    yearly=self.get_yearly_amount_string(),
                    level=dict(self.__class__.fields_get(
                            ['required_level'])['required_level']
                        ['selection'])[level]))
        return level

    def get_legal_basis(self):
        """Return the legal basis texts for the letter: those set for the
        client's customer groups and the outcome, or the general text"""
        pool = Pool()
        LegalBasis = pool.get('hb.legal.basis')
        Configuration = pool.get('hb.configuration')
        groups = {g.id for g in self.client.hb_customer_groups}
        texts = []
        with without_check_access():
            for basis in LegalBasis.search([]):
                if basis.customer_group and (
                        basis.customer_group.id not in groups):
                    continue
                if basis.outcome and basis.outcome != self.outcome:
                    continue
                text = basis.get_text()
                if text not in texts:
                    texts.append(text)
        if not texts:
            texts.append(Configuration(1).get_letter_text(
                    'letter_legal_basis'))
        return texts

    def get_yearly_amount_string(self):
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        yearly = self.on_change_with_yearly_amount()
        return lang.currency(
            yearly, self.on_change_with_currency()) if yearly else ''

    @classmethod
    @ModelView.button
    def fill_lines(cls, decisions):
        "Set the lines and the total from the cost of the plan's services"
        pool = Pool()
        Line = pool.get('hb.decision.line')
        to_delete, to_save = [], []
        for decision in decisions:
            if decision.state != 'draft':
                continue
            amounts = decision.compute_category_amounts()
            to_delete.extend(decision.lines)
            lines = []
            for category, amount in sorted(
                    amounts.items(), key=lambda i: i[0].rec_name):
                lines.append(Line(
                        decision=decision, category=category,
                        amount=amount))
            to_save.extend(lines)
            decision.amount = sum(amounts.values(), Decimal(0)) or None
        Line.delete(to_delete)
        Line.save(to_save)
        cls.save([d for d in decisions if d.amount])

    @classmethod
    def set_number(cls, decisions):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        sequence = Sequence(
            ModelData.get_id('hb_budget', 'sequence_decision'))
        for decision in decisions:
            if not decision.number:
                with without_check_access():
                    decision.number = sequence.get()
        cls.save(decisions)

    @classmethod
    @ModelView.button
    @Workflow.transition('proposed')
    def propose(cls, decisions):
        for decision in decisions:
            decision.check_content()
            decision.set_letter_defaults()
        cls.set_number(decisions)

    def set_letter_defaults(self):
        "Fill the letter's language, preparer and contact person if empty"
        if not self.language and self.client.lang:
            self.language = self.client.lang
        if not self.preparer and Transaction().user:
            self.preparer = Transaction().user
        if not self.contact and self.client.hb_own_worker:
            self.contact = self.client.hb_own_worker

    def check_outcome(self):
        """Set the outcome of an approval and check it has its reasons
        (Hallintolaki 45 §)"""
        if self.outcome in {None, 'granted', 'amended'}:
            self.outcome = 'amended' if self.supersedes else 'granted'
        if self.outcome == 'rejected':
            raise DecisionError(gettext(
                    'hb_budget.msg_decision_outcome_reject',
                    decision=self.rec_name))
        if self.outcome == 'ended' and not self.supersedes:
            raise DecisionError(gettext(
                    'hb_budget.msg_decision_ended_supersedes',
                    decision=self.rec_name))
        self.check_reasons()

    def check_reasons(self, outcome=None):
        outcome = outcome or self.outcome
        if outcome in NEGATIVE_OUTCOMES and not (
                (self.reasons or '').strip()
                or (self.rejection_reason or '').strip()):
            raise DecisionReasonsError(gettext(
                    'hb_budget.msg_decision_reasons_required',
                    decision=self.rec_name,
                    outcome=dict(self.__class__.fields_get(
                            ['outcome'])['outcome']['selection'])[outcome]))

    def set_decider_title(self):
        """Set the decider's title, if empty, from the highest HB group of
        the decider (or the level of authority used)"""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        if self.decider_title:
            return
        level = self.approval_level
        if self.approved_by and level != 'team':
            with without_check_access():
                groups = {g.id for g in self.approved_by.groups}
            for name, group_level in [
                    ('group_hb_service_manager', 'service_manager'),
                    ('group_hb_supervisor', 'supervisor'),
                    ('group_hb_own_worker', 'own_worker'),
                    ]:
                if ModelData.get_id('hb_budget', name) in groups:
                    level = group_level
                    break
        if level:
            # in the language of the letter
            language = self.language.code if self.language else None
            with Transaction().set_context(language=language):
                self.decider_title = dict(self.__class__.fields_get(
                        ['approval_level'])['approval_level']['selection'])[
                    level]

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, decisions):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, decisions):
        pool = Pool()
        Date = pool.get('ir.date')
        Budget = pool.get('hb.budget')
        today = Date.today()
        user = Transaction().user
        for decision in decisions:
            decision.check_content()
            decision.check_outcome()
            decision.approval_level = decision.check_authority()
            decision.approved_by = user or None
            decision.approval_date = today
            decision.set_letter_defaults()
            decision.set_decider_title()
        cls.save(decisions)

        superseded = []
        with without_check_access():
            budgets = []
            for decision in cls.browse(decisions):
                if decision.supersedes:
                    old = cls(decision.supersedes.id)
                    old.superseded_by = decision
                    superseded.append(old)
                budgets.append(decision._get_budget())
            Budget.save(budgets)
            Budget.create_analytic_accounts(budgets)
            cls.save(superseded)

    def _get_budget(self):
        "Return the budget carrying the decision out (new or superseded)"
        pool = Pool()
        Budget = pool.get('hb.budget')
        Line = pool.get('hb.budget.line')
        budget = None
        if self.supersedes:
            budgets = Budget.search([
                    ('decision', '=', self.supersedes.id),
                    ('state', '!=', 'closed'),
                    ], limit=1)
            if budgets:
                budget, = budgets
        if budget is None:
            budget = Budget(
                company=self.company, client=self.client,
                currency=self.company.currency, state='active', lines=[])
        budget.decision = self
        budget.start_date = self.start_date
        budget.end_date = self.end_date
        lines = {line.category: line for line in budget.lines}
        new_lines = []
        for dline in self.lines:
            line = lines.pop(dline.category, None)
            if line is None:
                line = Line(category=dline.category)
            elif dline.amount < line.reserved + line.spent:
                raise DecisionError(gettext(
                        'hb_budget.msg_decision_supersede_below_used',
                        decision=self.rec_name,
                        category=dline.category.rec_name,
                        used=line.reserved + line.spent))
            line.amount = dline.amount
            new_lines.append(line)
        for line in lines.values():
            if line.reserved or line.spent:
                raise DecisionError(gettext(
                        'hb_budget.msg_decision_supersede_below_used',
                        decision=self.rec_name,
                        category=line.category.rec_name,
                        used=line.reserved + line.spent))
            line.amount = Decimal(0)
            new_lines.append(line)
        budget.lines = new_lines
        return budget

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, decisions):
        pool = Pool()
        Date = pool.get('ir.date')
        for decision in decisions:
            level = decision.check_authority()
            decision.check_reasons(outcome='rejected')
            decision.outcome = 'rejected'
            decision.approval_level = level
            decision.approved_by = Transaction().user or None
            decision.approval_date = Date.today()
            decision.set_letter_defaults()
            decision.set_decider_title()
        cls.save(decisions)

    @classmethod
    @ModelView.button
    def send(cls, decisions):
        """Record the sending of the letters today, compute the day of
        notification and archive the letter as sent on the decision"""
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        to_save = []
        for decision in decisions:
            if decision.state not in {'approved', 'rejected'}:
                raise DecisionSendingError(gettext(
                        'hb_budget.msg_decision_send_state',
                        decision=decision.rec_name,
                        state=decision.state_string))
            if decision.sent_date:
                continue
            if not decision.sending_method:
                raise DecisionSendingError(gettext(
                        'hb_budget.msg_decision_sending_method',
                        decision=decision.rec_name))
            decision.sent_date = today
            decision.notified_date = notification_date(
                today, decision.sending_method)
            to_save.append(decision)
        cls.save(to_save)
        for decision in to_save:
            decision.letter = decision.archive_letter()
        cls.save(to_save)

    def archive_letter(self, report_name='hb.decision.letter'):
        "Render the letter and store it as an attachment of the record"
        return archive_report(report_name, self)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, decisions):
        pass


class DecisionLine(AmountCheckMixin, ModelSQL, ModelView):
    __name__ = 'hb.decision.line'
    __string__ = "Personal Budget Decision Line"
    _hb_positive_fields = ('amount',)

    decision = fields.Many2One(
        'hb.decision', "Decision", required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        ondelete='RESTRICT')
    description = fields.Char("Description", size=500)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('decision')
        t = cls.__table__()
        cls._sql_constraints += [
            ('category_unique',
                Exclude(t, (t.decision, Equal), (t.category, Equal)),
                'hb_budget.msg_decision_line_category_unique'),
            ]

    @fields.depends('decision', '_parent_decision.company')
    def on_change_with_currency(self, name=None):
        if self.decision and self.decision.company:
            return self.decision.company.currency

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if field_names and 'amount' not in field_names:
            return
        for line in lines:
            if line.amount <= 0:
                raise AmountError(gettext(
                        'hb_budget.msg_amount_positive',
                        field=cls.fields_get(['amount'])['amount']['string'],
                        record=line.category.rec_name))

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        for line in lines:
            if line.decision.state != 'draft':
                raise DecisionModificationError(gettext(
                        'hb_budget.msg_decision_modify_closed',
                        decision=line.decision.rec_name,
                        state=line.decision.state_string))


class DecisionTeamMember(ModelSQL):
    __name__ = 'hb.decision-res.user'
    __string__ = "Personal Budget Decision - Team Member"

    decision = fields.Many2One(
        'hb.decision', "Decision", required=True, ondelete='CASCADE')
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('decision')

    @classmethod
    def check_modification(cls, mode, members, values=None, external=False):
        super().check_modification(
            mode, members, values=values, external=external)
        for member in members:
            if member.decision.state not in {'draft', 'proposed'}:
                raise DecisionModificationError(gettext(
                        'hb_budget.msg_decision_modify_closed',
                        decision=member.decision.rec_name,
                        state=member.decision.state_string))


class DecisionLetter(Report):
    __name__ = 'hb.decision.letter'

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        context = super().get_context(records, header, data)

        def letter_text(name):
            with Transaction().set_context(
                    language=Transaction().language):
                return Configuration(1).get_letter_text(name)

        def legal_basis(decision):
            with Transaction().set_context(
                    language=Transaction().language):
                return decision.get_legal_basis()

        context['letter_text'] = letter_text
        context['legal_basis'] = legal_basis
        return context
