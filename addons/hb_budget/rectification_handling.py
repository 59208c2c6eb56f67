# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The handling of a rectification request (Hallintolaki 434/2003 49 e §
and 49 f §, issue 13).

Handling deadline (49 e §: a request is handled urgently): every request
gets a deadline of its received date plus the days of the settings
(rectification_handling_days, 14 by default); a request still open after
it is overdue, shown in red in the supervisors' list and filterable.

Enforcement (49 f §): the official handling a request may stop the
enforcement of the decision under request, with a reason. The budget of
the decision is suspended (the budget's own "not usable" state): while
the stop lasts, the spending interface refuses charges and claims on it
with a message that tells why, and the budget cannot be resumed by hand.
Deciding the request, or the "Resume Enforcement" button, lifts the stop
and resumes the budget. Who stopped and resumed it, and when, is
recorded on the request."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from .exceptions import BudgetStateError, RectificationError

HANDLING_DAYS = 14


class EnforcementStoppedError(BudgetStateError):
    "A budget not usable because its decision's enforcement is stopped"
    # the refusal of a charge keeps this message (hb_voucher)
    charge_code = 'no_active_budget'


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    rectification_handling_days = fields.Integer(
        "Rectification Handling Days", required=True,
        domain=[('rectification_handling_days', '>', 0)],
        help="The days from receipt within which a rectification request "
        "should be decided (Hallintolaki 49 e §: handled urgently).")

    @classmethod
    def default_rectification_handling_days(cls):
        return HANDLING_DAYS


class Rectification(metaclass=PoolMeta):
    __name__ = 'hb.decision.rectification'

    handling_deadline = fields.Function(fields.Date(
            "Handling Deadline",
            help="The day by which the request should be decided: the "
            "received date plus the handling days of the settings."),
        'get_handling_deadline')
    overdue = fields.Function(fields.Boolean(
            "Overdue",
            help="Not decided by the handling deadline."),
        'get_overdue', searcher='search_overdue')
    enforcement_stopped = fields.Boolean(
        "Enforcement Stopped", readonly=True,
        help="The enforcement of the decision is stopped while the request "
        "is handled (Hallintolaki 49 f §): its budget cannot be used.")
    enforcement_reason = fields.Text(
        "Reason for Stopping Enforcement", size=2000,
        states={
            'readonly': (Eval('state') != 'received')
            | Eval('enforcement_stopped', False),
            },
        help="Why the enforcement of the decision is stopped.")
    enforcement_stopped_by = fields.Many2One(
        'res.user', "Enforcement Stopped By", readonly=True,
        ondelete='RESTRICT')
    enforcement_stopped_at = fields.Timestamp(
        "Enforcement Stopped At", readonly=True)
    enforcement_resumed_by = fields.Many2One(
        'res.user', "Enforcement Resumed By", readonly=True,
        ondelete='RESTRICT')
    enforcement_resumed_at = fields.Timestamp(
        "Enforcement Resumed At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'stop_enforcement': {
                    'invisible': ((Eval('state') != 'received')
                        | Eval('enforcement_stopped', False)),
                    'icon': 'tryton-cancel',
                    'depends': ['state', 'enforcement_stopped'],
                    },
                'resume_enforcement': {
                    'invisible': ~Eval('enforcement_stopped', False),
                    'icon': 'tryton-forward',
                    'depends': ['enforcement_stopped'],
                    },
                })

    @classmethod
    def default_enforcement_stopped(cls):
        return False

    @classmethod
    def get_handling_deadline(cls, requests, name):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        days = Configuration(1).rectification_handling_days or HANDLING_DAYS
        return {r.id: r.received_date + dt.timedelta(days=days)
            if r.received_date else None for r in requests}

    @classmethod
    def get_overdue(cls, requests, name):
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        deadlines = cls.get_handling_deadline(requests, 'handling_deadline')
        return {r.id: bool(r.state == 'received' and deadlines[r.id]
                and deadlines[r.id] < today) for r in requests}

    @classmethod
    def search_overdue(cls, name, clause):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Date = pool.get('ir.date')
        _, operator, value = clause[:3]
        days = Configuration(1).rectification_handling_days or HANDLING_DAYS
        # overdue when received before today - days
        limit = Date.today() - dt.timedelta(days=days)
        overdue = ['AND',
            ('state', '=', 'received'),
            ('received_date', '<', limit),
            ]
        if (operator == '=') == bool(value):
            return overdue
        return ['OR',
            ('state', '!=', 'received'),
            ('received_date', '>=', limit),
            ]

    @classmethod
    def view_attributes(cls):
        # red when received late (49 c §) or not decided in time (49 e §)
        attributes = [a for a in super().view_attributes()
            if a[:2] != ('/tree', 'visual')]
        return attributes + [
            ('/tree', 'visual', If(Eval('late', False)
                    | Eval('overdue', False), 'danger', '')),
            ]

    @classmethod
    @ModelView.button
    def stop_enforcement(cls, requests):
        "Stop the enforcement of the requests' decisions (49 f §)"
        pool = Pool()
        Budget = pool.get('hb.budget')
        user = Transaction().user or None
        now = dt.datetime.now()
        budgets = []
        for request in requests:
            if request.state != 'received' or request.enforcement_stopped:
                continue
            if not (request.enforcement_reason or '').strip():
                raise RectificationError(gettext(
                        'hb_budget.msg_enforcement_reason',
                        request=request.rec_name))
            budget = request.decision.budget
            if not budget or budget.state == 'closed':
                raise RectificationError(gettext(
                        'hb_budget.msg_enforcement_no_budget',
                        request=request.rec_name,
                        decision=request.decision.rec_name))
            if budget.state == 'active':
                budgets.append(budget)
            request.enforcement_stopped = True
            request.enforcement_stopped_by = user
            request.enforcement_stopped_at = now
            request.enforcement_resumed_by = None
            request.enforcement_resumed_at = None
        cls.save(requests)
        if budgets:
            with without_check_access():
                Budget.suspend(budgets)

    @classmethod
    @ModelView.button
    def resume_enforcement(cls, requests):
        "Lift the stop of enforcement and resume the decisions' budgets"
        cls._resume_enforcement(requests)

    @classmethod
    def _resume_enforcement(cls, requests):
        pool = Pool()
        Budget = pool.get('hb.budget')
        user = Transaction().user or None
        now = dt.datetime.now()
        requests = [r for r in requests if r.enforcement_stopped]
        if not requests:
            return
        for request in requests:
            request.enforcement_stopped = False
            request.enforcement_resumed_by = user
            request.enforcement_resumed_at = now
        cls.save(requests)
        budgets = []
        for request in requests:
            budget = request.decision.budget
            if (budget and budget.state == 'suspended'
                    and not cls.search([
                            ('decision', '=', request.decision.id),
                            ('enforcement_stopped', '=', True),
                            ], limit=1)):
                budgets.append(budget)
        if budgets:
            with without_check_access():
                Budget.resume(budgets)

    @classmethod
    def decide(cls, requests):
        "Deciding a request lifts the stop of enforcement"
        # (before the request is decided: then it cannot be written)
        cls._resume_enforcement(
            [r for r in requests if r.state == 'received'])
        super().decide(requests)

    @classmethod
    def copy(cls, requests, default=None):
        default = default.copy() if default is not None else {}
        for name in ['enforcement_stopped', 'enforcement_reason',
                'enforcement_stopped_by', 'enforcement_stopped_at',
                'enforcement_resumed_by', 'enforcement_resumed_at']:
            default.setdefault(name)
        return super().copy(requests, default=default)


