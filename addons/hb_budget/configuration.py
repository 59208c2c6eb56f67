# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from decimal import Decimal

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import (
    ModelSingleton,
    ModelSQL,
    ModelView,
    fields,
    sequence_ordered,
)
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import DecisionError

LETTER_TEXTS = {
    'letter_legal_basis': 'hb_budget.msg_letter_legal_basis',
    'letter_rectification': 'hb_budget.msg_letter_rectification',
    'letter_information': 'hb_budget.msg_letter_information',
    'letter_appeal': 'hb_budget.msg_letter_appeal',
    }
# The settings read by field (Configuration.get_values): cleared when the
# settings change (trytond's cache, shared by the server's processes)
_values = Cache('hb_budget.configuration.values', context=False)
STATUTES = [
    ('social_welfare', "Social Welfare Act (1301/2014)"),
    ('service_voucher', "Act on Service Vouchers (569/2009)"),
    ('informal_care', "Act on Support for Informal Care (937/2005)"),
    ('disability', "Disability Services Act (675/2023)"),
    ('other', "Other"),
    ]
STATUTE_TEXTS = {
    'social_welfare': 'hb_budget.msg_legal_basis_social_welfare',
    'service_voucher': 'hb_budget.msg_legal_basis_service_voucher',
    'informal_care': 'hb_budget.msg_legal_basis_informal_care',
    'disability': 'hb_budget.msg_legal_basis_disability',
    }


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'hb.configuration'
    __string__ = "Personal Budget Settings"

    default_period_months = fields.Integer(
        "Default Period Length", required=True,
        domain=[('default_period_months', '>', 0)],
        help="The default length of a budget period, in months.")
    review_interval_months = fields.Integer(
        "Review Interval", required=True,
        domain=[('review_interval_months', '>', 0)],
        help="How often a client plan is reviewed, in months "
        "(at least yearly).")

    own_worker_limit = fields.Numeric(
        "Own-Worker Limit", digits=(16, 2), required=True,
        domain=[('own_worker_limit', '>=', 0)],
        help="The highest yearly-equivalent amount an own-worker may "
        "approve for their own client.")
    supervisor_limit = fields.Numeric(
        "Supervisor Limit", digits=(16, 2), required=True,
        domain=[('supervisor_limit', '>=', 0)],
        help="The highest yearly-equivalent amount a supervisor may approve.")
    service_manager_limit = fields.Numeric(
        "Service Manager Limit", digits=(16, 2), required=True,
        domain=[('service_manager_limit', '>=', 0)],
        help="The highest yearly-equivalent amount a service manager may "
        "approve. Above it, a multi-professional team decides.")
    team_min_members = fields.Integer(
        "Minimum Team Members", required=True,
        domain=[('team_min_members', '>=', 2)],
        help="How many professionals a multi-professional team decision "
        "must record at least.")
    low_balance_percentage = fields.Numeric(
        "Low Balance Warning", digits=(5, 2), required=True,
        domain=[
            ('low_balance_percentage', '>=', 0),
            ('low_balance_percentage', '<=', 100),
            ],
        help="Warn when the available amount of a budget line falls below "
        "this percentage of its allocated amount.")

    letter_legal_basis = fields.Text(
        "Legal Basis", size=10000, translate=True,
        help="The legal basis printed on the decision letter.\n"
        "Leave empty to use the built-in text.")
    letter_rectification = fields.Text(
        "Rectification Request Instructions", size=10000, translate=True,
        help="The instructions for requesting rectification "
        "(oikaisuvaatimus) printed on the decision letter.\n"
        "Leave empty to use the built-in text.")
    letter_information = fields.Text(
        "Information for the Client", size=10000, translate=True,
        help="How to use the personal budget, printed on the decision "
        "letter.\nLeave empty to use the built-in text.")

    letter_appeal = fields.Text(
        "Appeal Instructions", size=10000, translate=True,
        help="The instructions for appealing to the administrative court "
        "printed on the decision on a rectification request.\n"
        "Leave empty to use the built-in text.")
    rectification_other_official = fields.Boolean(
        "Rectification by Another Official",
        help="If checked, a rectification request must be decided by "
        "an official other than the one who made the decision.")

    @classmethod
    def get_values(cls, names):
        """Return {name: value} of the settings names in the transaction's
        language: stored fields only, not the company-dependent ones.

        Cached per process and cleared when the settings change: pages,
        the API and the budget figures read a setting or two on each
        request, and the record's attributes load every setting (the
        company-dependent ones with a query each)."""
        names = tuple(sorted(set(names)))
        key = (names, Transaction().language)
        values = _values.get(key)
        if values is None:
            with without_check_access():
                values, = cls.read([1], list(names))
            values = {name: values[name] for name in names}
            _values.set(key, values)
        return dict(values)

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        _values.clear()

    @classmethod
    def default_rectification_other_official(cls):
        return True

    @classmethod
    def default_default_period_months(cls):
        return 12

    @classmethod
    def default_review_interval_months(cls):
        return 12

    @classmethod
    def default_own_worker_limit(cls):
        return Decimal('5000.00')

    @classmethod
    def default_supervisor_limit(cls):
        return Decimal('20000.00')

    @classmethod
    def default_service_manager_limit(cls):
        return Decimal('60000.00')

    @classmethod
    def default_team_min_members(cls):
        return 3

    @classmethod
    def default_low_balance_percentage(cls):
        return Decimal('20.00')

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        cls.check_limits(records, field_names)

    @classmethod
    def check_limits(cls, records, field_names=None):
        if field_names and not (field_names & {
                    'own_worker_limit', 'supervisor_limit',
                    'service_manager_limit'}):
            return
        for record in records:
            if not (record.own_worker_limit
                    <= record.supervisor_limit
                    <= record.service_manager_limit):
                raise DecisionError(gettext(
                        'hb_budget.msg_configuration_limits_order'))

    def get_letter_text(self, name):
        "Return the letter text name: the setting or the built-in text"
        return getattr(self, name, None) or gettext(LETTER_TEXTS[name])


class LegalBasis(sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'hb.legal.basis'
    __string__ = "Decision Legal Basis"

    customer_group = fields.Many2One(
        'hb.customer.group', "Customer Group", ondelete='CASCADE',
        help="The customer group the legal basis applies to.\n"
        "Leave empty for every client.")
    outcome = fields.Selection(
        'get_outcomes', "Outcome",
        help="The decision outcome the legal basis applies to.\n"
        "Leave empty for every outcome.")
    statute = fields.Selection(
        STATUTES, "Statute", required=True, sort=False,
        help="The act the decision is made under; its built-in text is "
        "printed unless a text is given.")
    text = fields.Text(
        "Text", size=10000, translate=True,
        states={
            'required': Eval('statute') == 'other',
            },
        help="The legal basis as printed on the decision letter.\n"
        "Leave empty to use the built-in text of the statute.")

    @classmethod
    def get_outcomes(cls):
        from .decision import OUTCOMES
        return OUTCOMES

    def get_rec_name(self, name):
        statute = dict(self.__class__.fields_get(
                ['statute'])['statute']['selection'])[self.statute]
        if self.customer_group:
            return '%s: %s' % (self.customer_group.rec_name, statute)
        return statute

    def get_text(self):
        "Return the text or the built-in text of the statute"
        if self.text or self.statute not in STATUTE_TEXTS:
            return self.text or ''
        return gettext(STATUTE_TEXTS[self.statute])
