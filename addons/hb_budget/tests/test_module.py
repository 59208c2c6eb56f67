# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from decimal import Decimal

from trytond.model.exceptions import DomainValidationError, SQLConstraintError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from trytond.modules.hb_budget.exceptions import MunicipalityCodeError
from trytond.modules.hb_budget.tests.tools import TranslationTestMixin


class HbBudgetTestCase(TranslationTestMixin, ModuleTestCase):
    "Test HB Budget module"
    module = 'hb_budget'

    @with_transaction()
    def test_configuration_defaults(self):
        "The settings singleton has sensible defaults"
        Configuration = Pool().get('hb.configuration')
        config = Configuration(1)
        self.assertEqual(config.default_period_months, 12)
        self.assertEqual(config.review_interval_months, 12)

    @with_transaction()
    def test_municipality_code(self):
        "A municipality code is three digits and unique"
        Municipality = Pool().get('hb.municipality')
        kajaani, = Municipality.create([{'name': "Kajaani", 'code': '205'}])
        self.assertEqual(
            Municipality.search([('rec_name', '=', '205')]), [kajaani])
        with self.assertRaises(MunicipalityCodeError):
            Municipality.create([{'name': "Nowhere", 'code': '2x5'}])
        with self.assertRaises(SQLConstraintError):
            Municipality.create([{'name': "Kajaani 2", 'code': '205'}])

    @with_transaction()
    def test_service_category_price_cap(self):
        "The effective price cap is inherited from the parent"
        Category = Pool().get('hb.service.category')
        parent, = Category.create([{
                    'name': "Home help", 'code': 'home',
                    'price_cap': Decimal('45.00')}])
        child, = Category.create([{
                    'name': "Cleaning", 'code': 'clean', 'parent': parent.id}])
        self.assertEqual(child.get_price_cap(), Decimal('45.00'))
        self.assertEqual(child.rec_name, "Home help / Cleaning")
        with self.assertRaises(DomainValidationError):
            Category.create([{
                        'name': "Free", 'code': 'free',
                        'price_cap': Decimal('-1.00')}])


del ModuleTestCase
