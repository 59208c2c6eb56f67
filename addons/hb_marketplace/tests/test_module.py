# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.tests.test_tryton import ModuleTestCase

from trytond.modules.hb_budget.tests.tools import TranslationTestMixin


class HbMarketplaceTestCase(TranslationTestMixin, ModuleTestCase):
    "Test hb_marketplace module"
    module = 'hb_marketplace'


del ModuleTestCase
