# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

from trytond.modules.hb_voucher.exceptions import ChargeError

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    setup_hb,
)

MOBILE = '+358401234567'


class ChargeTestCase(_DBTestCase):
    "Test the charge flow"
    module = 'hb_voucher'

    def setup_world(self, amount=Decimal('500.00')):
        data = setup_hb()
        application = create_provider_with_service(data)
        client = create_client(data, MOBILE)
        budget = create_budget(data, client, amount)
        product = provider_product(application)
        return data, application, client, budget, product

    def request(self, application, product, quantity=2, key='k1',
            mobile=MOBILE):
        pool = Pool()
        Charge = pool.get('hb.charge')
        charge, _ = Charge.request(
            application.party, mobile, [(product.id, quantity)], key)
        return charge

    @with_transaction()
    def test_charge_flow(self):
        "Request, confirm with the code, post"
        pool = Pool()
        Charge = pool.get('hb.charge')
        BudgetLine = pool.get('hb.budget.line')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product = self.setup_world()
            charge = self.request(application, product)
            self.assertEqual(charge.state, 'requested')
            self.assertEqual(charge.amount, Decimal('70.00'))
            line, = budget.lines
            line = BudgetLine(line.id)
            self.assertEqual(line.reserved, Decimal('70.00'))
            code = last_code(MOBILE)
            self.assertTrue(code)
            self.assertNotIn(code, charge.code_hash)

            # Same key: same charge, nothing reserved again
            again, created = Charge.request(
                application.party, MOBILE, [(product.id, 5)], 'k1')
            self.assertEqual(again, charge)
            self.assertFalse(created)

            charge = Charge.confirm(charge, code)
            self.assertEqual(charge.state, 'captured')
            self.assertEqual(charge.sale.state, 'done')
            self.assertEqual(charge.sale.number, charge.number)
            line = BudgetLine(line.id)
            self.assertEqual(line.reserved, Decimal('0.00'))
            self.assertEqual(line.spent, Decimal('70.00'))
            with self.assertRaises(ChargeError) as cm:
                Charge.confirm(charge, code)
            self.assertEqual(cm.exception.code, 'already_confirmed')

            Charge.post_sales()
            charge = Charge(charge.id)
            self.assertTrue(charge.posted)
            move = charge.sale.move
            by_account = {ml.account: (ml.debit, ml.credit) for ml in move.lines}
            self.assertEqual(by_account[data['expense']],
                (Decimal('70.00'), Decimal('0')))
            self.assertEqual(by_account[data['clearing']],
                (Decimal('0'), Decimal('70.00')))
            expense_line, = [ml for ml in move.lines
                if ml.account == data['expense']]
            analytic, = expense_line.analytic_lines
            self.assertEqual(analytic.account, budget.analytic_account)
            self.assertEqual(analytic.debit, Decimal('70.00'))


del _DBTestCase
