# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Carer agreements of the AVAIN pilot and the conversion of their
statutory days off into a personal budget decision.

The converted value is

    days exchanged per month × value of a day off × months of the period

spread over the allowed service categories by monthly amounts. The period
is whole calendar months (days off are per calendar month by law) within
the pilot dates and the agreement's validity.

Carry-over: the decision keeps the pilot's setting at conversion time.
With carry-over, the budget line holds the whole period's value and can be
used at any pace. Without it, a reservation on the line is refused when
it would take the month's use (reserved − released − refunded in the
calendar month of the charge) above the line's monthly amount."""
import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql.aggregate import Sum
from sql.conditionals import Case
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    fields,
)
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateAction, StateView, Wizard

from trytond.modules.hb_budget.budget import round_sum
from trytond.modules.hb_budget.party import (
    HETU_MASK,
    compact_hetu,
    hetu_restricted,
)

from .configuration import LAW_DAYS_OFF, LAW_DAYS_OFF_BINDING
from .exceptions import ConversionError, DaysOffError, MonthlyLimitError

ZERO = Decimal('0.00')


def whole_months(start_date, end_date):
    """Return the number of calendar months from start_date (a first day)
    to end_date (a last day), or None if the period is not whole months"""
    if not start_date or not end_date or end_date < start_date:
        return None
    if start_date.day != 1:
        return None
    if (end_date + dt.timedelta(days=1)).day != 1:
        return None
    delta = relativedelta(end_date + dt.timedelta(days=1), start_date)
    return delta.years * 12 + delta.months


