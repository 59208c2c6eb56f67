# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

# The models whose record rules use the user (own-workers see their own
# clients and their records)
USER_RULE_MODELS = {'hb.plan', 'hb.decision', 'hb.budget', 'party.party'}


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _hb_user_rule_models(cls):
        "The models whose rules use user_id (other modules add theirs)"
        return USER_RULE_MODELS

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        if model_name in cls._hb_user_rule_models():
            context['user_id'] = Transaction().user
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        if model_names & cls._hb_user_rule_models():
            key = (*key, Transaction().user)
        return key


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('hb.budget|close_expired', "Close Expired Personal Budgets"))
