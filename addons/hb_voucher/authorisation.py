# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Standing authorisations (issue 14): the client's consent that a
provider may claim services of a category delivered after the fact, up to
a monthly cap, within the budget's period. Claims (claim.py) are made
under an authorisation; ending it keeps the claims already made."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql.aggregate import Sum
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .exceptions import ClaimError

ZERO = Decimal('0.00')
STATES = [
    ('draft', "Draft"),
    ('active', "Active"),
    ('ended', "Ended"),
    ]
CONSENT_METHODS = [
    (None, ""),
    ('meeting', "In a Meeting"),
    ('phone', "By Phone"),
    ('written', "In Writing"),
    ('client_page', "On the Client Page"),
    ]
# the claims whose amounts count against the cap and the budget
OPEN_CLAIM_STATES = ('pending', 'disputed', 'captured', 'reduced')


def month_start(date):
    return date.replace(day=1)


def next_month(date):
    return (date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


class Authorisation(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.authorisation'
    __string__ = "Standing Authorisation"
    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    client = fields.Many2One(
        'party.party', "Client", required=True, ondelete='RESTRICT',
        domain=[('hb_client', '=', True)], states=_states)
    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, ondelete='RESTRICT',
        domain=[
            ('client', '=', Eval('client', -1)),
            ('state', '=', 'active'),
            ],
        states=_states)
    provider = fields.Many2One(
        'party.party', "Provider", required=True, ondelete='RESTRICT',
        states=_states)
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        ondelete='RESTRICT', states=_states)
    product = fields.Many2One(
        'product.product', "Service", ondelete='RESTRICT',
        domain=[
            ('template.hb_provider', '=', Eval('provider', -1)),
            ],
        states=_states,
        help="Leave empty to allow any service of the category.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    monthly_cap = Monetary(
        "Monthly Cap", currency='currency', digits='currency',
        required=True, states=_states,
        domain=[('monthly_cap', '>', 0)],
        help="The most the provider may claim in a calendar month.")
    valid_from = fields.Date(
        "Valid From", required=True, states=_states,
        domain=[('valid_from', '<=', Eval('valid_to', None))])
    valid_to = fields.Date(
        "Valid To", required=True, states=_states,
        domain=[('valid_to', '>=', Eval('valid_from', None))])
    consent_by = fields.Char(
        "Consent Given By", size=200, states=_states,
        help="Who gave the consent: the client or their representative.")
    consent_method = fields.Selection(
        CONSENT_METHODS, "Consent Given", states=_states,
        help="How the consent was given.")
    consent_at = fields.Timestamp("Consent Recorded At", readonly=True)
    consent_user = fields.Many2One(
        'res.user', "Consent Recorded By", readonly=True)
    ended_at = fields.Timestamp("Ended At", readonly=True)
    claims = fields.One2Many(
        'hb.claim', 'authorisation', "Claims", readonly=True)
    authorised = fields.Function(Monetary(
            "Authorised", currency='currency', digits='currency',
            help="What the provider may still claim: the cap of each "
            "month left less what is claimed in it."),
        'get_authorised')
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.budget, Index.Range()),
                    where=t.state == 'active'),
                Index(t, (t.provider, Index.Range()),
                    (t.client, Index.Range())),
                })
        cls._order = [('valid_from', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'active'),
            ('active', 'ended'),
            ('draft', 'ended'),
            }
        cls._buttons.update({
                'activate': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'end': {
                    'invisible': Eval('state') == 'ended',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('state') == 'ended', 'muted', '')),
            ]

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_currency(self, name):
        return self.company.currency.id

    def get_rec_name(self, name):
        return '%s: %s (%s)' % (
            self.client.rec_name, self.provider.rec_name,
            self.category.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith(('!', 'not ')) else 'OR'
        return [bool_op,
            ('client.rec_name', operator, operand, *extra),
            ('provider.rec_name', operator, operand, *extra),
            ]

    @classmethod
    def validate_fields(cls, authorisations, field_names):
        super().validate_fields(authorisations, field_names)
        for authorisation in authorisations:
            authorisation.check_budget()

    def check_budget(self):
        budget = self.budget
        if budget.client != self.client:
            raise ClaimError('authorisation_budget', gettext(
                    'hb_voucher.msg_authorisation_budget_client',
                    budget=budget.rec_name))
        if not (budget.start_date <= self.valid_from
                and self.valid_to <= budget.end_date):
            raise ClaimError('authorisation_period', gettext(
                    'hb_voucher.msg_authorisation_period',
                    budget=budget.rec_name,
                    start_date=budget.start_date,
                    end_date=budget.end_date))
        if not self.budget_line():
            raise ClaimError('category_not_in_budget', gettext(
                    'hb_voucher.msg_claim_category_not_in_budget',
                    category=self.category.rec_name))
        if self.product and self.product.template.hb_category not in (
                self.categories()):
            raise ClaimError('authorisation_product', gettext(
                    'hb_voucher.msg_authorisation_product',
                    service=self.product.rec_name,
                    category=self.category.rec_name))

    def categories(self):
        "The category and its descendants"
        pool = Pool()
        Category = pool.get('hb.service.category')
        return set(Category.search([
                    ('parent', 'child_of', [self.category.id]),
                    ]))

    def budget_line(self):
        "The budget line of the category (or its nearest parent)"
        lines = {line.category: line for line in self.budget.lines}
        category = self.category
        while category:
            if category in lines and lines[category].amount:
                return lines[category]
            category = category.parent
        return None

    def claimed_in_month(self, date):
        """The amount of the claims counting against the cap in date's
        month (one SUM: a CSV upload claims many rows of a month)"""
        pool = Pool()
        Claim = pool.get('hb.claim')
        table = Claim.__table__()
        cursor = Transaction().connection.cursor()
        start = month_start(date)
        cursor.execute(*table.select(Sum(table.amount),
                where=(table.authorisation == self.id)
                & (table.date >= start) & (table.date < next_month(start))
                & table.state.in_(list(OPEN_CLAIM_STATES))))
        amount, = cursor.fetchone()
        # SQLite returns the sum of a Numeric column as float
        return Decimal(str(amount or 0)).quantize(ZERO)

    @classmethod
    def get_authorised(cls, authorisations, name):
        pool = Pool()
        Date = pool.get('ir.date')
        Claim = pool.get('hb.claim')
        today = Date.today()
        result = {a.id: ZERO for a in authorisations}
        active = [a for a in authorisations
            if a.state == 'active' and a.valid_to >= today]
        if not active:
            return result
        claimed = defaultdict(Decimal)
        for claim in Claim.search([
                    ('authorisation', 'in', [a.id for a in active]),
                    ('date', '>=', month_start(today)),
                    ('state', 'in', OPEN_CLAIM_STATES),
                    ]):
            claimed[(claim.authorisation.id, month_start(claim.date))] += (
                claim.amount)
        for authorisation in active:
            total = ZERO
            month = month_start(max(today, authorisation.valid_from))
            while month <= authorisation.valid_to:
                total += max(ZERO, authorisation.monthly_cap
                    - claimed[(authorisation.id, month)])
                month = next_month(month)
            result[authorisation.id] = total
        return result

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, authorisations):
        pool = Pool()
        User = pool.get('res.user')
        now = dt.datetime.now()
        user = Transaction().user
        for authorisation in authorisations:
            authorisation.check_budget()
            if (not authorisation.consent_method
                    or not (authorisation.consent_by or '').strip()):
                raise ClaimError('consent_required', gettext(
                        'hb_voucher.msg_authorisation_consent_required',
                        authorisation=authorisation.rec_name))
            authorisation.consent_at = now
            authorisation.consent_user = User(user) if user else None
        cls.save(authorisations)

    @classmethod
    @ModelView.button
    @Workflow.transition('ended')
    def end(cls, authorisations):
        "End the authorisations: the claims already made stand"
        now = dt.datetime.now()
        for authorisation in authorisations:
            authorisation.ended_at = now
        cls.save(authorisations)

    @classmethod
    def check_modification(
            cls, mode, authorisations, values=None, external=False):
        super().check_modification(
            mode, authorisations, values=values, external=external)
        if mode == 'delete':
            for authorisation in authorisations:
                if authorisation.state != 'draft':
                    raise ClaimError('authorisation_delete', gettext(
                            'hb_voucher.msg_authorisation_delete',
                            authorisation=authorisation.rec_name))