class Agreement(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'hb.avain.agreement'
    __string__ = "Carer Agreement"

    company = fields.Many2One(
        'company.company', "Company", required=True)
    carer = fields.Many2One(
        'party.party', "Carer", required=True, ondelete='RESTRICT',
        domain=[('hb_client', '=', True)],
        help="The family carer: the client of the personal budget.")
    child = fields.Many2One(
        'party.party', "Cared Person", required=True, ondelete='RESTRICT',
        domain=[('id', '!=', Eval('carer', -1))],
        help="The child (or other person) who needs special support: "
        "a party of their own.")
    child_hetu = fields.Function(fields.Char(
            "Cared Person's Identity Code", size=20, strip=True,
            help="The cared person's personal identity code (HETU), "
            "if known: stored on the cared person's party."),
        'get_child_hetu', setter='set_child_hetu')
    care_plan_reference = fields.Char(
        "Care and Service Plan", size=100, strip=True,
        help="The reference of the cared person's care and service plan "
        "(hoito- ja palvelusuunnitelma) on which the agreement rests.")
    binding = fields.Boolean(
        "Round-the-Clock Care",
        help="Check if the care binds the carer round the clock or "
        "continuously every day: the law then grants at least 3 days off "
        "per month instead of 2.")
    days_off = fields.Integer(
        "Days Off per Month", required=True,
        help="The carer's days off per calendar month under the agreement.")
    valid_from = fields.Date("Valid From", required=True)
    valid_to = fields.Date(
        "Valid To",
        domain=[If(Eval('valid_to') & Eval('valid_from'),
                ('valid_to', '>=', Eval('valid_from')),
                ())])
    decisions = fields.One2Many(
        'hb.decision', 'avain_agreement', "Conversions", readonly=True,
        help="The personal budget decisions converting days off.")
    notes = fields.Text("Notes", size=10000)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.carer, Index.Range())))
        cls._order = [('valid_from', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'convert': {
                    'invisible': ~Eval('active', True),
                    'icon': 'tryton-forward',
                    'depends': ['active'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_binding(cls):
        return False

    @classmethod
    def default_days_off(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        return Configuration(1).avain_days_off

    @fields.depends('binding', 'days_off')
    def on_change_binding(self):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        config = Configuration(1)
        if self.days_off in {None, config.avain_days_off,
                config.avain_days_off_binding}:
            self.days_off = config.avain_statutory_days_off(self.binding)

    @classmethod
    def get_child_hetu(cls, agreements, name):
        """The HETU of the cared person, masked for users other than the
        carer's own-worker and HB administrators"""
        pool = Pool()
        Party = pool.get('party.party')
        user = hetu_restricted()
        result = {}
        with without_check_access():
            for agreement in agreements:
                child = Party(agreement.child.id)
                code = child.hb_hetu
                if code and user is not None and (
                        not agreement.carer.hb_own_worker
                        or agreement.carer.hb_own_worker.id != user):
                    code = HETU_MASK
                result[agreement.id] = code
        return result

    @classmethod
    def set_child_hetu(cls, agreements, name, value):
        pool = Pool()
        Party = pool.get('party.party')
        if value == HETU_MASK:
            return
        children = list({a.child for a in agreements})
        with without_check_access():
            Party.write(Party.browse(children), {
                    'hb_hetu': compact_hetu(value) if value else None,
                    })

    def get_rec_name(self, name):
        return '%s / %s (%s)' % (
            self.carer.rec_name, self.child.rec_name, self.valid_from)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('carer.rec_name', operator, operand, *extra),
            ('child.rec_name', operator, operand, *extra),
            ]

    @classmethod
    def validate_fields(cls, agreements, field_names):
        super().validate_fields(agreements, field_names)
        cls.check_days_off(agreements, field_names)

    @classmethod
    def check_days_off(cls, agreements, field_names=None):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        if field_names and not (field_names & {'days_off', 'binding'}):
            return
        maximum = Configuration(1).avain_max_days_off
        for agreement in agreements:
            minimum = (LAW_DAYS_OFF_BINDING if agreement.binding
                else LAW_DAYS_OFF)
            if not (minimum <= (agreement.days_off or 0) <= maximum):
                raise DaysOffError(gettext(
                        'hb_avain.msg_agreement_days_off_range',
                        agreement=agreement.rec_name,
                        days=agreement.days_off,
                        minimum=minimum, maximum=maximum))

    def is_valid_on(self, start_date, end_date):
        return (self.valid_from <= start_date
            and (not self.valid_to or end_date <= self.valid_to))

    @classmethod
    @ModelView.button_action('hb_avain.wizard_convert')
    def convert(cls, agreements):
        pass

    def find_plan(self, start_date, end_date):
        "Return the agreed plan of the carer covering the period or None"
        pool = Pool()
        Plan = pool.get('hb.plan')
        plans = Plan.search([
                ('client', '=', self.carer.id),
                ('state', '=', 'agreed'),
                ('valid_from', '<=', start_date),
                ('valid_to', '>=', end_date),
                ], limit=1)
        if plans:
            return plans[0]

    def get_conversion(self, start_date, end_date, days, allocation,
            plan=None):
        """Check a conversion of days (per month) for the period and return
        the unsaved draft decision proposing it, or the decision that
        already proposes it.

        allocation is {category: monthly amount} and must spread the
        monthly value (days × value of a day off) over allowed categories.
        Raise ConversionError (or DaysOffError) on bad input."""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Decision = pool.get('hb.decision')
        Line = pool.get('hb.decision.line')
        Lang = pool.get('ir.lang')
        config = Configuration(1)
        lang = Lang.get()
        carer = self.carer

        group = config.avain_customer_group
        if not group:
            raise ConversionError(gettext('hb_avain.msg_pilot_not_configured'))
        if group not in carer.hb_customer_groups:
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_not_in_group',
                    client=carer.rec_name, group=group.rec_name))
        if not self.active:
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_agreement_inactive',
                    agreement=self.rec_name))
        if not isinstance(days, int) or not 0 < days <= self.days_off:
            raise DaysOffError(gettext(
                    'hb_avain.msg_convert_days_range',
                    days=days, maximum=self.days_off,
                    agreement=self.rec_name))
        day_value = config.avain_day_value
        if day_value is None or day_value <= 0:
            raise ConversionError(gettext(
                    'hb_avain.msg_day_value_positive', value=day_value))
        months = whole_months(start_date, end_date)
        if not months:
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_whole_months',
                    start_date=lang.strftime(start_date)
                    if start_date else '',
                    end_date=lang.strftime(end_date) if end_date else ''))
        if not (config.avain_start_date and config.avain_end_date):
            raise ConversionError(gettext('hb_avain.msg_pilot_not_configured'))
        if not (config.avain_start_date <= start_date
                and end_date <= config.avain_end_date):
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_outside_pilot',
                    start_date=lang.strftime(start_date),
                    end_date=lang.strftime(end_date),
                    pilot_start=lang.strftime(config.avain_start_date),
                    pilot_end=lang.strftime(config.avain_end_date)))
        if not self.is_valid_on(start_date, end_date):
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_outside_agreement',
                    start_date=lang.strftime(start_date),
                    end_date=lang.strftime(end_date),
                    agreement=self.rec_name))

        currency = self.company.currency
        monthly = currency.round(days * day_value)
        allocation = {c: a for c, a in allocation.items() if a}
        for category, amount in allocation.items():
            if not config.avain_allows(category):
                raise ConversionError(gettext(
                        'hb_avain.msg_convert_category_not_allowed',
                        category=category.rec_name))
            if amount < 0 or currency.round(amount) != amount:
                raise ConversionError(gettext(
                        'hb_avain.msg_convert_allocation_amount',
                        category=category.rec_name, amount=amount))
        allocated = sum(allocation.values(), ZERO)
        if allocated != monthly:
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_allocation_total',
                    allocated=lang.currency(allocated, currency),
                    monthly=lang.currency(monthly, currency)))

        existing = Decision.search([
                ('avain_agreement', '=', self.id),
                ('state', 'not in', ['rejected', 'cancelled']),
                ('start_date', '<=', end_date),
                ('end_date', '>=', start_date),
                ])
        for decision in existing:
            if (decision.start_date == start_date
                    and decision.end_date == end_date):
                return decision
        if existing:
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_overlap',
                    agreement=self.rec_name,
                    decision=existing[0].rec_name))

        if plan is None:
            plan = self.find_plan(start_date, end_date)
        if not plan:
            raise ConversionError(gettext(
                    'hb_avain.msg_convert_no_plan',
                    client=carer.rec_name,
                    start_date=lang.strftime(start_date),
                    end_date=lang.strftime(end_date)))

        lines = []
        for category, amount in sorted(
                allocation.items(), key=lambda i: i[0].rec_name):
            lines.append(Line(
                    category=category, avain_monthly_amount=amount,
                    amount=currency.round(amount * months)))
        decision = Decision(
            company=self.company, client=carer, plan=plan,
            start_date=start_date, end_date=end_date,
            value_method='manual', lines=lines,
            amount=sum((line.amount for line in lines), ZERO),
            avain_agreement=self, avain_days=days,
            avain_day_value=day_value, avain_months=months,
            avain_carry_over=bool(config.avain_carry_over))
        decision.on_change_client()
        decision.justification = decision.avain_calculation()
        return decision

    def convert_days(self, start_date, end_date, days, allocation,
            plan=None):
        """Propose the decision converting days off for the period.
        Return (decision, created): an existing proposal is returned
        instead of a duplicate."""
        pool = Pool()
        Decision = pool.get('hb.decision')
        decision = self.get_conversion(
            start_date, end_date, days, allocation, plan=plan)
        if decision.id is not None and decision.id >= 0:
            return decision, False
        decision.save()
        Decision.propose([decision])
        return decision, True


