# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The evaluation report of the AVAIN pilot for a period.

HB clients are the clients with a budget from an AVAIN conversion whose
period overlaps the report's; comparison clients are those with comparison
costs in the period.

- granted: the allocated amounts of those budgets (whole budgets);
- spent: captured charges minus refunds dated in the period;
- unused: granted − spent;
- client-months: for HB, the calendar months of each budget within the
  period; for comparison clients, the months with a recorded cost;
- average per client per month: spent (or cost) / client-months;
- ratings: by HB clients in the period; service gaps: reported in the
  period for the pilot's customer group."""
import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal

from sql import Literal, Null, Union
from sql.aggregate import Avg, Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import ToChar
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction
from trytond.wizard import Button, StateReport, StateView, Wizard

GROUPS = [
    ('hb', "HB Clients"),
    ('comparison', "Comparison Clients"),
    ]
ZERO = Decimal('0.00')
CENT = Decimal('0.01')


def _decimal(value):
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _date(value):
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def get_period():
    "Return the report period: the context's dates or the pilot's"
    pool = Pool()
    Configuration = pool.get('hb.configuration')
    Date = pool.get('ir.date')
    context = Transaction().context
    config = Configuration(1)
    start = context.get('start_date') or config.avain_start_date
    end = context.get('end_date') or config.avain_end_date
    today = Date.today()
    if not start:
        start = today.replace(month=1, day=1)
    if not end:
        end = today.replace(month=12, day=31)
    return start, end


def avain_budget_query(start, end):
    """Return the SQL query of the AVAIN budgets (id, client) overlapping
    the period"""
    pool = Pool()
    Budget = pool.get('hb.budget')
    Decision = pool.get('hb.decision')
    budget = Budget.__table__()
    decision = Decision.__table__()
    return budget.join(decision, condition=budget.decision == decision.id
        ).select(budget.id.as_('id'), budget.client.as_('client'),
        where=(decision.avain_agreement != Null)
        & (budget.start_date <= end) & (budget.end_date >= start))


def spending_query(start, end, columns):
    """Return the tables (move, line, budget, party) and the FROM clause of
    the spending (captures and refunds) of AVAIN budgets in the period"""
    pool = Pool()
    Move = pool.get('hb.budget.move')
    Line = pool.get('hb.budget.line')
    Budget = pool.get('hb.budget')
    Party = pool.get('party.party')
    move = Move.__table__()
    line = Line.__table__()
    budget = Budget.__table__()
    party = Party.__table__()
    budgets = avain_budget_query(start, end)
    from_ = move.join(line, condition=move.line == line.id
        ).join(budget, condition=line.budget == budget.id
        ).join(party, condition=budget.client == party.id)
    where = (move.kind.in_(['capture', 'refund'])
        & (move.date >= start) & (move.date <= end)
        & budget.id.in_(budgets.select(budgets.id)))
    amount = Sum(Case(
            (move.kind == 'capture', move.amount),
            else_=-move.amount))
    tables = {
        'move': move, 'line': line, 'budget': budget, 'party': party}
    return tables, from_, where, amount


def comparison_query(start, end):
    pool = Pool()
    Cost = pool.get('hb.avain.comparison.cost')
    Party = pool.get('party.party')
    cost = Cost.__table__()
    party = Party.__table__()
    from_ = cost.join(party, condition=cost.client == party.id)
    where = ((cost.month >= start.replace(day=1)) & (cost.month <= end)
        & (party.avain_comparison == Literal(True)))
    return cost, party, from_, where


class EvaluationContext(ModelView):
    __name__ = 'hb.avain.evaluation.context'
    __string__ = "AVAIN Evaluation Context"

    start_date = fields.Date("Start Date", required=True)
    end_date = fields.Date("End Date", required=True)

    @classmethod
    def default_start_date(cls):
        return get_period()[0]

    @classmethod
    def default_end_date(cls):
        return get_period()[1]


class EvaluationMixin:
    __slots__ = ()
    group = fields.Selection(GROUPS, "Group", readonly=True)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')

    def get_currency(self, name):
        pool = Pool()
        Company = pool.get('company.company')
        company = Transaction().context.get('company')
        if company is not None and company >= 0:
            return Company(company).currency.id


