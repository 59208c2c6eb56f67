# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from sql.operators import Equal
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Exclude,
    ModelSQL,
    ModelView,
    fields,
    tree,
)

from .exceptions import MunicipalityCodeError

UNITS = [
    ('hour', "Hour"),
    ('visit', "Visit"),
    ('day', "Day"),
    ('month', "Month"),
    ('piece', "Piece"),
    ('km', "Kilometre"),
    ]


class Municipality(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'hb.municipality'
    __string__ = "Municipality"

    name = fields.Char("Name", size=200, required=True, translate=True,
        help="The name in Finnish (and its Swedish translation).")
    name_sv = fields.Char("Swedish Name", size=200)
    code = fields.Char("Code", required=True, size=3,
        help="The three-digit municipality code of Statistics Finland.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Exclude(t, (t.code, Equal)),
                'hb_budget.msg_municipality_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        if field_names is None or 'code' in field_names:
            for record in records:
                if not (record.code and record.code.isdigit()
                        and len(record.code) == 3):
                    raise MunicipalityCodeError(gettext(
                            'hb_budget.msg_municipality_code_invalid',
                            code=record.code,
                            municipality=record.rec_name))

    def get_rec_name(self, name):
        return self.name

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('name', operator, operand, *extra),
            ('name_sv', operator, operand, *extra),
            ('code', operator, operand, *extra),
            ]


class CustomerGroup(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'hb.customer.group'
    __string__ = "Customer Group"

    name = fields.Char("Name", size=200, required=True, translate=True)
    code = fields.Char("Code", size=50, required=True,
        help="A short stable code used by integrations and settings.")
    description = fields.Text("Description", size=5000, translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Exclude(t, (t.code, Equal)),
                'hb_budget.msg_customer_group_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))


class ServiceCategory(DeactivableMixin, tree(separator=' / '), ModelSQL,
        ModelView):
    __name__ = 'hb.service.category'
    __string__ = "Service Category"

    name = fields.Char("Name", size=200, required=True, translate=True)
    code = fields.Char("Code", size=50, required=True)
    parent = fields.Many2One(
        'hb.service.category', "Parent", ondelete='RESTRICT')
    children = fields.One2Many('hb.service.category', 'parent', "Children")
    unit = fields.Selection(UNITS, "Unit", required=True,
        help="The unit in which the service is bought.")
    price_cap = fields.Numeric("Price Cap per Unit", digits=(16, 2),
        domain=['OR',
            ('price_cap', '=', None),
            ('price_cap', '>', 0),
            ],
        help="The highest price per unit, in the company currency and VAT "
        "included, that a provider may ask. Empty: the parent's cap.")
    description = fields.Text("Description", size=5000, translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Exclude(t, (t.code, Equal)),
                'hb_budget.msg_service_category_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_unit(cls):
        return 'hour'

    def get_price_cap(self):
        "Return the effective cap: this category's or the nearest parent's"
        category = self
        while category:
            if category.price_cap is not None:
                return category.price_cap
            category = category.parent
