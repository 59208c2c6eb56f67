# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Charges and claims refused while a rectification request stops the
enforcement of the budget's decision (Hallintolaki 49 f §)"""
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.exceptions import ChargeError, ClaimError

from .test_claim import MOBILE, make_world
from .tools import create_wellbeing_area, last_code


class EnforcementStopTestCase(_DBTestCase):
    "Test charges and claims while enforcement is stopped"
    module = 'hb_voucher'

    @with_transaction()
    def test_charge_and_claim_refused(self):
        "A stop refuses charges and claims with its message; resume lifts it"
        pool = Pool()
        Charge = pool.get('hb.charge')
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        Rectification = pool.get('hb.decision.rectification')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product, authorisation = (
                make_world())
            request, = Rectification.create([{
                        'decision': budget.decision.id,
                        'request': "Lisää siivousta",
                        'enforcement_reason': "Summa voi pienentyä",
                        }])
            Rectification.stop_enforcement([request])

            with self.assertRaises(ChargeError) as cm:
                Charge.request(application.party, MOBILE, [(product.id, 1)])
            self.assertEqual(cm.exception.code, 'no_active_budget')
            self.assertIn('49 f', cm.exception.message)
            self.assertIn(budget.decision.rec_name, cm.exception.message)

            with self.assertRaises(ClaimError) as cm:
                Claim.submit(application.party, authorisation, product,
                    Date.today(), 1)
            self.assertEqual(cm.exception.code, 'no_active_budget')
            self.assertIn('49 f', cm.exception.message)

            Rectification.resume_enforcement([request])
            charge, _ = Charge.request(
                application.party, MOBILE, [(product.id, 1)])
            Charge.confirm(charge, last_code(MOBILE))
            self.assertEqual(Charge(charge.id).state, 'captured')
            claim, _ = Claim.submit(application.party, authorisation,
                product, Date.today(), 1)
            self.assertEqual(claim.state, 'pending')


del _DBTestCase