class Decision(metaclass=PoolMeta):
    __name__ = 'hb.decision'

    avain_agreement = fields.Many2One(
        'hb.avain.agreement', "Carer Agreement", readonly=True,
        ondelete='RESTRICT',
        help="The AVAIN carer agreement whose days off the decision "
        "converts.")
    avain_days = fields.Integer(
        "Days Exchanged per Month", readonly=True,
        states={
            'invisible': ~Eval('avain_agreement'),
            })
    avain_day_value = Monetary(
        "Value of a Day Off", currency='currency', digits='currency',
        readonly=True,
        states={
            'invisible': ~Eval('avain_agreement'),
            })
    avain_months = fields.Integer(
        "Months Converted", readonly=True,
        states={
            'invisible': ~Eval('avain_agreement'),
            })
    avain_carry_over = fields.Boolean(
        "Carry Over Unused Value", readonly=True,
        states={
            'invisible': ~Eval('avain_agreement'),
            },
        help="The pilot's rule at conversion: if not checked, only the "
        "current month's value can be used.")
    avain_monthly_amount = fields.Function(Monetary(
            "Monthly Value", currency='currency', digits='currency',
            states={
                'invisible': ~Eval('avain_agreement'),
                }),
        'get_avain_monthly_amount')
    avain_traditional_days = fields.Function(fields.Integer(
            "Traditional Days Off per Month",
            states={
                'invisible': ~Eval('avain_agreement'),
                },
            help="The days off per month the carer keeps as days off."),
        'get_avain_traditional_days')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.avain_agreement, Index.Range())))

    def get_avain_monthly_amount(self, name):
        if self.avain_agreement and self.avain_days is not None:
            return self.company.currency.round(
                self.avain_days * self.avain_day_value)

    def get_avain_traditional_days(self, name):
        if self.avain_agreement and self.avain_days is not None:
            return self.avain_agreement.days_off - self.avain_days

    def avain_calculation(self):
        "Return the text of the conversion's calculation (decision language)"
        pool = Pool()
        Lang = pool.get('ir.lang')
        language = self.language.code if self.language else None
        with Transaction().set_context(language=language):
            lang = Lang.get(language)
            currency = self.company.currency
            monthly = currency.round(self.avain_days * self.avain_day_value)
            rule = gettext('hb_avain.msg_calculation_carry_over'
                if self.avain_carry_over
                else 'hb_avain.msg_calculation_no_carry_over')
            lines = [gettext('hb_avain.msg_calculation',
                    days=self.avain_days,
                    days_off=self.avain_agreement.days_off,
                    traditional=(
                        self.avain_agreement.days_off - self.avain_days),
                    day_value=lang.currency(self.avain_day_value, currency),
                    monthly=lang.currency(monthly, currency),
                    months=self.avain_months,
                    total=lang.currency(self.amount, currency),
                    rule=rule)]
            for line in self.lines:
                lines.append(gettext('hb_avain.msg_calculation_line',
                        category=line.category.rec_name,
                        monthly=lang.currency(
                            line.avain_monthly_amount, currency),
                        months=self.avain_months,
                        amount=lang.currency(line.amount, currency)))
        return '\n'.join(lines)

    @classmethod
    def copy(cls, decisions, default=None):
        default = default.copy() if default is not None else {}
        for name in ['avain_agreement', 'avain_days', 'avain_day_value',
                'avain_months', 'avain_carry_over']:
            default.setdefault(name)
        return super().copy(decisions, default=default)


