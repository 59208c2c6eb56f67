# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The evaluation counts captured claims like charges (issue 14): a claim
captured when its window closes becomes a captured hb.charge and a
capture of its budget line, which is what the report sums; a pending or a
rejected claim is not spent. On test_evaluation's fixed data set."""
import datetime as dt
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

from .test_evaluation import MOBILE_A, EvaluationTestCase


class EvaluationClaimsTestCase(_DBTestCase):
    "Test that the AVAIN evaluation counts captured claims"
    module = 'hb_avain'

    charge = EvaluationTestCase.charge
    create_data = EvaluationTestCase.create_data

    @with_transaction()
    def test_evaluation_counts_claims(self):
        "Captured claims count as spent and as the provider's charges"
        pool = Pool()
        Party = pool.get('party.party')
        Budget = pool.get('hb.budget')
        Authorisation = pool.get('hb.authorisation')
        Claim = pool.get('hb.claim')
        Summary = pool.get('hb.avain.evaluation.summary')
        Category = pool.get('hb.avain.evaluation.category')
        Provider = pool.get('hb.avain.evaluation.provider')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            data, start, end, p1, p2 = self.create_data()
            today = Date.today()
            carer, = Party.search([('hb_mobile', '=', MOBILE_A)])
            budget, = Budget.search([
                    ('client', '=', carer.id), ('state', '=', 'active')])
            authorisation, = Authorisation.create([{
                        'client': carer.id, 'budget': budget.id,
                        'provider': p1.party.id,
                        'category': data['home_help'].id,
                        'monthly_cap': Decimal('300.00'),
                        'valid_from': budget.start_date,
                        'valid_to': budget.end_date,
                        'consent_by': carer.name,
                        'consent_method': 'meeting',
                        }])
            Authorisation.activate([authorisation])
            cleaning = provider_product(p1)

            def claim(quantity):
                return Claim.submit(p1.party, authorisation.id,
                    cleaning.id, today, quantity)[0]
            captured = claim(2)
            rejected = claim(1)
            Claim.dispute(rejected, carer, "Not delivered")
            Claim.write([rejected], {'resolution_reason': "Not delivered"})
            Claim.reject([rejected])
            self.assertEqual(Claim.capture_claims(
                    date=today + dt.timedelta(days=8)), [captured])
            pending = claim(3)
            self.assertEqual(Claim(pending.id).state, 'pending')

            with Transaction().set_context(start_date=start, end_date=end):
                hb, _ = Summary.search([], order=[('id', 'ASC')])
                # test_evaluation's 355.00 and the captured claim's 70.00
                self.assertEqual(hb.spent, Decimal('425.00'))
                self.assertEqual(hb.unused, Decimal('1075.00'))
                self.assertIn(('hb', 'HOMEHELP', Decimal('385.00')),
                    {(r.group, r.category.code, r.amount)
                        for r in Category.search([])})
                # P1: its two charges and the claim's charge
                self.assertIn((p1.party, 3, Decimal('245.00')),
                    {(r.provider, r.charges, r.amount)
                        for r in Provider.search([])})
