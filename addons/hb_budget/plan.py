# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from dateutil.relativedelta import relativedelta
from sql.aggregate import Max
from sql.operators import Equal
from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .access_log import AccessLogMixin
from .exceptions import (
    AmountError,
    PeriodError,
    PlanError,
    PlanModificationError,
)
from .validation import AmountCheckMixin

CRITERIA = [
    ('continuous', "The need is continuous (as a rule over a year)"),
    ('broad', "The need is broad (more than one service)"),
    ('manage', "The client can plan and manage the services, "
        "alone or with support"),
    ('interest', "A personal budget is in the client's interest"),
    ('voluntary', "The client chose a personal budget voluntarily"),
    ('review', "A review at least yearly is agreed"),
    ]
ANSWERS = [
    (None, ""),
    ('yes', "Yes"),
    ('no', "No"),
    ]
STATES = [
    ('draft', "Draft"),
    ('agreed', "Agreed"),
    ('superseded', "Superseded"),
    ('cancelled', "Cancelled"),
    ]


class Plan(AccessLogMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'hb.plan'
    __string__ = "Client Plan"

    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    client = fields.Many2One(
        'party.party', "Client", required=True, ondelete='RESTRICT',
        domain=[('hb_client', '=', True)], states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    own_worker = fields.Function(
        fields.Many2One('res.user', "Own-Worker"), 'get_own_worker')
    version = fields.Integer(
        "Version", readonly=True,
        help="Set on creation: the next version for the client.")
    previous = fields.Many2One(
        'hb.plan', "Previous Version", readonly=True, ondelete='RESTRICT',
        help="The version this plan revises.")
    next_versions = fields.One2Many(
        'hb.plan', 'previous', "Next Versions", readonly=True)
    needs = fields.Text(
        "Needs", size=10000, states=_states,
        help="The service needs assessed with the client.")
    goals = fields.Text(
        "Goals", size=10000, states=_states,
        help="What the client wants to reach with the services.")
    services = fields.One2Many(
        'hb.plan.service', 'plan', "Agreed Services", states=_states)
    checklist = fields.One2Many(
        'hb.plan.criterion', 'plan', "Eligibility Checklist", states=_states,
        help="The criteria of a personal budget, each answered "
        "with a note.")
    eligible = fields.Function(
        fields.Boolean("Eligible",
            help="Every criterion of the checklist is met."),
        'get_eligible')
    valid_from = fields.Date("Valid From", required=True, states=_states)
    valid_to = fields.Date("Valid To", required=True, states=_states)
    next_review = fields.Date(
        "Next Review", required=True, states=_states,
        help="When the plan is reviewed with the client next.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    monthly_cost = fields.Function(Monetary(
            "Monthly Cost", currency='currency', digits='currency',
            help="The cost per month of the agreed services."),
        'get_monthly_cost')
    agreed_date = fields.Date("Agreed Date", readonly=True)
    agreed_by = fields.Many2One(
        'res.user', "Agreed By", readonly=True, ondelete='RESTRICT')
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('client_version_unique',
                Exclude(t, (t.client, Equal), (t.version, Equal),
                    where=t.state != 'cancelled'),
                'hb_budget.msg_plan_version_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.client, Index.Range()), (t.state, Index.Equality())))
        cls._order = [
            ('valid_from', 'DESC'), ('version', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'agreed'),
            ('agreed', 'superseded'),
            ('draft', 'cancelled'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'agree': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                'new_version': {
                    'invisible': Eval('state') != 'agreed',
                    'icon': 'tryton-copy',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('version'):
            values['version'] = cls._next_version(values.get('client'))
        return values

    @classmethod
    def _next_version(cls, client):
        if client is None:
            return 1
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                Max(table.version), where=table.client == int(client)))
        version, = cursor.fetchone()
        return (version or 0) + 1

    @classmethod
    def default_valid_from(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_valid_to(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        months = Configuration(1).default_period_months
        return (cls.default_valid_from() + relativedelta(months=months)
            - relativedelta(days=1))

    @classmethod
    def default_next_review(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        months = Configuration(1).review_interval_months
        return cls.default_valid_from() + relativedelta(months=months)

    @fields.depends('valid_from', 'next_review')
    def on_change_valid_from(self):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        if self.valid_from:
            months = Configuration(1).review_interval_months
            self.next_review = self.valid_from + relativedelta(months=months)

    @classmethod
    def default_checklist(cls):
        return [{'criterion': c} for c, _ in CRITERIA]

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def get_own_worker(self, name):
        worker = self.client.hb_own_worker
        return worker.id if worker else None

    def get_eligible(self, name):
        answered = {c.criterion: c.answer for c in self.checklist}
        return all(answered.get(c) == 'yes' for c, _ in CRITERIA)

    def get_monthly_cost(self, name):
        return sum((s.monthly_cost or 0 for s in self.services),
            self.currency.round(0))

    def get_rec_name(self, name):
        return '%s v%s (%s)' % (
            self.client.rec_name, self.version, self.valid_from)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('client.rec_name',) + tuple(clause[1:])]

    @classmethod
    def validate_fields(cls, plans, field_names):
        super().validate_fields(plans, field_names)
        cls.check_dates(plans, field_names)

    @classmethod
    def check_dates(cls, plans, field_names=None):
        if field_names and not (field_names & {'valid_from', 'valid_to'}):
            return
        for plan in plans:
            if plan.valid_to < plan.valid_from:
                raise PeriodError(gettext(
                        'hb_budget.msg_period_end_before_start',
                        start_date=plan.valid_from, end_date=plan.valid_to,
                        record=plan.rec_name))

    @classmethod
    def check_modification(cls, mode, plans, values=None, external=False):
        super().check_modification(
            mode, plans, values=values, external=external)
        if mode == 'write' and set(values) - {'state'}:
            for plan in plans:
                if plan.state in {'agreed', 'superseded'}:
                    raise PlanModificationError(gettext(
                            'hb_budget.msg_plan_modify_agreed',
                            plan=plan.rec_name))
        if mode == 'delete':
            for plan in plans:
                if plan.state != 'cancelled' and plan.state != 'draft':
                    raise PlanModificationError(gettext(
                            'hb_budget.msg_plan_delete_agreed',
                            plan=plan.rec_name))

    @classmethod
    def copy(cls, plans, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'draft')
        default.setdefault('agreed_date')
        default.setdefault('agreed_by')
        default.setdefault('next_versions')
        return super().copy(plans, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('agreed')
    def agree(cls, plans):
        pool = Pool()
        Date = pool.get('ir.date')
        for plan in plans:
            plan.check_agreement()
        previous = [p.previous for p in plans
            if p.previous and p.previous.state == 'agreed']
        for plan in plans:
            plan.agreed_date = Date.today()
            plan.agreed_by = Transaction().user
        cls.save(plans)
        if previous:
            cls.supersede(previous)

    def check_agreement(self):
        "Check the plan can be agreed: services and a complete checklist"
        if not self.services:
            raise PlanError(gettext(
                    'hb_budget.msg_plan_no_service', plan=self.rec_name))
        for criterion in self.checklist:
            if not (criterion.answer and criterion.note):
                raise PlanError(gettext(
                        'hb_budget.msg_plan_checklist_incomplete',
                        plan=self.rec_name,
                        criterion=criterion.criterion_string))
        if {c for c, _ in CRITERIA} - {c.criterion for c in self.checklist}:
            raise PlanError(gettext(
                    'hb_budget.msg_plan_checklist_missing',
                    plan=self.rec_name))

    @classmethod
    @Workflow.transition('superseded')
    def supersede(cls, plans):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, plans):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, plans):
        pass

    @classmethod
    @ModelView.button_action('hb_budget.act_plan_form')
    def new_version(cls, plans):
        "Create the next version of agreed plans, as drafts"
        new_plans = []
        for plan in plans:
            new_plans.extend(cls.copy([plan], default={
                        'version': None,
                        'previous': plan.id,
                        }))
        return {
            'res_id': [p.id for p in new_plans],
            'views': [
                (None, 'form'),
                ],
            }


class PlanService(AmountCheckMixin, ModelSQL, ModelView):
    __name__ = 'hb.plan.service'
    __string__ = "Client Plan Service"
    _hb_positive_fields = ('quantity', 'unit_cost')

    plan = fields.Many2One(
        'hb.plan', "Plan", required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        ondelete='RESTRICT')
    unit = fields.Function(
        fields.Selection('get_units', "Unit"), 'on_change_with_unit')
    description = fields.Char("Description", size=500)
    quantity = fields.Numeric(
        "Quantity per Month", digits=(16, 2), required=True,
        domain=[('quantity', '>', 0)],
        help="How many units of the service per month.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    unit_cost = Monetary(
        "Unit Cost", currency='currency', digits='currency', required=True,
        domain=[('unit_cost', '>', 0)],
        help="The wellbeing area's own cost per unit of the service "
        "the budget replaces.")
    monthly_cost = fields.Function(Monetary(
            "Monthly Cost", currency='currency', digits='currency'),
        'on_change_with_monthly_cost')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('plan')

    @classmethod
    def get_units(cls):
        pool = Pool()
        Category = pool.get('hb.service.category')
        return Category.fields_get(['unit'])['unit']['selection']

    @fields.depends('category')
    def on_change_with_unit(self, name=None):
        return self.category.unit if self.category else None

    @fields.depends('category', 'unit_cost')
    def on_change_category(self):
        if self.category and self.unit_cost is None:
            self.unit_cost = self.category.get_price_cap()

    @fields.depends('plan', '_parent_plan.company')
    def on_change_with_currency(self, name=None):
        if self.plan and self.plan.company:
            return self.plan.company.currency

    @fields.depends(
        'quantity', 'unit_cost', methods=['on_change_with_currency'])
    def on_change_with_monthly_cost(self, name=None):
        if self.quantity is not None and self.unit_cost is not None:
            amount = self.quantity * self.unit_cost
            currency = self.on_change_with_currency()
            return currency.round(amount) if currency else amount

    @classmethod
    def validate_fields(cls, services, field_names):
        super().validate_fields(services, field_names)
        for service in services:
            for name in ['quantity', 'unit_cost']:
                value = getattr(service, name)
                if value is not None and value <= 0:
                    raise AmountError(gettext(
                            'hb_budget.msg_amount_positive',
                            field=cls.fields_get([name])[name]['string'],
                            record=service.category.rec_name))

    @classmethod
    def check_modification(cls, mode, services, values=None, external=False):
        super().check_modification(
            mode, services, values=values, external=external)
        for service in services:
            if service.plan.state != 'draft':
                raise PlanModificationError(gettext(
                        'hb_budget.msg_plan_modify_agreed',
                        plan=service.plan.rec_name))


class PlanCriterion(ModelSQL, ModelView):
    __name__ = 'hb.plan.criterion'
    __string__ = "Client Plan Eligibility Criterion"

    plan = fields.Many2One(
        'hb.plan', "Plan", required=True, ondelete='CASCADE')
    criterion = fields.Selection(
        CRITERIA, "Criterion", required=True, sort=False)
    criterion_string = criterion.translated('criterion')
    answer = fields.Selection(ANSWERS, "Answer", sort=False)
    note = fields.Text(
        "Note", size=5000, help="How the criterion was assessed.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('plan')
        t = cls.__table__()
        cls._sql_constraints += [
            ('criterion_unique',
                Exclude(t, (t.plan, Equal), (t.criterion, Equal)),
                'hb_budget.msg_plan_criterion_unique'),
            ]

    @classmethod
    def check_modification(cls, mode, criteria, values=None, external=False):
        super().check_modification(
            mode, criteria, values=values, external=external)
        for criterion in criteria:
            if criterion.plan.state != 'draft':
                raise PlanModificationError(gettext(
                        'hb_budget.msg_plan_modify_agreed',
                        plan=criterion.plan.rec_name))