class DecisionLine(metaclass=PoolMeta):
    __name__ = 'hb.decision.line'

    avain_monthly_amount = Monetary(
        "Monthly Value", currency='currency', digits='currency',
        readonly=True,
        help="The converted value per month on the category "
        "(AVAIN pilot).")


class BudgetLine(metaclass=PoolMeta):
    __name__ = 'hb.budget.line'

    avain_monthly_limit = fields.Function(Monetary(
            "Monthly Limit", currency='currency', digits='currency',
            help="The most that can be used in a calendar month: unused "
            "value does not carry over (AVAIN pilot)."),
        'get_avain_monthly_limit')

    def get_avain_monthly_limit(self, name=None):
        "Return the monthly cap of the line or None if there is none"
        decision = self.budget.decision
        if (not decision or not decision.avain_agreement
                or decision.avain_carry_over):
            return None
        for line in decision.lines:
            if line.category == self.category:
                return line.avain_monthly_amount or ZERO
        return ZERO

    @classmethod
    def get_month_left(cls, lines, name):
        """What is left of the monthly limit this month, and of the
        available amount (None without a monthly limit)"""
        pool = Pool()
        Date = pool.get('ir.date')
        result = super().get_month_left(lines, name)
        today = Date.today()
        for line in lines:
            limit = line.get_avain_monthly_limit()
            if limit is None:
                continue
            left = max(limit - cls.avain_month_usage(line.id, today), ZERO)
            result[line.id] = max(min(left, line.available), ZERO)
        return result

    @classmethod
    def avain_month_usage(cls, line_id, date):
        "Return the amount of line used in the calendar month of date"
        pool = Pool()
        Move = pool.get('hb.budget.move')
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        first = date.replace(day=1)
        last = first + relativedelta(months=1, days=-1)
        cursor.execute(*move.select(
                Sum(Case(
                        (move.kind == 'reserve', move.amount),
                        else_=-move.amount)),
                where=(move.line == line_id)
                & move.kind.in_(['reserve', 'release', 'refund'])
                & (move.date >= first) & (move.date <= last)))
        used, = cursor.fetchone()
        # SQLite sums as floating point: round to cents
        return round_sum(used)

    @classmethod
    def _update(cls, kind, line, amount, origin=None, date=None,
            check_state=True):
        pool = Pool()
        Date = pool.get('ir.date')
        Lang = pool.get('ir.lang')
        if kind == 'reserve':
            record = cls(int(line))
            limit = record.get_avain_monthly_limit()
            if limit is not None:
                if date is None:
                    date = Date.today()
                # Lock the line before reading the month's use
                cls._lock(record.id)
                used = cls.avain_month_usage(record.id, date)
                if isinstance(amount, (Decimal, int)) and (
                        used + amount > limit):
                    lang = Lang.get()
                    currency = record.budget.currency
                    raise MonthlyLimitError(gettext(
                            'hb_avain.msg_monthly_limit',
                            amount=lang.currency(amount, currency),
                            available=lang.currency(
                                max(limit - used, ZERO), currency),
                            limit=lang.currency(limit, currency),
                            month=date.strftime('%m/%Y'),
                            line=record.rec_name))
        return super()._update(kind, line, amount, origin=origin, date=date,
            check_state=check_state)


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    avain_agreements = fields.One2Many(
        'hb.avain.agreement', 'carer', "Carer Agreements",
        states={
            'invisible': ~Eval('hb_client', False),
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'avain_convert': {
                    'invisible': ~Eval('hb_client', False),
                    'icon': 'tryton-forward',
                    'depends': ['hb_client'],
                    },
                })

    @classmethod
    @ModelView.button_action('hb_avain.wizard_convert')
    def avain_convert(cls, parties):
        pass


