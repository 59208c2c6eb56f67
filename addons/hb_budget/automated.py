# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Decisions made automatically (Hallintolaki 434/2003, 53 e §, issue 13):
a decision made by automated processing is decided in the name of an
official with delegated authority who set its rules. The settings name
that official ("automated_decider", a user with a delegation); without
one, nothing is decided automatically (hb_voucher's client moves then all
wait in the own-worker's inbox). The decision records the official as its
decider and its letter states that it was made automatically under the
rules set by that official. A decision the official's delegation does not
cover (amount, customer group, service category) is not decided
automatically: may_decide_automatically() tells the caller beforehand,
so that it can leave the decision to a person (hb_voucher's client moves
then wait in the own-worker's inbox)."""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .exceptions import DecisionAuthorityError


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    automated_decider = fields.Many2One(
        'res.user', "Official for Automatic Decisions", ondelete='RESTRICT',
        help="The official with a delegation in whose name decisions made "
        "automatically (such as the client's moves within the limit) are "
        "decided, under the rules this official has set (Hallintolaki "
        "53 e §). Without one, nothing is decided automatically.")

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        if field_names is None or 'automated_decider' in field_names:
            pool = Pool()
            Delegation = pool.get('hb.decision.delegation')
            for configuration in configurations:
                user = configuration.automated_decider
                if user is None:
                    continue
                with without_check_access():
                    delegated = Delegation.search(
                        [('user', '=', user.id)], limit=1)
                if not delegated:
                    raise UserError(gettext(
                            'hb_budget.msg_automated_decider_delegation',
                            user=user.rec_name))


class Decision(metaclass=PoolMeta):
    __name__ = 'hb.decision'

    automated = fields.Boolean(
        "Decided Automatically", readonly=True,
        help="Made by automated processing in the name of the official "
        "of the settings (Hallintolaki 53 e §).")

    @classmethod
    def default_automated(cls):
        return False

    @classmethod
    def automated_decider(cls):
        "Return the official of automatic decisions of the settings or None"
        Configuration = Pool().get('hb.configuration')
        return Configuration(1).automated_decider

    def may_decide_automatically(self):
        """Return whether the official of automatic decisions may decide
        the decision (saved or not): there is one and their delegation
        covers it. Nothing is written."""
        official = self.automated_decider()
        if official is None:
            return False
        with Transaction().set_user(official.id), \
                Transaction().set_context(hb_automated_decision=True):
            try:
                self.check_authority()
            except DecisionAuthorityError:
                return False
        return True

    @classmethod
    def approve_automatically(cls, decisions):
        """Approve decisions automatically in the name of the official of
        the settings, whose delegation must cover them"""
        official = cls.automated_decider()
        if official is None:
            raise UserError(gettext('hb_budget.msg_automated_no_decider'))
        with Transaction().set_user(official.id), \
                Transaction().set_context(hb_automated_decision=True):
            cls.approve(decisions)

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, decisions):
        automated = bool(
            Transaction().context.get('hb_automated_decision'))
        for decision in decisions:
            decision.automated = automated
        super().approve(decisions)

    def get_automated_statement(self):
        "The letter's statement of an automatic decision, else ''"
        if not self.automated or not self.approved_by:
            return ''
        official = self.approved_by.rec_name
        if self.decider_title:
            official = '%s, %s' % (official, self.decider_title)
        language = self.language.code if self.language else None
        with Transaction().set_context(language=language):
            return gettext(
                'hb_budget.msg_decision_automated_statement',
                official=official)
