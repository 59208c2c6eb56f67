# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Every text field the HB modules define has a length limit (issue 15):
a form or an API can store no text of unbounded size."""
from trytond.model import fields
from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase, with_transaction

HB_MODULES = ('hb_budget', 'hb_marketplace', 'hb_voucher', 'hb_avain')


def hb_definition(Model, name):
    """Return the field name as written in the HB class that defines it,
    None when no HB class does (a core field)"""
    for klass in Model.__mro__:
        module = getattr(klass, '__module__', '') or ''
        if not module.startswith(tuple(
                    'trytond.modules.%s.' % m for m in HB_MODULES)):
            continue
        field = vars(klass).get(name)
        if isinstance(field, fields.Field):
            return field


def text_field(field):
    """Return the Char or Text field that takes input of field (itself, the
    field of a MultiValue, the field of a Function with a setter), None
    when field takes no free text"""
    if isinstance(field, fields.MultiValue):
        field = field._field
    if isinstance(field, fields.Function):
        if not field.setter:
            return None
        field = field._field
    if isinstance(field, fields.Char):
        return field


def fields_without_size():
    "Return the (model, field) of every HB text field without a size"
    missing = []
    for name, Model in Pool().iterobject():
        for field_name in getattr(Model, '_fields', {}):
            definition = hb_definition(Model, field_name)
            if definition is None:
                continue
            field = text_field(Model._fields[field_name])
            if field is not None and not field.size:
                missing.append((name, field_name))
    return sorted(missing)


class FieldSizeTestCase(RouteTestCase):
    "The text fields of the four HB modules have a size"
    module = 'hb_avain'  # with its dependencies: all four

    @with_transaction()
    def test_walk_sees_hb_fields(self):
        "The walk finds HB fields, also those added to core models"
        pool = Pool()
        Party = pool.get('party.party')
        Template = pool.get('product.template')
        Application = pool.get('hb.provider.application')
        for Model, name in [
                (Party, 'hb_hetu'), (Party, 'hb_provider_description'),
                (Template, 'hb_description'), (Application, 'name')]:
            self.assertIsNotNone(hb_definition(Model, name), name)
        self.assertIsNone(hb_definition(Party, 'name'))

    @with_transaction()
    def test_every_text_field_has_size(self):
        "No Char or Text field defined by HB code is without a size"
        missing = fields_without_size()
        self.assertFalse(missing, "HB text fields without size=:\n%s" % (
                '\n'.join('%s.%s' % m for m in missing)))
