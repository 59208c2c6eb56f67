# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import datetime
from decimal import Decimal

from sql import Collate, Column, Literal, Null, Window, With
from sql.aggregate import Avg, Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Lower
from sql.operators import Equal, Exists
from trytond import backend
from trytond.i18n import gettext
from trytond.model import Exclude, ModelSQL, ModelView, Workflow, fields
from trytond.model.modelsql import convert_from
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from trytond.modules.hb_budget.master import UNITS

from .exceptions import (
    InvalidPrice,
    PriceAboveCap,
    ProviderNotActive,
    ReasonRequired,
)
from .tools import LANGUAGES

SERVICE_STATES = [
    (None, ""),
    ('proposed', "Proposed"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ('withdrawn', "Withdrawn"),
    ]
CATALOGUE_SORTS = ['price', 'rating', 'name']
UNIT2UOM = {
    'hour': 'uom_hour',
    'day': 'uom_day',
    'km': 'uom_kilometer',
    }


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    _hb_states = {
        'invisible': ~Eval('hb_provider'),
        }

    hb_provider = fields.Many2One(
        'party.party', "HB Provider", ondelete='RESTRICT',
        states={
            'readonly': Eval('hb_state') == 'approved',
            },
        help="The approved provider who sells this service in the "
        "personal budget marketplace.")
    hb_contract = fields.Many2One(
        'hb.provider.contract', "Provider Contract", ondelete='RESTRICT',
        domain=[
            ('provider', '=', Eval('hb_provider', -1)),
            ],
        states={
            'invisible': ~Eval('hb_provider'),
            'required': Bool(Eval('hb_provider')),
            })
    hb_category = fields.Many2One(
        'hb.service.category', "Service Category", ondelete='RESTRICT',
        states={
            'invisible': ~Eval('hb_provider'),
            'required': Bool(Eval('hb_provider')),
            })
    hb_unit = fields.Selection(
        [(None, "")] + UNITS, "Service Unit", states={
            'invisible': ~Eval('hb_provider'),
            'required': Bool(Eval('hb_provider')),
            })
    hb_customer_groups = fields.Many2Many(
        'product.template-hb.customer.group', 'template', 'customer_group',
        "Customer Groups", states=_hb_states)
    hb_municipalities = fields.Many2Many(
        'product.template-hb.municipality', 'template', 'municipality',
        "Municipalities", states=_hb_states)
    hb_languages = fields.MultiSelection(
        LANGUAGES, "Languages of Service", states=_hb_states)
    hb_description = fields.Text(
        "Service Description", size=5000, translate=True,
        states=_hb_states)
    hb_state = fields.Selection(
        SERVICE_STATES, "Catalogue State", readonly=True,
        states=_hb_states,
        help="Only approved services of active contracts are shown in the "
        "catalogue.")
    hb_price_proposals = fields.One2Many(
        'hb.service.price.proposal', 'service', "Price Proposals",
        readonly=True, states=_hb_states)
    hb_rating = fields.Function(fields.Numeric(
            "Average Rating", digits=(2, 1), states=_hb_states),
        'get_hb_rating')
    hb_rating_count = fields.Function(fields.Integer(
            "Ratings", states=_hb_states), 'get_hb_rating')
    hb_category_covered = fields.Function(fields.Boolean(
            "Category Covered by Contract", states=_hb_states,
            help="The contract covers the service's category or one of "
            "its parents."),
        'get_hb_category_covered', searcher='search_hb_category_covered')

    del _hb_states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'hb_approve': {
                    'invisible': Eval('hb_state') != 'proposed',
                    'depends': ['hb_state'],
                    },
                'hb_reject': {
                    'invisible': Eval('hb_state') != 'proposed',
                    'depends': ['hb_state'],
                    },
                })

    @classmethod
    def hb_default_uom(cls, unit):
        "Return the unit of measure of products sold by HB unit"
        pool = Pool()
        Uom = pool.get('product.uom')
        ModelData = pool.get('ir.model.data')
        return Uom(ModelData.get_id('product', UNIT2UOM.get(unit, 'uom_unit')))

    @fields.depends('hb_category', 'hb_unit')
    def on_change_hb_category(self):
        if self.hb_category and not self.hb_unit:
            self.hb_unit = self.hb_category.unit

    @fields.depends('hb_provider', 'hb_state')
    def on_change_hb_provider(self):
        if self.hb_provider and not self.hb_state:
            self.hb_state = 'proposed'
            self.type = 'service'

    @classmethod
    def get_hb_rating(cls, templates, names):
        pool = Pool()
        Rating = pool.get('hb.service.rating')
        rating = Rating.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {t.id: None for t in templates} for n in names}
        if 'hb_rating_count' in result:
            result['hb_rating_count'] = {t.id: 0 for t in templates}
        for sub_ids in grouped_slice(
                [t.id for t in templates], backend.MAX_QUERY_PARAMS):
            cursor.execute(*rating.select(
                    rating.service, Avg(rating.rating), Count(rating.id),
                    where=rating.service.in_(list(sub_ids)),
                    group_by=[rating.service]))
            for service, average, count in cursor:
                if 'hb_rating' in result:
                    result['hb_rating'][service] = Decimal(
                        str(average)).quantize(Decimal('0.1'))
                if 'hb_rating_count' in result:
                    result['hb_rating_count'][service] = count
        return result

    @classmethod
    def check_hb_price(cls, price, cap, name):
        "Raise when price is not positive or above cap"
        if price is None or price <= 0:
            raise InvalidPrice(gettext(
                    'hb_marketplace.msg_price_not_positive', service=name))
        if cap is not None and price > cap:
            raise PriceAboveCap(gettext(
                    'hb_marketplace.msg_price_above_cap',
                    service=name, price=price, cap=cap))

    def get_hb_price_cap(self):
        "Return the highest price per unit the service may have"
        if self.hb_contract and self.hb_category:
            return self.hb_contract.get_price_cap(self.hb_category)
        elif self.hb_category:
            return self.hb_category.get_price_cap()

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if field_names and not (field_names & {
                    'list_price', 'list_prices', 'hb_provider',
                    'hb_contract', 'hb_category'}):
            return
        for template in templates:
            if template.hb_provider:
                cls.check_hb_price(
                    template.list_price, template.get_hb_price_cap(),
                    template.rec_name)

    @classmethod
    def copy(cls, templates, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('hb_price_proposals', None)
        default.setdefault('hb_state', lambda d: 'proposed' if d.get(
                'hb_provider') else None)
        return super().copy(templates, default=default)

    def get_hb_category_covered(self, name):
        return bool(self.hb_contract and self.hb_category
            and self.hb_contract.covers_category(self.hb_category))

    @classmethod
    def _hb_category_covered_query(cls, table):
        """Return (condition, with_): the SQL condition that the contract
        of table (of templates) covers its category or one of its parents
        (active or not, as covers_category walks them)"""
        pool = Pool()
        Category = pool.get('hb.service.category')
        ContractCategory = pool.get(
            'hb.provider.contract-hb.service.category')
        # (category, ancestor) for each category and itself or a parent
        node = Category.__table__()
        ancestors = With('category', 'ancestor', recursive=True)
        ancestors.query = node.select(node.id, node.id)
        ancestors.query |= (node
            .join(ancestors, condition=node.id == ancestors.ancestor)
            .select(ancestors.category, node.parent,
                where=node.parent != Null))
        covered = ContractCategory.__table__()
        return Exists(covered
            .join(ancestors, condition=ancestors.ancestor == covered.category)
            .select(Literal(1),
                where=(covered.contract == table.hb_contract)
                & (ancestors.category == table.hb_category))), [ancestors]

    @classmethod
    def search_hb_category_covered(cls, name, clause):
        _, operator, value = clause[:3]
        table = cls.__table__()
        condition, with_ = cls._hb_category_covered_query(table)
        query = table.select(table.id, where=condition, with_=with_)
        if (operator == '=') == bool(value):
            return [('id', 'in', query)]
        return [('id', 'not in', query)]

    @classmethod
    def hb_coverage_domain(cls, municipality, customer_groups,
            category=None, date=None):
        """Return the domain of the services a client of municipality
        belonging to one of customer_groups may buy on date (today by
        default), of category or its subcategories when given: the one
        rule of the catalogue, the charge and the client pages.

        An approved and active service of a provider, offered by the
        service itself to the municipality and to one of the groups,
        whose contract is active and valid on date and covers the
        municipality, the same group and the service's category (or a
        parent of it). It is sold at the service's own list price.
        hb_catalogue_where is its SQL form for the catalogue pages."""
        if date is None:
            date = Pool().get('ir.date').today()
        municipality = getattr(municipality, 'id', municipality)
        if customer_groups is None or isinstance(customer_groups, int) \
                or hasattr(customer_groups, 'id'):
            customer_groups = [customer_groups]
        groups = [getattr(g, 'id', g) for g in customer_groups
            if g is not None]
        if municipality is None or not groups:
            return [('id', '=', None)]
        domain = [
            ('hb_state', '=', 'approved'),
            ('hb_provider', '!=', None),
            ('type', '=', 'service'),
            ('active', '=', True),
            ('hb_municipalities', '=', municipality),
            ['OR'] + [[
                    ('hb_customer_groups', '=', g),
                    ('hb_contract.customer_groups', '=', g),
                    ] for g in groups],
            ('hb_contract.state', '=', 'active'),
            ('hb_contract.start_date', '<=', date),
            ['OR',
                ('hb_contract.end_date', '=', None),
                ('hb_contract.end_date', '>=', date),
                ],
            ('hb_contract.municipalities', '=', municipality),
            ('hb_category_covered', '=', True),
            ]
        if category:
            domain.append(('hb_category', 'child_of', [
                        getattr(category, 'id', category)], 'parent'))
        return domain

    @classmethod
    def hb_catalogue_where(cls, municipality, customer_group,
            category=None, date=None):
        """Return (table, where, with_): the SQL condition on table (of
        templates) that selects the catalogue services, of category or its
        subcategories when given, whose contract covers their category or
        one of its parents (see covers_category), and the common table
        expressions it needs.

        It is hb_coverage_domain for one customer group written as joins
        that PostgreSQL runs in a fraction of the time of the domain's
        subqueries (a test proves both select the same services)."""
        pool = Pool()
        Contract = pool.get('hb.provider.contract')
        ContractMunicipality = pool.get(
            'hb.provider.contract-hb.municipality')
        ContractGroup = pool.get('hb.provider.contract-hb.customer.group')
        TemplateMunicipality = pool.get('product.template-hb.municipality')
        TemplateGroup = pool.get('product.template-hb.customer.group')
        if date is None:
            date = pool.get('ir.date').today()
        municipality = getattr(municipality, 'id', municipality)
        customer_group = getattr(customer_group, 'id', customer_group)

        table = cls.__table__()
        contract = Contract.__table__()
        where = ((table.hb_state == 'approved')
            & (table.hb_provider != Null)
            & (table.type == 'service')
            & (table.active == Literal(True)))
        in_force = ((contract.id == table.hb_contract)
            & (contract.state == 'active')
            & (contract.start_date <= date)
            & ((contract.end_date == Null) | (contract.end_date >= date)))
        for Relation, column, value, origin in [
                (TemplateMunicipality, 'municipality', municipality, table),
                (TemplateGroup, 'customer_group', customer_group, table),
                (ContractMunicipality, 'municipality', municipality,
                    contract),
                (ContractGroup, 'customer_group', customer_group, contract),
                ]:
            relation = Relation.__table__()
            if origin is table:
                where &= Exists(relation.select(Literal(1),
                        where=(relation.template == table.id)
                        & (Column(relation, column) == value)))
            else:
                in_force &= Exists(relation.select(Literal(1),
                        where=(relation.contract == contract.id)
                        & (Column(relation, column) == value)))
        where &= Exists(contract.select(Literal(1), where=in_force))
        if category:
            # As the domain's child_of does
            where &= table.id.in_(cls.search([
                        ('hb_category', 'child_of', [
                                getattr(category, 'id', category)],
                            'parent'),
                        ], order=[], query=True))

        covered, with_ = cls._hb_category_covered_query(table)
        where &= covered
        return table, where, with_

    @classmethod
    def hb_catalogue_order(cls, table, sort):
        """Return (from_, order_by) to sort the catalogue services of table
        by sort (CATALOGUE_SORTS), as the catalogue always did, and by id:
        price: price, name (case ignored);
        name: name (case ignored), price;
        rating: average rating rounded to a tenth (none: 0) descending,
        price, name.
        The price is the list price of the context's company; the name
        is translated into the context's language."""
        pool = Pool()
        ListPrice = pool.get('product.list_price')
        Rating = pool.get('hb.service.rating')
        tables = {None: (table, None)}
        name, = cls.name.convert_order('name', tables, cls)
        from_ = convert_from(None, tables)
        if backend.name == 'postgresql':
            # The order of Python's str, as the catalogue sorted in Python
            def collate(expression):
                return Collate(expression, 'C')
        else:
            def collate(expression):
                return expression

        # The template's list price as get_multivalue reads it: the first
        # (by id) of the company's values that are not a variant's
        company = Transaction().context.get('company')
        if company is not None:
            list_price = ListPrice.__table__()
            first = list_price.select(
                list_price.template, Min(list_price.id).as_('id'),
                where=(list_price.company == company)
                & (list_price.product == Null),
                group_by=[list_price.template])
            value = ListPrice.__table__()
            from_ = (from_
                .join(first, 'LEFT', condition=first.template == table.id)
                .join(value, 'LEFT', condition=value.id == first.id))
            # (as Tryton orders a Numeric: cast on SQLite, which keeps it
            # as bytes)
            price, = ListPrice.list_price.convert_order(
                'list_price', {None: (value, None)}, ListPrice)
        else:
            price = Literal(None)

        lower_name = collate(Lower(name))
        if sort == 'name':
            order_by = [lower_name, price]
        elif sort == 'rating':
            rating = Rating.__table__()
            totals = rating.select(
                rating.service, Sum(rating.rating).as_('total'),
                Count(rating.id).as_('count'),
                group_by=[rating.service])
            from_ = from_.join(
                totals, 'LEFT', condition=totals.service == table.id)
            # get_hb_rating rounds the average to a tenth, half to even:
            # the same in whole tenths from the integer ratings
            tenths, count = totals.total * 10, totals.count
            quotient = tenths / count
            twice_rest = (tenths - quotient * count) * 2
            rounded = Case(
                ((twice_rest > count)
                    | ((twice_rest == count)
                        & ((quotient - (quotient / 2) * 2) == 1)),
                    quotient + 1),
                else_=quotient)
            order_by = [Coalesce(rounded, 0).desc, price, collate(name)]
        else:
            order_by = [price, lower_name]
        order_by.append(table.id)
        return from_, order_by

    @classmethod
    def hb_catalogue_page(cls, municipality, customer_group, category=None,
            sort='price', offset=0, limit=None, date=None):
        """Return the number of catalogue services and the ids of those
        from offset (up to limit) in the order of sort (see
        hb_catalogue_where and hb_catalogue_order): one query whatever the
        number of services (two beyond the last one)"""
        cursor = Transaction().connection.cursor()
        table, where, with_ = cls.hb_catalogue_where(
            municipality, customer_group, category, date)
        from_, order_by = cls.hb_catalogue_order(table, sort)
        cursor.execute(*from_.select(
                table.id, Count(window=Window([])),
                where=where, order_by=order_by, limit=limit,
                offset=offset or None, with_=with_))
        rows = cursor.fetchall()
        if rows:
            count = rows[0][1]
        elif offset:
            cursor.execute(*table.select(
                    Count(), where=where, with_=with_))
            count, = cursor.fetchone()
        else:
            count = 0
        return count, [r[0] for r in rows]

    @classmethod
    def hb_list_prices(cls, templates):
        """Return the list price of each template by id, as get_multivalue
        reads it (the first by id of the context company's values that are
        not a variant's), in one query for all"""
        pool = Pool()
        ListPrice = pool.get('product.list_price')
        company = Transaction().context.get('company')
        prices = {t.id: None for t in templates}
        if company is None or not prices:
            return prices
        for sub_ids in grouped_slice(list(prices), backend.MAX_QUERY_PARAMS):
            for value in ListPrice.search_read([
                        ('template', 'in', list(sub_ids)),
                        ('company', '=', company),
                        ('product', '=', None),
                        ], order=[('id', 'ASC')],
                    fields_names=['template', 'list_price']):
                if prices[value['template']] is None:
                    prices[value['template']] = value['list_price']
        return prices

    @classmethod
    def hb_search_catalogue(cls, municipality, customer_group,
            category=None, date=None, sort='price'):
        """Return the catalogue services (see hb_catalogue_where) in the
        order of sort"""
        _, ids = cls.hb_catalogue_page(
            municipality, customer_group, category, sort=sort, date=date)
        return cls.browse(ids)

    @classmethod
    @ModelView.button
    def hb_approve(cls, templates):
        "Approve services proposed by providers for the catalogue"
        for template in templates:
            if not (template.hb_contract
                    and template.hb_contract.state == 'active'):
                raise ProviderNotActive(gettext(
                        'hb_marketplace.msg_provider_not_active',
                        provider=template.hb_provider.rec_name))
        cls.write(templates, {'hb_state': 'approved'})

    @classmethod
    @ModelView.button
    def hb_reject(cls, templates):
        cls.write(templates, {'hb_state': 'rejected'})


class TemplateCustomerGroup(ModelSQL):
    __name__ = 'product.template-hb.customer.group'
    __string__ = "Service - Customer Group"
    template = fields.Many2One(
        'product.template', "Template", required=True, ondelete='CASCADE')
    customer_group = fields.Many2One(
        'hb.customer.group', "Customer Group", required=True,
        ondelete='CASCADE')


class TemplateMunicipality(ModelSQL):
    __name__ = 'product.template-hb.municipality'
    __string__ = "Service - Municipality"
    template = fields.Many2One(
        'product.template', "Template", required=True, ondelete='CASCADE')
    municipality = fields.Many2One(
        'hb.municipality', "Municipality", required=True,
        ondelete='CASCADE')


class PriceProposal(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.service.price.proposal'
    __string__ = "Price Proposal"

    service = fields.Many2One(
        'product.template', "Service", required=True, ondelete='CASCADE',
        domain=[('hb_provider', '!=', None)],
        states={
            'readonly': Eval('state') != 'proposed',
            })
    provider = fields.Function(fields.Many2One(
            'party.party', "Provider"), 'on_change_with_provider',
        searcher='search_provider')
    current_price = fields.Function(fields.Numeric(
            "Current Price", digits=(16, 2)), 'on_change_with_current_price')
    price = fields.Numeric(
        "Proposed Price", digits=(16, 2), required=True,
        states={
            'readonly': Eval('state') != 'proposed',
            },
        help="VAT included. Takes effect when approved.")
    price_cap = fields.Function(fields.Numeric(
            "Price Cap", digits=(16, 2)), 'on_change_with_price_cap')
    note = fields.Text("Note", size=2000, readonly=True,
        help="The provider's explanation.")
    web_user = fields.Many2One('web.user', "Proposed by", readonly=True)
    decision_reason = fields.Text(
        "Decision Reason", size=5000,
        states={
            'readonly': Eval('state') != 'proposed',
            })
    decided_by = fields.Many2One('res.user', "Decided by", readonly=True)
    decided_at = fields.Timestamp("Decided at", readonly=True)
    state = fields.Selection([
            ('proposed', "Proposed"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('service_open_exclude',
                Exclude(t, (t.service, Equal),
                    where=t.state == 'proposed'),
                'hb_marketplace.msg_price_proposal_open'),
            ]
        cls._order.insert(0, ('create_date', 'DESC'))
        cls._transitions |= {
            ('proposed', 'approved'),
            ('proposed', 'rejected'),
            ('proposed', 'cancelled'),
            }
        cls._buttons.update({
                'approve': {
                    'invisible': Eval('state') != 'proposed',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': Eval('state') != 'proposed',
                    'readonly': ~Bool(Eval('decision_reason')),
                    'depends': ['state', 'decision_reason'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'proposed',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'proposed'

    @fields.depends('service')
    def on_change_with_provider(self, name=None):
        return self.service.hb_provider if self.service else None

    @classmethod
    def search_provider(cls, name, clause):
        return [('service.hb_provider' + clause[0][len(name):],
                *clause[1:])]

    @fields.depends('service')
    def on_change_with_current_price(self, name=None):
        if self.service:
            return self.service.list_price

    @fields.depends('service')
    def on_change_with_price_cap(self, name=None):
        if self.service:
            return self.service.get_hb_price_cap()

    def get_rec_name(self, name):
        return '%s: %s' % (self.service.rec_name, self.price)

    @classmethod
    def validate_fields(cls, proposals, field_names):
        super().validate_fields(proposals, field_names)
        if field_names and not (field_names & {'price', 'service'}):
            return
        for proposal in proposals:
            if proposal.state != 'proposed':
                continue
            service = proposal.service
            contract = service.hb_contract
            if not (contract and contract.state == 'active'):
                raise ProviderNotActive(gettext(
                        'hb_marketplace.msg_provider_not_active',
                        provider=service.hb_provider.rec_name))
            service.check_hb_price(
                proposal.price, service.get_hb_price_cap(), service.rec_name)

    @classmethod
    def _decide(cls, proposals):
        cls.write(proposals, {
                'decided_by': Transaction().user or None,
                'decided_at': datetime.datetime.now(),
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, proposals):
        "Make the proposed prices the services' prices"
        pool = Pool()
        Template = pool.get('product.template')
        templates = []
        for proposal in proposals:
            proposal.service.list_price = proposal.price
            templates.append(proposal.service)
        Template.save(templates)
        cls._decide(proposals)

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, proposals):
        for proposal in proposals:
            if not proposal.decision_reason:
                raise ReasonRequired(gettext(
                        'hb_marketplace.msg_price_proposal_reason',
                        proposal=proposal.rec_name))
        cls._decide(proposals)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, proposals):
        cls._decide(proposals)