class _AuthorisedMixin:
    __slots__ = ()

    @classmethod
    def _authorised_by_line(cls, budget_ids):
        "Return {budget line id: authorised} of the budgets' lines"
        pool = Pool()
        Authorisation = pool.get('hb.authorisation')
        result = defaultdict(Decimal)
        authorisations = Authorisation.search([
                ('budget', 'in', list(budget_ids)),
                ('state', '=', 'active'),
                ])
        for authorisation in authorisations:
            line = authorisation.budget_line()
            if line:
                result[line.id] += authorisation.authorised
        return result


class Budget(_AuthorisedMixin, metaclass=PoolMeta):
    __name__ = 'hb.budget'

    authorised = fields.Function(Monetary(
            "Authorised", currency='currency', digits='currency',
            help="What standing authorisations may still claim "
            "(not yet reserved)."),
        'get_authorised')

    @classmethod
    def get_authorised(cls, budgets, name):
        by_line = cls._authorised_by_line([b.id for b in budgets])
        return {b.id: sum((by_line[line.id] for line in b.lines), ZERO)
            for b in budgets}


class BudgetLine(_AuthorisedMixin, metaclass=PoolMeta):
    __name__ = 'hb.budget.line'

    authorised = fields.Function(Monetary(
            "Authorised", currency='currency', digits='currency',
            help="What standing authorisations may still claim "
            "(not yet reserved)."),
        'get_authorised')

    @classmethod
    def get_authorised(cls, lines, name):
        by_line = cls._authorised_by_line({line.budget.id for line in lines})
        return {line.id: by_line[line.id] for line in lines}
