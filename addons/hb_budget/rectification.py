# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"Rectification requests (oikaisuvaatimus, Hallintolaki 434/2003 7 a luku)"
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .decision import DecisionLetter
from .exceptions import DecisionModificationError, RectificationError
from .letter_pdf import archive_report

OUTCOMES = [
    (None, ""),
    ('upheld', "Decision Upheld"),
    ('amended', "Decision Amended"),
    ('dismissed', "Dismissed Without Examination"),
    ]
CHANNELS = [
    ('back_office', "Back Office"),
    ('client_page', "Client Page"),
    ]


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _hb_user_rule_models(cls):
        "Own-workers see the rectification requests of their own clients"
        return super()._hb_user_rule_models() | {
            'hb.decision.rectification'}


class Rectification(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.decision.rectification'
    __string__ = "Rectification Request"

    _states = {
        'readonly': Eval('state') != 'received',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    decision = fields.Many2One(
        'hb.decision', "Decision", required=True, ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('state', 'in', ['approved', 'rejected']),
            ],
        states=_states,
        help="The decision whose rectification is requested.")
    client = fields.Function(
        fields.Many2One('party.party', "Client",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'on_change_with_client', searcher='search_client')
    received_date = fields.Date(
        "Received", required=True, states=_states,
        help="The day the request reached the wellbeing area.")
    channel = fields.Selection(
        CHANNELS, "Received Through", required=True, states=_states)
    request = fields.Text(
        "Request", size=10000, required=True, states=_states,
        help="What the client asks to be changed and why.")
    deadline = fields.Function(fields.Date(
            "Deadline",
            help="The last day for the request: 30 days from the "
            "notification of the decision."),
        'on_change_with_deadline')
    late = fields.Function(fields.Boolean(
            "Late",
            help="Received after the deadline: it may be dismissed "
            "without examination."),
        'on_change_with_late')
    decider = fields.Function(fields.Many2One(
            'res.user', "Original Decider"), 'on_change_with_decider')
    handler = fields.Many2One(
        'res.user', "Handled By", ondelete='RESTRICT',
        states=_states,
        help="The official who handles the request.")
    outcome = fields.Selection(
        OUTCOMES, "Outcome", sort=False, states=_states)
    outcome_string = outcome.translated('outcome')
    reasons = fields.Text(
        "Reasons", size=10000, states=_states,
        help="Why the request is decided so (Hallintolaki 45 §).")
    amended_decision = fields.Many2One(
        'hb.decision', "Amended Decision", ondelete='RESTRICT',
        domain=[
            ('client', '=', Eval('client', -1)),
            ],
        states={
            'readonly': Eval('state') != 'received',
            'invisible': Eval('outcome') != 'amended',
            },
        help="The new decision that amends the original one.")
    decided_by = fields.Many2One(
        'res.user', "Decided By", readonly=True, ondelete='RESTRICT')
    decision_date = fields.Date("Decision Date", readonly=True)
    language = fields.Function(fields.Many2One(
            'ir.lang', "Letter Language"), 'on_change_with_language')
    state = fields.Selection([
            ('received', "Received"),
            ('decided', "Decided"),
            ], "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality(cardinality='low'))))
        cls._order = [('received_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('received', 'decided'),
            }
        cls._buttons.update({
                'decide': {
                    'invisible': Eval('state') != 'received',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_received_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_channel(cls):
        return 'back_office'

    @classmethod
    def default_state(cls):
        return 'received'

    @fields.depends('decision')
    def on_change_with_client(self, name=None):
        return self.decision.client if self.decision else None

    @classmethod
    def search_client(cls, name, clause):
        return [('decision.' + clause[0],) + tuple(clause[1:])]

    @fields.depends('decision')
    def on_change_with_deadline(self, name=None):
        if self.decision:
            return self.decision.rectification_deadline

    @fields.depends('received_date', methods=['on_change_with_deadline'])
    def on_change_with_late(self, name=None):
        deadline = self.on_change_with_deadline()
        return bool(deadline and self.received_date
            and self.received_date > deadline)

    @fields.depends('decision')
    def on_change_with_decider(self, name=None):
        if self.decision:
            return self.decision.approved_by

    @fields.depends('decision')
    def on_change_with_language(self, name=None):
        if self.decision:
            return self.decision.language

    def get_rec_name(self, name):
        return '%s (%s)' % (self.decision.rec_name, self.received_date)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('decision.rec_name',) + tuple(clause[1:])]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('late', False), 'danger', '')),
            ]

    @classmethod
    def check_modification(
            cls, mode, requests, values=None, external=False):
        super().check_modification(
            mode, requests, values=values, external=external)
        if mode in {'write', 'delete'}:
            for request in requests:
                if request.state != 'received':
                    raise DecisionModificationError(gettext(
                            'hb_budget.msg_rectification_modify',
                            request=request.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('decided')
    def decide(cls, requests):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Date = pool.get('ir.date')
        User = pool.get('res.user')
        config = Configuration(1)
        user = Transaction().user
        for request in requests:
            if not request.outcome:
                raise RectificationError(gettext(
                        'hb_budget.msg_rectification_outcome',
                        request=request.rec_name))
            if not (request.reasons or '').strip():
                raise RectificationError(gettext(
                        'hb_budget.msg_rectification_reasons',
                        request=request.rec_name))
            if request.outcome == 'amended' and not (
                    request.amended_decision):
                raise RectificationError(gettext(
                        'hb_budget.msg_rectification_amended_decision',
                        request=request.rec_name))
            decider = request.decision.approved_by
            if (config.rectification_other_official and decider
                    and decider.id in {
                        user, request.handler.id if request.handler
                        else None}):
                raise RectificationError(gettext(
                        'hb_budget.msg_rectification_other_official',
                        request=request.rec_name,
                        user=decider.rec_name))
            if not request.handler and user:
                request.handler = User(user)
            request.decided_by = user or None
            request.decision_date = Date.today()
        cls.save(requests)
        for request in requests:
            request.archive_letter()

    def archive_letter(self):
        """Store the outcome letter as an attachment of the request (a PDF,
        or the OpenDocument text when the conversion fails)"""
        return archive_report('hb.decision.rectification.letter', self)


class RectificationLetter(DecisionLetter):
    "The letter of a rectification decision: the decision letter's texts"
    __name__ = 'hb.decision.rectification.letter'