class EvaluationCategory(EvaluationMixin, ModelSQL, ModelView):
    __name__ = 'hb.avain.evaluation.category'
    __string__ = "AVAIN Evaluation by Category"

    category = fields.Many2One(
        'hb.service.category', "Service Category", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True,
        help="HB clients: spent; comparison clients: the cost of the usual "
        "services.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('group', 'DESC'), ('amount', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        start, end = get_period()
        tables, from_, where, amount = spending_query(start, end, None)
        line = tables['line']
        hb = from_.select(
            (line.category * 2).as_('id'),
            Literal('hb').as_('group'),
            line.category.as_('category'),
            amount.as_('amount'),
            where=where, group_by=[line.category])
        cost, _, from_, where = comparison_query(start, end)
        comparison = from_.select(
            (cost.category * 2 + 1).as_('id'),
            Literal('comparison').as_('group'),
            cost.category.as_('category'),
            Sum(cost.amount).as_('amount'),
            where=where, group_by=[cost.category])
        return Union(hb, comparison, all_=True)


class EvaluationMunicipality(EvaluationMixin, ModelSQL, ModelView):
    __name__ = 'hb.avain.evaluation.municipality'
    __string__ = "AVAIN Evaluation by Municipality"

    municipality = fields.Many2One(
        'hb.municipality', "Municipality", readonly=True)
    clients = fields.Integer("Clients", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('group', 'DESC'), ('amount', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        start, end = get_period()
        tables, from_, where, amount = spending_query(start, end, None)
        party, budget = tables['party'], tables['budget']
        hb = from_.select(
            (Coalesce(party.hb_municipality, 0) * 2).as_('id'),
            Literal('hb').as_('group'),
            party.hb_municipality.as_('municipality'),
            Count(budget.client, distinct=True).as_('clients'),
            amount.as_('amount'),
            where=where, group_by=[party.hb_municipality])
        cost, party, from_, where = comparison_query(start, end)
        comparison = from_.select(
            (Coalesce(party.hb_municipality, 0) * 2 + 1).as_('id'),
            Literal('comparison').as_('group'),
            party.hb_municipality.as_('municipality'),
            Count(cost.client, distinct=True).as_('clients'),
            Sum(cost.amount).as_('amount'),
            where=where, group_by=[party.hb_municipality])
        return Union(hb, comparison, all_=True)


class EvaluationMonth(EvaluationMixin, ModelSQL, ModelView):
    __name__ = 'hb.avain.evaluation.month'
    __string__ = "AVAIN Evaluation by Month"

    month = fields.Char("Month", size=10, readonly=True)
    clients = fields.Integer("Clients", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)
    average = fields.Function(Monetary(
            "Average per Client", currency='currency', digits='currency'),
        'get_average')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'ASC'), ('group', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        # The month is computed in a subquery: grouping by the expression
        # itself fails on PostgreSQL (its format is a separate parameter)
        start, end = get_period()
        tables, from_, where, _ = spending_query(start, end, None)
        move, budget = tables['move'], tables['budget']
        rows = from_.select(
            move.id.as_('id'),
            budget.client.as_('client'),
            ToChar(move.date, 'YYYY-MM').as_('month'),
            Case((move.kind == 'capture', move.amount),
                else_=-move.amount).as_('amount'),
            where=where)
        hb = rows.select(
            (Min(rows.id) * 2).as_('id'),
            Literal('hb').as_('group'),
            rows.month.as_('month'),
            Count(rows.client, distinct=True).as_('clients'),
            Sum(rows.amount).as_('amount'),
            group_by=[rows.month])
        cost, _, from_, where = comparison_query(start, end)
        rows = from_.select(
            cost.id.as_('id'),
            cost.client.as_('client'),
            ToChar(cost.month, 'YYYY-MM').as_('month'),
            cost.amount.as_('amount'),
            where=where)
        comparison = rows.select(
            (Min(rows.id) * 2 + 1).as_('id'),
            Literal('comparison').as_('group'),
            rows.month.as_('month'),
            Count(rows.client, distinct=True).as_('clients'),
            Sum(rows.amount).as_('amount'),
            group_by=[rows.month])
        return Union(hb, comparison, all_=True)

    def get_average(self, name):
        if self.clients:
            return _decimal(_decimal(self.amount) / self.clients)


class EvaluationProvider(EvaluationMixin, ModelSQL, ModelView):
    __name__ = 'hb.avain.evaluation.provider'
    __string__ = "AVAIN Evaluation by Provider"

    provider = fields.Many2One('party.party', "Provider", readonly=True)
    charges = fields.Integer("Charges", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True,
        help="Captured charges minus refunds.")
    rating = fields.Function(fields.Numeric(
            "Average Rating", digits=(3, 2),
            help="By the HB clients of the pilot in the period."),
        'get_ratings')
    rating_count = fields.Function(
        fields.Integer("Ratings"), 'get_ratings')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('amount', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Charge = pool.get('hb.charge')
        charge = Charge.__table__()
        start, end = get_period()
        budgets = avain_budget_query(start, end)
        # Captured charges and their captured refunds, as the summary's
        # spent (captures less refunds): a charge cancelled after capture
        # is refunded in full and marked cancelled, so it counts with its
        # refund (nothing) and is not counted as a charge
        return charge.select(
            charge.provider.as_('id'),
            Literal('hb').as_('group'),
            charge.provider.as_('provider'),
            Sum(Case(((charge.kind == 'charge')
                        & (charge.state == 'captured'), 1),
                    else_=0)).as_('charges'),
            Sum(charge.amount).as_('amount'),
            where=((charge.state == 'captured')
                | ((charge.state == 'cancelled')
                    & (charge.kind == 'charge')
                    & (charge.captured_at != Null)))
            & (charge.date >= start) & (charge.date <= end)
            & charge.budget.in_(budgets.select(budgets.id)),
            group_by=[charge.provider])

    @classmethod
    def get_ratings(cls, records, names):
        ratings = rating_figures(get_period(), by_provider=True)
        result = {n: {} for n in names}
        for record in records:
            average, count = ratings.get(record.provider.id, (None, 0))
            if 'rating' in names:
                result['rating'][record.id] = average
            if 'rating_count' in names:
                result['rating_count'][record.id] = count
        return result


def rating_figures(period, by_provider=False):
    """Return the (average, count) of the ratings by HB clients of the
    pilot in period, per provider id if by_provider, else as one pair"""
    pool = Pool()
    Rating = pool.get('hb.service.rating')
    Template = pool.get('product.template')
    rating = Rating.__table__()
    template = Template.__table__()
    start, end = period
    budgets = avain_budget_query(start, end)
    cursor = Transaction().connection.cursor()
    where = ((rating.date >= start) & (rating.date <= end)
        & rating.client.in_(budgets.select(budgets.client)))
    if by_provider:
        cursor.execute(*rating.join(template,
                condition=rating.service == template.id
                ).select(template.hb_provider, Avg(rating.rating),
                Count(rating.id), where=where,
                group_by=[template.hb_provider]))
        return {p: (_rating(a), c) for p, a, c in cursor}
    cursor.execute(*rating.select(
            Avg(rating.rating), Count(rating.id), where=where))
    average, count = cursor.fetchone()
    return _rating(average), count or 0


def _rating(value):
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class EvaluationSummary(EvaluationMixin, ModelSQL, ModelView):
    __name__ = 'hb.avain.evaluation.summary'
    __string__ = "AVAIN Evaluation Summary"

    start_date = fields.Function(
        fields.Date("Period Start"), 'get_figures')
    end_date = fields.Function(fields.Date("Period End"), 'get_figures')
    data_date = fields.Function(
        fields.Timestamp("Data As Of",
            help="When the figures were read from the records."),
        'get_figures')
    clients = fields.Function(fields.Integer("Clients"), 'get_figures')
    client_months = fields.Function(
        fields.Integer("Client-Months"), 'get_figures')
    granted = fields.Function(Monetary(
            "Granted", currency='currency', digits='currency'),
        'get_figures')
    spent = fields.Function(Monetary(
            "Spent", currency='currency', digits='currency',
            help="HB clients: captured charges minus refunds; comparison "
            "clients: the cost of the usual services."),
        'get_figures')
    unused = fields.Function(Monetary(
            "Unused", currency='currency', digits='currency'),
        'get_figures')
    average = fields.Function(Monetary(
            "Average per Client per Month", currency='currency',
            digits='currency'),
        'get_figures')
    rating = fields.Function(fields.Numeric(
            "Average Rating", digits=(3, 2)), 'get_figures')
    rating_count = fields.Function(
        fields.Integer("Ratings"), 'get_figures')
    gaps = fields.Function(
        fields.Integer("Service Gaps Reported"), 'get_figures')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Model = pool.get('ir.model')
        # One row per group whatever the data: the figures are computed
        table = Model.__table__()
        where = table.name == cls.__name__
        return Union(
            table.select(Literal(1).as_('id'), Literal('hb').as_('group'),
                where=where),
            table.select(Literal(2).as_('id'),
                Literal('comparison').as_('group'), where=where),
            all_=True)

    @classmethod
    def get_figures(cls, records, names):
        figures = compute_figures(get_period())
        result = {n: {} for n in names}
        for record in records:
            values = figures[record.group]
            for name in names:
                result[name][record.id] = values.get(name)
        return result


def _months_touched(start, end):
    "Return the number of calendar months touched by the period"
    if end < start:
        return 0
    return (end.year - start.year) * 12 + end.month - start.month + 1


def compute_figures(period):
    """Return {group: {figure: value}} for the period (see the module
    docstring for the definitions)"""
    pool = Pool()
    Budget = pool.get('hb.budget')
    Line = pool.get('hb.budget.line')
    Configuration = pool.get('hb.configuration')
    Gap = pool.get('hb.service.gap')
    start, end = period
    cursor = Transaction().connection.cursor()
    now = dt.datetime.now().replace(microsecond=0)
    base = {
        'start_date': start, 'end_date': end, 'data_date': now,
        }

    budget = Budget.__table__()
    line = Line.__table__()
    budgets = avain_budget_query(start, end)
    cursor.execute(*budget.select(
            budget.id, budget.client, budget.start_date, budget.end_date,
            where=budget.id.in_(budgets.select(budgets.id))))
    rows = list(cursor)
    hb_clients = {r[1] for r in rows}
    client_months = sum(_months_touched(
            max(_date(r[2]), start), min(_date(r[3]), end)) for r in rows)
    granted = ZERO
    if rows:
        cursor.execute(*line.select(Sum(line.amount),
                where=line.budget.in_(budgets.select(budgets.id))))
        granted = _decimal(cursor.fetchone()[0])
    _, from_, where, amount = spending_query(start, end, None)
    cursor.execute(*from_.select(amount, where=where))
    spent = _decimal(cursor.fetchone()[0])
    rating, rating_count = rating_figures(period)

    group = Configuration(1).avain_customer_group
    gap = Gap.__table__()
    gaps = 0
    if group:
        cursor.execute(*gap.select(Count(gap.id),
                where=(gap.date >= start) & (gap.date <= end)
                & (gap.customer_group == group.id)))
        gaps = cursor.fetchone()[0] or 0

    cost, _, from_, where = comparison_query(start, end)
    cursor.execute(*from_.select(
            cost.client, cost.month, Sum(cost.amount),
            where=where, group_by=[cost.client, cost.month]))
    comparison_rows = list(cursor)
    comparison_cost = sum(
        (_decimal(r[2]) for r in comparison_rows), ZERO)
    comparison_months = len(comparison_rows)

    def average(amount, months):
        if months:
            return (amount / months).quantize(CENT, rounding=ROUND_HALF_UP)

    return {
        'hb': dict(base,
            clients=len(hb_clients), client_months=client_months,
            granted=granted, spent=spent, unused=granted - spent,
            average=average(spent, client_months),
            rating=rating, rating_count=rating_count, gaps=gaps),
        'comparison': dict(base,
            clients=len({r[0] for r in comparison_rows}),
            client_months=comparison_months,
            granted=None, spent=comparison_cost, unused=None,
            average=average(comparison_cost, comparison_months),
            rating=None, rating_count=None, gaps=None),
        }


class EvaluationExportStart(ModelView):
    __name__ = 'hb.avain.evaluation.export.start'
    __string__ = "Export AVAIN Evaluation"

    start_date = fields.Date("Start Date", required=True)
    end_date = fields.Date("End Date", required=True)

    @classmethod
    def default_start_date(cls):
        return get_period()[0]

    @classmethod
    def default_end_date(cls):
        return get_period()[1]


class EvaluationExport(Wizard):
    __name__ = 'hb.avain.evaluation.export'
    __string__ = "Export AVAIN Evaluation"

    start = StateView('hb.avain.evaluation.export.start',
        'hb_avain.evaluation_export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'export', 'tryton-ok', default=True),
            ])
    export = StateReport('hb.avain.evaluation.csv')

    def do_export(self, action):
        return action, {
            'start_date': self.start.start_date.isoformat(),
            'end_date': self.start.end_date.isoformat(),
            }


class EvaluationCSV(Report):
    "The evaluation report as CSV (UTF-8, comma separated)"
    __name__ = 'hb.avain.evaluation.csv'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        ModelAccess.check('hb.avain.evaluation.summary', 'read')
        start = dt.date.fromisoformat(data['start_date'])
        end = dt.date.fromisoformat(data['end_date'])
        content = render_csv(start, end)
        name = 'avain-evaluation-%s-%s' % (start.isoformat(), end.isoformat())
        return 'csv', content.encode('utf-8'), False, name


def render_csv(start, end):
    "Return the evaluation for the period as CSV text"
    pool = Pool()
    Category = pool.get('hb.avain.evaluation.category')
    Provider = pool.get('hb.avain.evaluation.provider')
    Municipality = pool.get('hb.avain.evaluation.municipality')
    Month = pool.get('hb.avain.evaluation.month')
    Summary = pool.get('hb.avain.evaluation.summary')
    IrModel = pool.get('ir.model')
    output = io.StringIO()
    writer = csv.writer(output, lineterminator='\n')
    groups = dict(Summary.fields_get(['group'])['group']['selection'])

    def string(model, name):
        return model.fields_get([name])[name]['string']

    def number(value):
        if value is None:
            return ''
        if isinstance(value, (Decimal, float)):
            return str(_decimal(value))
        return str(value)

    with Transaction().set_context(start_date=start, end_date=end):
        summaries = Summary.search([])
        writer.writerow([gettext('hb_avain.msg_evaluation_title')])
        writer.writerow([string(Summary, 'start_date'), start.isoformat()])
        writer.writerow([string(Summary, 'end_date'), end.isoformat()])
        writer.writerow([string(Summary, 'data_date'),
                summaries[0].data_date.isoformat(sep=' ')])
        writer.writerow([])
        names = ['clients', 'client_months', 'granted', 'spent', 'unused',
            'average', 'rating', 'rating_count', 'gaps']
        writer.writerow([string(Summary, 'group')]
            + [string(Summary, n) for n in names])
        for summary in summaries:
            writer.writerow([groups[summary.group]]
                + [number(getattr(summary, n)) for n in names])

        sections = [
            (Category, 'category', ['amount']),
            (Provider, 'provider', ['charges', 'amount', 'rating',
                    'rating_count']),
            (Municipality, 'municipality', ['clients', 'amount']),
            (Month, 'month', ['clients', 'amount', 'average']),
            ]
        for Model, key, names in sections:
            writer.writerow([])
            writer.writerow([IrModel.get_name(Model.__name__)])
            writer.writerow([string(Model, 'group'), string(Model, key)]
                + [string(Model, n) for n in names])
            for record in Model.search([]):
                value = getattr(record, key)
                if value is not None and not isinstance(value, str):
                    value = value.rec_name
                writer.writerow([groups[record.group], value or '']
                    + [number(getattr(record, n)) for n in names])
    return output.getvalue()
