# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields


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

    @classmethod
    def default_default_period_months(cls):
        return 12

    @classmethod
    def default_review_interval_months(cls):
        return 12
