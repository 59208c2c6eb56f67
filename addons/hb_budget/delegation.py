# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Delegation as Finnish law frames it (issue 13, item 3).

A multi-professional team may prepare a decision (its members are recorded
on the decision), but an official with delegated power decides. Once the
organisation records its delegations (hb.decision.delegation: the
official, the highest yearly-equivalent amount, optionally the customer
groups and the service categories, the validity), a decision is approved
only by an official whose delegation covers it; without any delegation
recorded the roles of the settings decide as before. A delegation limited
to service categories covers a decision only when it covers the category
of every line of the decision (a category is covered with its
subcategories).

The 2018 draft-law criteria (HE 16/2018, never enacted) are an assessment
checklist: per customer group, a gate (every criterion must be met) or
guidance (answered and noted, but not required to be met). The plan also
records why the traditional service does not fit and the statutory basis
of the client's entitlement."""
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    fields,
)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from .configuration import STATUTES
from .exceptions import DecisionAuthorityError

CRITERIA_MODES = [
    ('gate', "Gate: Every Criterion Must Be Met"),
    ('guidance', "Guidance: Assessed, Not Required"),
    ]


class CustomerGroup(metaclass=PoolMeta):
    __name__ = 'hb.customer.group'

    criteria_mode = fields.Selection(
        CRITERIA_MODES, "Eligibility Criteria", required=True, sort=False,
        help="How the personal budget criteria of the 2018 draft law "
        "(HE 16/2018) apply to the group's clients: as a gate or as "
        "guidance for the assessment.")

    @classmethod
    def default_criteria_mode(cls):
        return 'gate'


class Plan(metaclass=PoolMeta):
    __name__ = 'hb.plan'

    traditional_unsuitable = fields.Text(
        "Why the Traditional Service Does Not Fit", size=5000,
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="Why the services the wellbeing area arranges itself or "
        "with service vouchers do not meet the client's needs.")
    entitlement_basis = fields.Selection(
        [(None, "")] + STATUTES, "Statutory Basis of Entitlement",
        sort=False,
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The act under which the client is entitled to the services "
        "the budget replaces.")
    criteria_guidance = fields.Function(
        fields.Boolean("Criteria as Guidance",
            help="The client's customer groups take the eligibility "
            "criteria as guidance: they need not all be met."),
        'get_criteria_guidance')

    def get_criteria_guidance(self, name=None):
        groups = self.client.hb_customer_groups if self.client else []
        return bool(groups) and all(
            g.criteria_mode == 'guidance' for g in groups)

    def criteria_met(self):
        "Whether the checklist lets a decision be made on the plan"
        return self.get_criteria_guidance() or self.eligible


