# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's requests to the own-worker (issue 13, Omasote): messages,
moves of money between the decided service categories, reviews and
rectification requests, sent from the client's case page
(client_case.py) and handled in the own-worker's inbox.

A move within the limit of the settings is applied at once as an
amendment decision (a decision superseding the budget's decision, with
its own letter); above the limit it waits in the inbox until the
own-worker applies or refuses it."""
import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from .exceptions import ClientRequestError

KINDS = [
    ('message', "Message"),
    ('move', "Move Between Categories"),
    ('review', "Review"),
    ('rectification', "Rectification Request"),
    ]
STATES = [
    ('open', "Open"),
    ('done', "Done"),
    ('refused', "Refused"),
    ]
# The days the own-worker has to answer a request
ANSWER_DAYS = 14
MAX_TEXT = 2000


class Representative(metaclass=PoolMeta):
    __name__ = 'hb.client.representative'

    may_make_requests = fields.Boolean(
        "May Make Requests",
        help="Check if the representative may send messages and requests "
        "(moves, reviews, rectification) to the own-worker for the client.")

    @classmethod
    def default_may_make_requests(cls):
        return False


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    hb_client_move_limit = fields.Numeric(
        "Client Move Limit", digits=(16, 2),
        domain=['OR',
            ('hb_client_move_limit', '=', None),
            ('hb_client_move_limit', '>=', 0),
            ],
        help="The largest amount the client may move at once between the "
        "decided service categories of their budget; it is applied as an "
        "amendment decision. Larger moves go to the own-worker.")

    @classmethod
    def default_hb_client_move_limit(cls):
        return Decimal('100.00')


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _hb_user_rule_models(cls):
        "Own-workers see the requests of their own clients"
        return super()._hb_user_rule_models() | {'hb.client.request'}


class ClientRequest(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.client.request'
    __string__ = "Client Request"

    _states = {
        'readonly': Eval('state') != 'open',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    client = fields.Many2One(
        'party.party', "Client", required=True, readonly=True,
        ondelete='CASCADE', domain=[('hb_client', '=', True)])
    person = fields.Many2One(
        'party.party', "Sent By", readonly=True, ondelete='RESTRICT',
        help="The client or the representative who sent the request.")
    budget = fields.Many2One(
        'hb.budget', "Budget", readonly=True, ondelete='RESTRICT',
        domain=[('client', '=', Eval('client', -1))])
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    kind_string = kind.translated('kind')
    text = fields.Text("Text", size=MAX_TEXT, readonly=True)
    from_category = fields.Many2One(
        'hb.service.category', "From Category", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': Eval('kind') != 'move'})
    to_category = fields.Many2One(
        'hb.service.category', "To Category", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': Eval('kind') != 'move'})
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True,
        states={'invisible': Eval('kind') != 'move'})
    decision = fields.Many2One(
        'hb.decision', "Amendment Decision", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': ~Eval('decision')},
        help="The decision that moved the money.")
    rectification = fields.Many2One(
        'hb.decision.rectification', "Rectification Request",
        readonly=True, ondelete='RESTRICT',
        states={'invisible': Eval('kind') != 'rectification'})
    received = fields.Date("Received", required=True, readonly=True)
    deadline = fields.Date(
        "Deadline", readonly=True,
        help="The day by which the own-worker answers.")
    late = fields.Function(
        fields.Boolean("Late"), 'on_change_with_late')
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    handled_by = fields.Many2One(
        'res.user', "Handled By", readonly=True, ondelete='RESTRICT')
    handled_date = fields.Date("Handled", readonly=True)
    answer = fields.Text(
        "Answer", size=MAX_TEXT, states=_states,
        help="The answer to the client; required when refusing.")
    history = fields.Function(fields.Many2Many(
            'hb.client.request', None, None, "Earlier Requests",
            readonly=True,
            help="The client's other requests, newest first."),
        'get_history')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality(cardinality='low'))),
                Index(t, (t.client, Index.Range()),
                    (t.create_date, Index.Range())),
                })
        cls._order = [('received', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('open', 'done'),
            ('open', 'refused'),
            }
        cls._buttons.update({
                'apply': {
                    'invisible': Eval('state') != 'open',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'refuse': {
                    'invisible': Eval('state') != 'open',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'open'

    @classmethod
    def default_received(cls):
        return Pool().get('ir.date').today()

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        if self.company:
            return self.company.currency

    @fields.depends('deadline', 'state')
    def on_change_with_late(self, name=None):
        today = Pool().get('ir.date').today()
        return bool(self.state == 'open' and self.deadline
            and self.deadline < today)

    @classmethod
    def get_history(cls, requests, name):
        result = {r.id: [] for r in requests}
        clients = {r.client.id for r in requests}
        earlier = cls.search([
                ('client', 'in', list(clients)),
                ], order=[('received', 'DESC'), ('id', 'DESC')])
        for request in requests:
            result[request.id] = [e.id for e in earlier
                if e.client == request.client and e.id != request.id]
        return result

    def get_rec_name(self, name):
        return '%s: %s (%s)' % (
            self.client.rec_name, self.kind_string, self.received)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('client.rec_name',) + tuple(clause[1:])]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('late', False), 'danger', '')),
            ]

    @classmethod
    def default_deadline(cls):
        return cls.default_received() + dt.timedelta(days=ANSWER_DAYS)

    @classmethod
    def move_limit(cls):
        Configuration = Pool().get('hb.configuration')
        limit = Configuration(1).hb_client_move_limit
        return limit if limit is not None else Decimal(0)

    def check_move(self):
        """Check the move: two different categories of the budget's
        decision, an amount from 0.01 to what is left of the first"""
        if not self.budget or self.budget.state != 'active' or (
                not self.budget.decision):
            raise ClientRequestError(gettext(
                    'hb_voucher.msg_client_request_no_budget'))
        lines = {line.category: line for line in self.budget.lines
            if line.amount}
        if (self.from_category not in lines
                or self.to_category not in lines
                or self.from_category == self.to_category):
            raise ClientRequestError(gettext(
                    'hb_voucher.msg_client_request_move_categories'))
        available = lines[self.from_category].available
        if not self.amount or self.amount <= 0 or self.amount > available:
            raise ClientRequestError(gettext(
                    'hb_voucher.msg_client_request_move_amount',
                    available=available))

    def amendment_decision(self):
        """Return the decision (not saved) that moves the money: it
        supersedes the budget's decision with the same plan and period"""
        pool = Pool()
        Decision = pool.get('hb.decision')
        Line = pool.get('hb.decision.line')
        self.check_move()
        old = self.budget.decision
        amounts = {line.category: line.amount for line in old.lines}
        amounts[self.from_category] -= self.amount
        amounts[self.to_category] += self.amount
        language = old.language.code if old.language else None
        with Transaction().set_context(language=language):
            justification = gettext(
                'hb_voucher.msg_client_request_move_justification',
                amount=self.amount,
                source=self.from_category.rec_name,
                target=self.to_category.rec_name,
                decision=old.rec_name)
        # (also called on a request not yet saved, whose text may be unset)
        if text := getattr(self, 'text', None):
            justification += '\n\n' + text
        decision = Decision(
            company=old.company, client=old.client, plan=old.plan,
            language=old.language, start_date=old.start_date,
            end_date=old.end_date, value_method='manual',
            justification=justification, reasons=justification,
            amount=old.amount, supersedes=old, outcome='amended',
            sending_method='e_delivery',
            preparer=old.client.hb_own_worker, contact=old.contact,
            number=None, team_members=[],
            lines=[Line(category=category, amount=amount)
                for category, amount in amounts.items() if amount > 0])
        return decision

    def make_amendment(self, automatic=False):
        """Make, approve and send the decision that moves the money, with
        its own number and letter. automatic: approved in the name of the
        settings' official for automatic decisions (Hallintolaki 53 e §)"""
        Decision = Pool().get('hb.decision')
        decision = self.amendment_decision()
        decision.save()
        Decision.propose([decision])
        if automatic:
            Decision.approve_automatically([decision])
        else:
            Decision.approve([decision])
        Decision.send([decision])
        self.decision = decision
        return decision

    @classmethod
    def submit(cls, request):
        """Save the request made on the client page and apply a move
        within the limit at once, decided in the name of the settings'
        official for automatic decisions; without that official, or when
        the official's delegation does not cover the amendment, the move
        waits in the inbox as one above the limit does"""
        if request.kind == 'move':
            request.check_move()
            if request.amount <= cls.move_limit():
                with without_check_access():
                    automatic = (
                        request.amendment_decision()
                        .may_decide_automatically())
            else:
                automatic = False
            if automatic:
                request.save()
                with without_check_access():
                    request.make_amendment(automatic=True)
                    request.state = 'done'
                    request.handled_date = request.received
                    request.save()
                return request
        request.save()
        return request

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def apply(cls, requests):
        """Handle the requests: a move makes its amendment decision, the
        others are marked as answered"""
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        user = Transaction().user
        for request in requests:
            if request.kind == 'move' and not request.decision:
                request.make_amendment()
            request.handled_by = user or None
            request.handled_date = today
        cls.save(requests)

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, requests):
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        user = Transaction().user
        for request in requests:
            if not (request.answer or '').strip():
                raise ClientRequestError(gettext(
                        'hb_voucher.msg_client_request_answer',
                        request=request.rec_name))
            request.handled_by = user or None
            request.handled_date = today
        cls.save(requests)