class ConvertStart(ModelView):
    __name__ = 'hb.avain.convert.start'
    __string__ = "Convert Days Off"

    client = fields.Many2One('party.party', "Client", readonly=True)
    agreement = fields.Many2One(
        'hb.avain.agreement', "Carer Agreement", required=True,
        domain=[
            ('carer', '=', Eval('client', -1)),
            ('active', '=', True),
            ])
    company = fields.Many2One('company.company', "Company", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    start_date = fields.Date("Start Date", required=True,
        help="The first day of the first month converted.")
    end_date = fields.Date("End Date", required=True,
        help="The last day of the last month converted.")
    days_off = fields.Integer("Days Off per Month", readonly=True)
    days = fields.Integer(
        "Days Exchanged per Month", required=True,
        help="The days off exchanged for the budget each month; "
        "the rest stay traditional days off.")
    traditional_days = fields.Integer(
        "Traditional Days Off per Month", readonly=True)
    day_value = Monetary(
        "Value of a Day Off", currency='currency', digits='currency',
        readonly=True)
    months = fields.Integer("Months", readonly=True)
    monthly_amount = Monetary(
        "Monthly Value", currency='currency', digits='currency',
        readonly=True)
    amount = Monetary(
        "Total Amount", currency='currency', digits='currency',
        readonly=True)
    plan = fields.Many2One(
        'hb.plan', "Client Plan", required=True,
        domain=[
            ('client', '=', Eval('client', -1)),
            ('state', '=', 'agreed'),
            ])
    lines = fields.One2Many(
        'hb.avain.convert.start.line', None, "Monthly Value by Category",
        help="How the monthly value is spread over the service categories "
        "the pilot allows.")

    @fields.depends('agreement', 'start_date', 'end_date', 'days_off',
        'days', 'plan', 'lines', methods=['on_change_days'])
    def on_change_agreement(self):
        if self.agreement:
            self.days_off = self.agreement.days_off
            if self.days is None or self.days > self.days_off:
                self.days = self.days_off
            if self.start_date and self.end_date:
                self.plan = self.agreement.find_plan(
                    self.start_date, self.end_date)
        self.on_change_days()

    @fields.depends('days', 'days_off', 'day_value', 'start_date',
        'end_date', 'currency', 'lines')
    def on_change_days(self):
        if self.days_off is not None and self.days is not None:
            self.traditional_days = self.days_off - self.days
        self.months = whole_months(self.start_date, self.end_date)
        if self.days is not None and self.day_value is not None:
            self.monthly_amount = self.days * self.day_value
            if self.currency:
                self.monthly_amount = self.currency.round(
                    self.monthly_amount)
            if self.months:
                self.amount = self.monthly_amount * self.months
            lines = list(self.lines or [])
            if len(lines) == 1:
                lines[0].amount = self.monthly_amount
                self.lines = lines

    @fields.depends(methods=['on_change_days'])
    def on_change_start_date(self):
        self.on_change_days()

    @fields.depends(methods=['on_change_days'])
    def on_change_end_date(self):
        self.on_change_days()


class ConvertStartLine(ModelView):
    __name__ = 'hb.avain.convert.start.line'
    __string__ = "Convert Days Off Line"

    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True)
    currency = fields.Many2One('currency.currency', "Currency")
    amount = Monetary(
        "Monthly Amount", currency='currency', digits='currency',
        required=True)


