# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from sql import Literal
from sql.aggregate import Count, Max, Min
from sql.conditionals import Coalesce
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .exceptions import RatingError


class Rating(ModelSQL, ModelView):
    __name__ = 'hb.service.rating'
    __string__ = "Service Rating"

    client = fields.Many2One(
        'party.party', "Client", required=True, ondelete='CASCADE')
    service = fields.Many2One(
        'product.template', "Service", required=True, ondelete='CASCADE',
        domain=[('hb_provider', '!=', None)])
    provider = fields.Function(fields.Many2One(
            'party.party', "Provider"), 'on_change_with_provider',
        searcher='search_provider')
    rating = fields.Integer(
        "Rating", required=True,
        help="From 1 (poor) to 5 (excellent).")
    comment = fields.Text("Comment", size=2000)
    date = fields.Date("Date", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @fields.depends('service')
    def on_change_with_provider(self, name=None):
        return self.service.hb_provider if self.service else None

    @classmethod
    def search_provider(cls, name, clause):
        return [('service.hb_provider' + clause[0][len(name):],
                *clause[1:])]

    def get_rec_name(self, name):
        return '%s: %s/5' % (self.service.rec_name, self.rating)

    @classmethod
    def validate_fields(cls, ratings, field_names):
        super().validate_fields(ratings, field_names)
        for rating in ratings:
            if not (1 <= (rating.rating or 0) <= 5):
                raise RatingError(gettext(
                        'hb_marketplace.msg_rating_range',
                        rating=rating.rating))


class Gap(ModelSQL, ModelView):
    __name__ = 'hb.service.gap'
    __string__ = "Service Gap"

    date = fields.Date("Date", required=True)
    source = fields.Selection([
            ('catalogue', "Catalogue Search"),
            ('client', "Client"),
            ('own_worker', "Own-Worker"),
            ], "Source", required=True,
        help="Who recorded the unmet need.")
    municipality = fields.Many2One(
        'hb.municipality', "Municipality", required=True,
        ondelete='RESTRICT')
    customer_group = fields.Many2One(
        'hb.customer.group', "Customer Group", ondelete='RESTRICT')
    category = fields.Many2One(
        'hb.service.category', "Service Category", ondelete='RESTRICT')
    client = fields.Many2One(
        'party.party', "Client", ondelete='SET NULL',
        states={
            'invisible': Eval('source') == 'catalogue',
            })
    language = fields.Char("Language", size=10, readonly=True)
    description = fields.Text("Description", size=2000,
        help="The need that no service met.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_source(cls):
        return 'own_worker'

    def get_rec_name(self, name):
        parts = [self.municipality.rec_name]
        if self.customer_group:
            parts.append(self.customer_group.rec_name)
        if self.category:
            parts.append(self.category.rec_name)
        return ' / '.join(parts)

    @classmethod
    def record_search(cls, municipality, customer_group=None,
            category=None, language=None):
        "Record the demand signal of a catalogue search without result"
        gap = cls(source='catalogue', municipality=municipality,
            customer_group=customer_group, category=category,
            language=language)
        gap.save()
        return gap


class GapReport(ModelSQL, ModelView):
    __name__ = 'hb.service.gap.report'
    __string__ = "Service Gaps by Municipality and Category"

    municipality = fields.Many2One('hb.municipality', "Municipality")
    category = fields.Many2One('hb.service.category', "Service Category")
    count = fields.Integer("Signals")
    first_date = fields.Date("First")
    last_date = fields.Date("Last")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('count', 'DESC'), ('municipality', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Gap = pool.get('hb.service.gap')
        gap = Gap.__table__()
        context = Transaction().context
        where = Literal(True)
        if context.get('from_date'):
            where &= gap.date >= context['from_date']
        if context.get('to_date'):
            where &= gap.date <= context['to_date']
        if context.get('source'):
            where &= gap.source == context['source']
        if context.get('customer_group'):
            where &= gap.customer_group == context['customer_group']
        # The id must be stable: built from the grouped columns
        return gap.select(
            (gap.municipality * 1000000
                + Coalesce(gap.category, 0)).as_('id'),
            gap.municipality.as_('municipality'),
            gap.category.as_('category'),
            Count(gap.id).as_('count'),
            Min(gap.date).as_('first_date'),
            Max(gap.date).as_('last_date'),
            where=where,
            group_by=[gap.municipality, gap.category])


class GapReportContext(ModelView):
    __name__ = 'hb.service.gap.report.context'
    __string__ = "Service Gaps Context"

    from_date = fields.Date(
        "From Date",
        domain=[If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')), ())])
    to_date = fields.Date(
        "To Date",
        domain=[If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')), ())])
    source = fields.Selection([
            (None, ""),
            ('catalogue', "Catalogue Search"),
            ('client', "Client"),
            ('own_worker', "Own-Worker"),
            ], "Source")
    customer_group = fields.Many2One('hb.customer.group', "Customer Group")


