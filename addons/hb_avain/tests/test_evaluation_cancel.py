# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The evaluation by provider after a cancellation (issue 15, defect 10).

On the fixed data set of test_evaluation (P1 2 charges €175, P2 1 charge
€40, spent €355), P2 charges B 3 meals (€30) and cancels the charge within
the cancellation window: the charge is refunded in full and marked
cancelled. Neither the cancelled charge nor its refund counts: P2 stays at
1 charge and €40 (not €10), and the providers' amounts add up to the
spent figure of the summary (captures less refunds) less the €140 captured
without a charge."""
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.tests.tools import (
    create_wellbeing_area,
    provider_product,
)

from . import test_evaluation


class EvaluationCancelTestCase(_DBTestCase):
    "Test the evaluation by provider after a cancelled charge"
    module = 'hb_avain'

    charge = test_evaluation.EvaluationTestCase.charge
    create_data = test_evaluation.EvaluationTestCase.create_data

    @with_transaction()
    def test_provider_after_cancellation(self):
        "A cancelled charge and its refund are both left out"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Summary = pool.get('hb.avain.evaluation.summary')
        Provider = pool.get('hb.avain.evaluation.provider')
        with set_company(create_wellbeing_area()):
            data, start, end, p1, p2 = self.create_data()
            cancelled = self.charge(
                p2, provider_product(p2), test_evaluation.MOBILE_B, 3)
            self.assertEqual(cancelled.amount, Decimal('30.00'))
            cancelled = Charge.cancel(cancelled, provider=p2.party)
            self.assertEqual(cancelled.state, 'cancelled')
            self.assertEqual(len(cancelled.refunds), 1)

            with Transaction().set_context(start_date=start, end_date=end):
                hb, _ = Summary.search([], order=[('id', 'ASC')])
                self.assertEqual(hb.spent, Decimal('355.00'))
                providers = Provider.search([])
                self.assertEqual(
                    {(r.provider, r.charges, r.amount) for r in providers},
                    {(p1.party, 2, Decimal('175.00')),
                        (p2.party, 1, Decimal('40.00'))})
                # the providers' amounts add up to the spent figure less
                # the €140 captured on A's line without a charge
                self.assertEqual(
                    sum(r.amount for r in providers),
                    hb.spent - Decimal('140.00'))


del _DBTestCase
