# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Comparison clients (vertailuasiakas): clients of the pilot's customer
group who kept the usual services, with what those services cost the
wellbeing area per month."""
from dateutil.relativedelta import relativedelta
from sql.operators import Equal
from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import ComparisonError


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    avain_comparison = fields.Boolean(
        "AVAIN Comparison Client",
        states={
            'invisible': ~Eval('hb_client', False),
            },
        help="Check if the client takes part in the evaluation of the "
        "AVAIN pilot as a comparison client who kept the usual services "
        "instead of a personal budget.")
    avain_comparison_costs = fields.One2Many(
        'hb.avain.comparison.cost', 'client', "Comparison Costs",
        states={
            'invisible': ~Eval('avain_comparison', False),
            })

    @classmethod
    def default_avain_comparison(cls):
        return False


class ComparisonCost(ModelSQL, ModelView):
    __name__ = 'hb.avain.comparison.cost'
    __string__ = "AVAIN Comparison Cost"

    company = fields.Many2One('company.company', "Company", required=True)
    client = fields.Many2One(
        'party.party', "Client", required=True, ondelete='RESTRICT',
        domain=[
            ('hb_client', '=', True),
            ('avain_comparison', '=', True),
            ])
    month = fields.Date(
        "Month", required=True,
        help="The month of the cost (stored as its first day).")
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        ondelete='RESTRICT')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        help="What the services used the usual way cost the wellbeing "
        "area in the month.")
    description = fields.Char("Description", size=500)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('client_month_category_unique',
                Exclude(t, (t.client, Equal), (t.month, Equal),
                    (t.category, Equal)),
                'hb_avain.msg_comparison_cost_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.month, Index.Range()), (t.client, Index.Range())))
        cls._order = [('month', 'DESC'), ('client', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('month'):
            values['month'] = values['month'].replace(day=1)
        return values

    @fields.depends('month')
    def on_change_month(self):
        if self.month:
            self.month = self.month.replace(day=1)

    def get_rec_name(self, name):
        return '%s %s: %s' % (
            self.client.rec_name, self.month.strftime('%Y-%m'),
            self.category.rec_name)

    @classmethod
    def validate_fields(cls, costs, field_names):
        super().validate_fields(costs, field_names)
        cls.check_comparison(costs, field_names)

    @classmethod
    def check_comparison(cls, costs, field_names=None):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Budget = pool.get('hb.budget')
        if field_names and not (
                field_names & {'client', 'month', 'amount'}):
            return
        group = Configuration(1).avain_customer_group
        for cost in costs:
            if cost.amount is None or cost.amount < 0:
                raise ComparisonError(gettext(
                        'hb_avain.msg_comparison_amount',
                        cost=cost.rec_name))
            client = cost.client
            if not group or group not in client.hb_customer_groups:
                raise ComparisonError(gettext(
                        'hb_avain.msg_comparison_not_in_group',
                        client=client.rec_name,
                        group=group.rec_name if group else ''))
            month_end = cost.month + relativedelta(day=31)
            with without_check_access():
                budgets = Budget.search([
                        ('client', '=', client.id),
                        ('start_date', '<=', month_end),
                        ('end_date', '>=', cost.month),
                        ], limit=1)
            if budgets:
                raise ComparisonError(gettext(
                        'hb_avain.msg_comparison_has_budget',
                        client=client.rec_name,
                        budget=budgets[0].rec_name))
