# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from sql.operators import Equal
from trytond.i18n import gettext
from trytond.model import (
    Exclude,
    ModelSQL,
    ModelView,
    Workflow,
    fields,
)
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import mail
from .exceptions import ContractError, ReasonRequired

STATES = [
    ('draft', "Draft"),
    ('active', "Active"),
    ('suspended', "Suspended"),
    ('terminated', "Terminated"),
    ]


class Contract(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.provider.contract'
    __string__ = "Provider Contract"

    _states = {
        'readonly': Eval('state') == 'terminated',
        }

    number = fields.Char("Number", size=50, readonly=True)
    provider = fields.Many2One(
        'party.party', "Provider", required=True, ondelete='RESTRICT',
        states={
            'readonly': Eval('state') != 'draft',
            })
    application = fields.Many2One(
        'hb.provider.application', "Application", readonly=True)
    start_date = fields.Date(
        "Start Date", required=True, states=_states,
        domain=[If(Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())])
    end_date = fields.Date(
        "End Date", states=_states,
        domain=[If(Eval('end_date') & Eval('start_date'),
                ('end_date', '>=', Eval('start_date')), ())],
        help="Empty: until further notice.")
    municipalities = fields.Many2Many(
        'hb.provider.contract-hb.municipality', 'contract', 'municipality',
        "Municipalities", states=_states)
    categories = fields.Many2Many(
        'hb.provider.contract-hb.service.category', 'contract', 'category',
        "Service Categories", states=_states,
        help="The categories (with their subcategories) the provider "
        "may sell.")
    customer_groups = fields.Many2Many(
        'hb.provider.contract-hb.customer.group', 'contract',
        'customer_group', "Customer Groups", states=_states)
    price_caps = fields.One2Many(
        'hb.provider.contract.price_cap', 'contract', "Price Caps",
        states=_states,
        help="Caps agreed with this provider, lower than the categories' "
        "own caps.")
    services = fields.One2Many(
        'product.template', 'hb_contract', "Services", readonly=True)
    suspension_reason = fields.Text(
        "Suspension Reason", size=5000, readonly=True,
        states={
            'invisible': Eval('state') != 'suspended',
            })
    history = fields.One2Many(
        'hb.provider.contract.history', 'contract', "History",
        readonly=True)
    state = fields.Selection(
        STATES, "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('start_date', 'DESC'),
            ('id', 'DESC'),
            ]
        cls._transitions |= {
            ('draft', 'active'),
            ('active', 'suspended'),
            ('suspended', 'active'),
            ('active', 'terminated'),
            ('suspended', 'terminated'),
            }
        cls._buttons.update({
                'activate': {
                    'invisible': ~Eval('state').in_(['draft', 'suspended']),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'suspend': {
                    'invisible': Eval('state') != 'active',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'terminate': {
                    'invisible': ~Eval('state').in_(['active', 'suspended']),
                    'icon': 'tryton-delete',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_start_date(cls):
        return Pool().get('ir.date').today()

    def get_rec_name(self, name):
        return '%s - %s' % (
            self.number or '(%s)' % self.id, self.provider.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('provider.rec_name', operator, operand, *extra),
            ]

    @classmethod
    def copy(cls, contracts, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('number', None)
        default.setdefault('application', None)
        default.setdefault('services', None)
        default.setdefault('history', None)
        default.setdefault('suspension_reason', None)
        return super().copy(contracts, default=default)

    @classmethod
    def check_modification(cls, mode, contracts, values=None,
            external=False):
        super().check_modification(
            mode, contracts, values=values, external=external)
        if mode == 'delete':
            for contract in contracts:
                if contract.state != 'draft':
                    raise ContractError(gettext(
                            'hb_marketplace.msg_contract_delete',
                            contract=contract.rec_name))

    def is_valid_on(self, date=None):
        "Tell if the contract is active and date is within its validity"
        if date is None:
            date = Pool().get('ir.date').today()
        return (self.state == 'active'
            and self.start_date <= date
            and (not self.end_date or date <= self.end_date))

    def covers_category(self, category):
        "Tell if category or one of its parents is a contract category"
        categories = set(self.categories)
        while category:
            if category in categories:
                return True
            category = category.parent
        return False

    def covers(self, municipality, customer_groups, category, date=None):
        """Tell if the provider may sell services of category to a client
        of municipality belonging to one of customer_groups on date
        (today by default): the contract is active and valid, and covers
        the municipality, one of the groups and the category (or a
        parent of it).

        This is the contract's part only: which services a client may buy
        is product.template's hb_coverage_domain (the catalogue's and the
        charge's one rule)."""
        if not self.is_valid_on(date):
            return False
        if municipality not in self.municipalities:
            return False
        if not set(customer_groups or []) & set(self.customer_groups):
            return False
        return self.covers_category(category)

    @classmethod
    def get_active(cls, provider, date=None):
        "Return the contracts of provider in force on date"
        if date is None:
            date = Pool().get('ir.date').today()
        return cls.search([
                ('provider', '=', provider),
                ('state', '=', 'active'),
                ('start_date', '<=', date),
                ['OR',
                    ('end_date', '=', None),
                    ('end_date', '>=', date),
                    ],
                ])

    def get_price_cap(self, category):
        """Return the cap per unit for a service of category: the lowest
        of the category's cap and the contract's cap for it (or a parent)"""
        caps = []
        if category_cap := category.get_price_cap():
            caps.append(category_cap)
        by_category = {c.category: c.price_cap for c in self.price_caps}
        current = category
        while current:
            if current in by_category:
                caps.append(by_category[current])
                break
            current = current.parent
        return min(caps) if caps else None

    @classmethod
    def set_number(cls, contracts):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        sequence = Sequence(ModelData.get_id(
                'hb_marketplace', 'sequence_provider_contract'))
        for contract in contracts:
            if not contract.number:
                contract.number = sequence.get()
        cls.save(contracts)

    @classmethod
    def _add_history(cls, contracts, action, reason=None):
        pool = Pool()
        History = pool.get('hb.provider.contract.history')
        History.save([History(
                    contract=c, action=action, reason=reason,
                    user=Transaction().user or None)
                for c in contracts])

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, contracts):
        cls.set_number(contracts)
        reactivated = [c for c in contracts if c.state == 'suspended']
        cls._add_history(
            [c for c in contracts if c.state == 'draft'], 'activated')
        cls._add_history(reactivated, 'reactivated')
        cls.write(contracts, {'suspension_reason': None})
        for contract in reactivated:
            contract.send_email('reactivated')

    @classmethod
    @ModelView.button_action('hb_marketplace.wizard_contract_suspend')
    def suspend(cls, contracts):
        pass

    @classmethod
    @ModelView.button_action('hb_marketplace.wizard_contract_terminate')
    def terminate(cls, contracts):
        pass

    @classmethod
    @Workflow.transition('suspended')
    def do_suspend(cls, contracts, reason):
        "Suspend contracts for reason: their services leave the catalogue"
        if not reason:
            raise ReasonRequired(gettext(
                    'hb_marketplace.msg_contract_reason_required'))
        cls.write(contracts, {'suspension_reason': reason})
        cls._add_history(contracts, 'suspended', reason)
        for contract in contracts:
            contract.send_email('suspended', reason)

    @classmethod
    @Workflow.transition('terminated')
    def do_terminate(cls, contracts, reason):
        "Terminate contracts for reason"
        if not reason:
            raise ReasonRequired(gettext(
                    'hb_marketplace.msg_contract_reason_required'))
        cls._add_history(contracts, 'terminated', reason)
        for contract in contracts:
            contract.send_email('terminated', reason)

    def send_email(self, kind, reason=''):
        "Tell the provider by email that the contract changed state"
        emails = [m.value for m in self.provider.contact_mechanisms
            if m.type == 'email' and m.value]
        if not emails:
            return
        lang = self.provider.lang.code if self.provider.lang else 'fi'
        language = lang if lang in {'fi', 'sv', 'en'} else 'fi'
        with Transaction().set_context(language=language):
            variables = {
                'contract': self.number or '',
                'name': self.provider.rec_name,
                'reason': reason or '',
                }
            subject = gettext(
                'hb_marketplace.msg_email_contract_%s_subject' % kind,
                **variables)
            body = gettext(
                'hb_marketplace.msg_email_contract_%s_body' % kind,
                **variables)
        return mail.send_email(emails[0], subject, body, self)


class ContractMunicipality(ModelSQL):
    __name__ = 'hb.provider.contract-hb.municipality'
    __string__ = "Contract - Municipality"
    contract = fields.Many2One(
        'hb.provider.contract', "Contract", required=True,
        ondelete='CASCADE')
    municipality = fields.Many2One(
        'hb.municipality', "Municipality", required=True,
        ondelete='CASCADE')


class ContractCategory(ModelSQL):
    __name__ = 'hb.provider.contract-hb.service.category'
    __string__ = "Contract - Service Category"
    contract = fields.Many2One(
        'hb.provider.contract', "Contract", required=True,
        ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Category", required=True,
        ondelete='CASCADE')


class ContractCustomerGroup(ModelSQL):
    __name__ = 'hb.provider.contract-hb.customer.group'
    __string__ = "Contract - Customer Group"
    contract = fields.Many2One(
        'hb.provider.contract', "Contract", required=True,
        ondelete='CASCADE')
    customer_group = fields.Many2One(
        'hb.customer.group', "Customer Group", required=True,
        ondelete='CASCADE')


class ContractPriceCap(ModelSQL, ModelView):
    __name__ = 'hb.provider.contract.price_cap'
    __string__ = "Contract Price Cap"
    contract = fields.Many2One(
        'hb.provider.contract', "Contract", required=True,
        ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Category", required=True,
        ondelete='CASCADE')
    price_cap = fields.Numeric(
        "Price Cap per Unit", digits=(16, 2), required=True,
        domain=[('price_cap', '>', 0)],
        help="VAT included.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('category_exclude',
                Exclude(t, (t.contract, Equal), (t.category, Equal)),
                'hb_marketplace.msg_contract_price_cap_unique'),
            ]


class ContractHistory(ModelSQL, ModelView):
    __name__ = 'hb.provider.contract.history'
    __string__ = "Contract History"
    contract = fields.Many2One(
        'hb.provider.contract', "Contract", required=True,
        ondelete='CASCADE')
    action = fields.Selection([
            ('activated', "Activated"),
            ('suspended', "Suspended"),
            ('reactivated', "Reactivated"),
            ('terminated', "Terminated"),
            ], "Action", required=True, readonly=True)
    reason = fields.Text("Reason", size=5000, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    date = fields.Function(fields.Timestamp("Date"), 'get_date')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    def get_date(self, name):
        return self.create_date


class ContractReasonStart(ModelView):
    __name__ = 'hb.provider.contract.reason.start'
    __string__ = "Contract State Change"
    reason = fields.Text("Reason", size=5000, required=True)


class ContractSuspend(Wizard):
    __name__ = 'hb.provider.contract.suspend'
    __string__ = "Suspend Contract"
    start = StateView(
        'hb.provider.contract.reason.start',
        'hb_marketplace.contract_reason_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Suspend", 'suspend', 'tryton-ok', default=True),
            ])
    suspend = StateTransition()

    def transition_suspend(self):
        self.model.do_suspend(self.records, self.start.reason)
        return 'end'


class ContractTerminate(Wizard):
    __name__ = 'hb.provider.contract.terminate'
    __string__ = "Terminate Contract"
    start = StateView(
        'hb.provider.contract.reason.start',
        'hb_marketplace.contract_reason_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Terminate", 'terminate', 'tryton-ok', default=True),
            ])
    terminate = StateTransition()

    def transition_terminate(self):
        self.model.do_terminate(self.records, self.start.reason)
        return 'end'
