# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Personal budget charges as point-of-sale sales.

A charge is a sale of the provider's sale point paid with the company's
"Personal budget" method. Posting books the sale lines on the clearing
account "HB charges to be billed" (instead of revenue) and the payment on
the HB service expense account with the client's budget as analytic
account."""
from decimal import Decimal

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If


class POS(metaclass=PoolMeta):
    __name__ = 'sale.point'

    hb_contract = fields.Many2One(
        'hb.provider.contract', "Provider Contract", readonly=True,
        ondelete='RESTRICT',
        help="The provider contract whose charges the sale point records.")


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    hb_client = fields.Many2One(
        'party.party', "Personal Budget Client", readonly=True,
        ondelete='RESTRICT')
    hb_budget = fields.Many2One(
        'hb.budget', "Personal Budget", readonly=True, ondelete='RESTRICT')

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('hb_client')
        default.setdefault('hb_budget')
        return super().copy(sales, default=default)


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    @property
    def taxes(self):
        # The budget pays the catalogue price, VAT included: no tax
        # is computed on personal budget sales.
        if self.sale.hb_budget:
            return []
        return super().taxes

    def get_account_move_lines(self):
        pool = Pool()
        Line = pool.get('account.move.line')
        Configuration = pool.get('hb.configuration')
        if not self.sale.hb_budget:
            return super().get_account_move_lines()
        line = Line()
        if self.quantity >= 0:
            line.debit, line.credit = Decimal(0), self.untax_amount
        else:
            line.debit, line.credit = -self.untax_amount, Decimal(0)
        line.account = Configuration(1).get_multivalue(
            'hb_clearing_account', company=self.sale.company.id)
        line.origin = self
        return [line]


class POSPayment(metaclass=PoolMeta):
    __name__ = 'sale.point.payment'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Refunds of personal budget charges are negative payments
        # with the personal budget method, not cash.
        cls.method.domain = [
            ('company', '=', Eval('company', -1)),
            If(Eval('amount', 0) < 0,
                ['OR',
                    ('cash', '=', True),
                    ('hb_budget', '=', True),
                    ],
                ()),
            ]

    def get_account_move_lines(self):
        pool = Pool()
        AnalyticLine = pool.get('analytic_account.line')
        lines = super().get_account_move_lines()
        budget = self.sale.hb_budget
        if not (self.method.hb_budget and budget
                and budget.analytic_account):
            return lines
        for line in lines:
            line.analytic_lines = [AnalyticLine(
                    account=budget.analytic_account,
                    debit=line.debit, credit=line.credit,
                    date=self.sale.date)]
        return lines


class POSPaymentMethod(metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'

    hb_budget = fields.Boolean(
        "Personal Budget",
        help="Check for the method with which personal budgets pay.")

    @classmethod
    def default_hb_budget(cls):
        return False