class Budget(metaclass=PoolMeta):
    __name__ = 'hb.budget'

    def get_enforcement_stop(self):
        "Return the request that stops the enforcement of the budget or None"
        pool = Pool()
        Rectification = pool.get('hb.decision.rectification')
        if self.state != 'suspended':
            return None
        with without_check_access():
            requests = Rectification.search([
                    ('decision', '=', self.decision.id),
                    ('enforcement_stopped', '=', True),
                    ], limit=1)
        if requests:
            return requests[0]

    def get_enforcement_stop_message(self):
        """Return the translated refusal of a use of the budget while its
        decision's enforcement is stopped, or None"""
        request = self.get_enforcement_stop()
        if request:
            with without_check_access():
                return gettext('hb_budget.msg_enforcement_stopped',
                    decision=self.decision.rec_name)

    @classmethod
    def get_enforcement_stop_message_of(cls, client, date=None):
        """Return the refusal of a use of the client's budget covering date
        (today) when its decision's enforcement is stopped, or None"""
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        with without_check_access():
            budgets = cls.search([
                    ('client', '=', int(client)),
                    ('state', '=', 'suspended'),
                    ('start_date', '<=', date),
                    ('end_date', '>=', date),
                    ])
            for budget in budgets:
                message = budget.get_enforcement_stop_message()
                if message:
                    return message

    @classmethod
    def resume(cls, budgets):
        for budget in budgets:
            request = budget.get_enforcement_stop()
            if request:
                raise RectificationError(gettext(
                        'hb_budget.msg_enforcement_budget_resume',
                        budget=budget.rec_name, request=request.rec_name))
        super().resume(budgets)


class BudgetLine(metaclass=PoolMeta):
    __name__ = 'hb.budget.line'

    @classmethod
    def _update(cls, kind, line, amount, origin=None, date=None,
            check_state=True):
        try:
            return super()._update(kind, line, amount, origin=origin,
                date=date, check_state=check_state)
        except BudgetStateError as exception:
            if isinstance(exception, EnforcementStoppedError):
                raise
            message = cls(int(line)).budget.get_enforcement_stop_message()
            if message:
                raise EnforcementStoppedError(message) from exception
            raise