class Convert(Wizard):
    __name__ = 'hb.avain.convert'
    __string__ = "Convert Days Off"

    start = StateView('hb.avain.convert.start',
        'hb_avain.convert_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Propose Decision", 'convert', 'tryton-ok', default=True),
            ])
    convert = StateAction('hb_budget.act_decision_form')

    def _agreement_and_client(self):
        pool = Pool()
        Agreement = pool.get('hb.avain.agreement')
        if self.model and self.model.__name__ == 'hb.avain.agreement':
            agreement = Agreement(self.record.id)
            return agreement, agreement.carer
        client = self.record
        agreements = Agreement.search([
                ('carer', '=', client.id),
                ], limit=1)
        return (agreements[0] if agreements else None), client

    def default_start(self, fields):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Date = pool.get('ir.date')
        config = Configuration(1)
        agreement, client = self._agreement_and_client()
        company = (agreement.company if agreement
            else pool.get('company.company')(
                Transaction().context['company']))
        today = Date.today()
        start = today.replace(day=1) + relativedelta(months=1)
        if config.avain_start_date and start < config.avain_start_date:
            start = config.avain_start_date.replace(day=1)
            if start < config.avain_start_date:
                start += relativedelta(months=1)
        end = start + relativedelta(years=1, days=-1)
        if config.avain_end_date and end > config.avain_end_date:
            end = (config.avain_end_date + dt.timedelta(days=1)).replace(
                day=1) - dt.timedelta(days=1)
        categories = sorted(
            config.avain_categories, key=lambda c: (
                c.parent is not None, c.rec_name))
        currency = company.currency
        values = {
            'client': client.id,
            'company': company.id,
            'currency': currency.id,
            'start_date': start,
            'end_date': end,
            'day_value': config.avain_day_value,
            'months': whole_months(start, end),
            'lines': [],
            }
        if agreement:
            days = agreement.days_off
            monthly = currency.round(days * config.avain_day_value)
            plan = agreement.find_plan(start, end)
            months = whole_months(start, end) or 0
            values.update({
                    'agreement': agreement.id,
                    'days_off': days,
                    'days': days,
                    'traditional_days': 0,
                    'monthly_amount': monthly,
                    'amount': monthly * months,
                    'plan': plan.id if plan else None,
                    })
            if categories:
                values['lines'] = [{
                        'category': categories[0].id,
                        'currency': currency.id,
                        'amount': monthly,
                        }]
        return values

    def do_convert(self, action):
        allocation = {}
        for line in self.start.lines:
            allocation.setdefault(line.category, ZERO)
            allocation[line.category] += line.amount or ZERO
        decision, _ = self.start.agreement.convert_days(
            self.start.start_date, self.start.end_date, self.start.days,
            allocation, plan=self.start.plan)
        action['views'].reverse()
        return action, {'res_id': [decision.id]}
