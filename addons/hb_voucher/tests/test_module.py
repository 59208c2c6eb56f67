# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from trytond.tests.test_tryton import ModuleTestCase

from trytond.modules.hb_budget.tests.tools import TranslationTestMixin


class HbVoucherTestCase(TranslationTestMixin, ModuleTestCase):
    "Test hb_voucher module"
    module = 'hb_voucher'


del ModuleTestCase
