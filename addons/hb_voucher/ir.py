# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('hb.charge|expire_requests',
                    "Release Expired Personal Budget Charges"),
                ('hb.charge|post_sales',
                    "Post Personal Budget Charges"),
                ('hb.provider.contract|create_missing_sale_points',
                    "Create the Sale Points of Provider Contracts"),
                ('hb.billing|bill_providers',
                    "Make Vendor Bills of Personal Budget Charges"),
                ('hb.payment.run|pay_vendor_bills',
                    "Pay Personal Budget Vendor Bills by SEPA"),
                ('hb.claim|capture_claims',
                    "Capture Personal Budget Claims"),
                ])


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _hb_user_rule_models(cls):
        # own-workers see the charges of their own clients
        return super()._hb_user_rule_models() | {
            'hb.charge', 'hb.authorisation', 'hb.claim'}