class Delegation(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'hb.decision.delegation'
    __string__ = "Delegated Decision Authority"

    company = fields.Many2One(
        'company.company', "Company", required=True)
    user = fields.Many2One(
        'res.user', "Official", required=True, ondelete='CASCADE',
        help="The official to whom the power to decide is delegated.")
    title = fields.Char(
        "Title", size=200,
        help="The official's title as the delegation rules name it.")
    max_amount = fields.Numeric(
        "Highest Yearly Amount", digits=(16, 2), required=True,
        domain=[('max_amount', '>=', 0)],
        help="The highest yearly-equivalent amount the official may "
        "decide.")
    customer_groups = fields.Many2Many(
        'hb.decision.delegation-hb.customer.group', 'delegation', 'group',
        "Customer Groups",
        help="The customer groups the delegation covers.\n"
        "Leave empty for every group.")
    service_categories = fields.Many2Many(
        'hb.decision.delegation-hb.service.category', 'delegation',
        'category', "Service Categories",
        help="The service categories the delegation covers (each with its "
        "subcategories): every category of a decision's lines must be "
        "covered.\nLeave empty for every category.")
    valid_from = fields.Date("Valid From")
    valid_to = fields.Date(
        "Valid To",
        domain=[If(Eval('valid_to') & Eval('valid_from'),
                ('valid_to', '>=', Eval('valid_from')),
                ())])
    rule_reference = fields.Char(
        "Delegation Rule", size=200,
        help="The reference of the delegation decision or the "
        "administrative rule (hallintosääntö) section.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.user, Index.Range())))
        cls._order = [('user', 'ASC'), ('max_amount', 'DESC'), ('id', 'ASC')]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        return '%s (%s)' % (self.user.rec_name, self.max_amount)

    def covers(self, decision, yearly, date):
        "Whether the delegation covers the decision's yearly amount on date"
        return (self.covers_but_categories(decision, yearly, date)
            and not self.uncovered_categories(decision))

    def uncovered_categories(self, decision):
        """Return the service categories of the decision's lines the
        delegation does not cover (none when it is for every category)"""
        if not self.service_categories:
            return []
        covered = set(self.service_categories)
        uncovered = []
        for line in decision.lines:
            category = line.category
            while category and category not in covered:
                category = category.parent
            if category is None and line.category not in uncovered:
                uncovered.append(line.category)
        return uncovered

    def covers_but_categories(self, decision, yearly, date):
        """Whether the delegation covers the decision's company, date,
        yearly amount and customer groups"""
        if self.company != decision.company:
            return False
        if self.valid_from and date < self.valid_from:
            return False
        if self.valid_to and date > self.valid_to:
            return False
        if yearly is None or yearly > self.max_amount:
            return False
        if self.customer_groups:
            groups = set(decision.client.hb_customer_groups)
            if not groups & set(self.customer_groups):
                return False
        return True


class DelegationCustomerGroup(ModelSQL):
    __name__ = 'hb.decision.delegation-hb.customer.group'
    __string__ = "Delegation - Customer Group"

    delegation = fields.Many2One(
        'hb.decision.delegation', "Delegation", required=True,
        ondelete='CASCADE')
    group = fields.Many2One(
        'hb.customer.group', "Customer Group", required=True,
        ondelete='CASCADE')


class DelegationServiceCategory(ModelSQL):
    __name__ = 'hb.decision.delegation-hb.service.category'
    __string__ = "Delegation - Service Category"

    delegation = fields.Many2One(
        'hb.decision.delegation', "Delegation", required=True,
        ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        ondelete='CASCADE')


class Decision(metaclass=PoolMeta):
    __name__ = 'hb.decision'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        selection = ('delegated', "Delegated Official")
        if selection not in cls.approval_level.selection:
            cls.approval_level.selection = (
                list(cls.approval_level.selection) + [selection])

    def check_authority(self):
        """With delegations recorded, the approver's delegation decides;
        otherwise the roles of the settings"""
        pool = Pool()
        Delegation = pool.get('hb.decision.delegation')
        Date = pool.get('ir.date')
        User = pool.get('res.user')
        user_id = Transaction().user
        if user_id == 0:
            return super().check_authority()
        with without_check_access():
            if not Delegation.search([], limit=1):
                return super().check_authority()
            delegations = Delegation.search([('user', '=', user_id)])
            yearly = self.on_change_with_yearly_amount()
            today = Date.today()
            if any(d.covers(self, yearly, today) for d in delegations):
                return 'delegated'
            # covered but for service categories: name what is missing
            uncovered = [d.uncovered_categories(self) for d in delegations
                if d.covers_but_categories(self, yearly, today)]
            if uncovered:
                categories = ', '.join(c.rec_name
                    for c in min(uncovered, key=len))
                raise DecisionAuthorityError(gettext(
                        'hb_budget.msg_decision_delegation_category',
                        user=User(user_id).rec_name,
                        decision=self.get_rec_name(None),
                        categories=categories))
            groups = ', '.join(
                g.rec_name for g in self.client.hb_customer_groups)
        raise DecisionAuthorityError(gettext(
                'hb_budget.msg_decision_no_delegation',
                user=User(user_id).rec_name,
                decision=self.get_rec_name(None),
                yearly=self.get_yearly_amount_string(),
                groups=groups or '-'))

    def set_decider_title(self):
        "The title of the delegation for a delegated official"
        pool = Pool()
        Delegation = pool.get('hb.decision.delegation')
        if (not self.decider_title and self.approval_level == 'delegated'
                and self.approved_by):
            with without_check_access():
                titled = [d for d in Delegation.search([
                            ('user', '=', self.approved_by.id),
                            ('title', '!=', None),
                            ]) if d.title]
            if titled:
                self.decider_title = titled[0].title
        super().set_decider_title()
