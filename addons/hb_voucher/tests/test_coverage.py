# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Issue 16, item 3: one coverage rule. What the catalogue hides from a
municipality or a customer group cannot be charged there; what it shows
can."""
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.exceptions import ChargeError

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    provider_product,
    setup_hb,
)

MOBILE = '+358401234567'


class CoverageTestCase(_DBTestCase):
    "The catalogue and the charge apply the same coverage rule"
    module = 'hb_voucher'

    @with_transaction()
    def test_hidden_service_not_charged(self):
        "A service hidden from the client's catalogue is refused"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Template = pool.get('product.template')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            application = create_provider_with_service(
                data, municipalities=('kajaani', 'sotkamo'),
                customer_groups=('avain', 'elderly'))
            client = create_client(data, MOBILE)
            create_budget(data, client, Decimal('500.00'))
            product = provider_product(application)
            template = product.template
            kajaani, avain = data['kajaani'], data['avain']

            def shown():
                return template in Template.hb_search_catalogue(
                    kajaani, avain)

            def charge(key):
                return Charge.request(
                    application.party, MOBILE, [(product.id, 1)], key)[0]

            self.assertTrue(shown())
            self.assertEqual(charge('shown').state, 'requested')

            hide = [
                ('municipality', {
                        'hb_municipalities': [('remove', [kajaani.id])]},
                    {'hb_municipalities': [('add', [kajaani.id])]}),
                ('group', {
                        'hb_customer_groups': [('remove', [avain.id])]},
                    {'hb_customer_groups': [('add', [avain.id])]}),
                ]
            for name, hidden, restored in hide:
                with self.subTest(hidden_from=name):
                    Template.write([template], hidden)
                    self.assertFalse(shown())
                    with self.assertRaises(ChargeError) as cm:
                        charge('hidden-%s' % name)
                    self.assertIn(cm.exception.code,
                        {'not_covered', 'unknown_service'})
                    Template.write([template], restored)
                    self.assertTrue(shown())
                    self.assertEqual(
                        charge('again-%s' % name).state, 'requested')
