# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""AVAIN as the pilot did it (issue 13, item 4): days off counted in days
on the plan, the cared person a party of their own, the monthly limit's own
refusal on a charge and what is left this month."""
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_avain.exceptions import DaysOffError
from trytond.modules.hb_budget.tests.tools import (
    temporary_hetu,
    with_transaction,
)
from trytond.modules.hb_voucher.api import charge_data
from trytond.modules.hb_voucher.exceptions import ChargeError
from trytond.modules.hb_voucher.tests.tools import (
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    setup_hb,
)

from .tools import (
    approve,
    configure_pilot,
    create_carer,
    month_end,
    month_start,
)

MOBILE = '+358401130001'


class AvainDaysTestCase(_DBTestCase):
    "Test the AVAIN days off, cared person and monthly limit"
    module = 'hb_avain'

    def setup_carer(self, carry_over=False):
        data = setup_hb()
        start = month_start()
        end = month_end(start, 12)
        configure_pilot(data, start, end, carry_over=carry_over)
        carer, agreement = create_carer(data, 930, start, end, mobile=MOBILE)
        return data, start, end, carer, agreement

    @with_transaction()
    def test_plan_days_off_in_days(self):
        "Exchanged days off read in days at the pilot's value of a day"
        pool = Pool()
        Plan = pool.get('hb.plan')
        Service = pool.get('hb.plan.service')
        ModelData = pool.get('ir.model.data')
        Configuration = pool.get('hb.configuration')
        with set_company(create_wellbeing_area()):
            data, start, end, carer, agreement = self.setup_carer()
            config = Configuration(1)
            config.avain_day_value = Decimal('110.00')
            config.save()
            plan, = Plan.search([('client', '=', carer.id)])
            new, = Plan.copy([plan], default={'version': None})
            service = Service(plan=new, category=data['home_help'],
                quantity=Decimal('2.00'))
            service.avain_days_off = True
            service.on_change_avain_days_off()
            self.assertEqual(service.unit_cost, Decimal('110.00'))
            self.assertEqual(service.monthly_cost, Decimal('220.00'))
            service.save()
            service = Service(service.id)
            self.assertEqual(service.unit, 'day')
            self.assertEqual(service.uom.id,
                ModelData.get_id('product', 'uom_day'))
            # Without the flag the category's unit (hour) stays
            other, = [s for s in new.services if s != service]
            self.assertEqual(other.unit, 'hour')
            service.quantity = Decimal('1.50')
            with self.assertRaises(DaysOffError):
                service.save()

    @with_transaction()
    def test_cared_person(self):
        "The cared person: a party with an optional HETU and plan reference"
        pool = Pool()
        Agreement = pool.get('hb.avain.agreement')
        Party = pool.get('party.party')
        with set_company(create_wellbeing_area()):
            data, start, end, carer, agreement = self.setup_carer()
            self.assertIsNone(agreement.child_hetu)
            hetu = temporary_hetu(individual=931)
            Agreement.write([agreement], {
                    'child_hetu': hetu,
                    'care_plan_reference': 'HPS-2026-0931',
                    })
            agreement = Agreement(agreement.id)
            self.assertEqual(agreement.child_hetu, hetu)
            self.assertEqual(agreement.care_plan_reference, 'HPS-2026-0931')
            child = Party(agreement.child.id)
            self.assertEqual(child.hb_hetu, hetu)
            self.assertFalse(child.hb_client)
            Agreement.write([agreement], {'child_hetu': None})
            self.assertIsNone(Party(child.id).hb_hetu)

    @with_transaction()
    def test_monthly_limit_refusal_and_left(self):
        "A charge at the monthly limit is refused with the limit's message"
        pool = Pool()
        Charge = pool.get('hb.charge')
        BudgetLine = pool.get('hb.budget.line')
        with set_company(create_wellbeing_area()):
            data, start, end, carer, agreement = self.setup_carer(
                carry_over=False)
            provider = create_provider_with_service(data, 0)
            cleaning = provider_product(provider)
            decision, _ = agreement.convert_days(
                start, month_end(start, 3), 2,
                {data['home_help']: Decimal('200.00')})
            budget = approve(decision)
            line, = budget.lines
            self.assertEqual(
                BudgetLine(line.id).month_left, Decimal('200.00'))

            # 5 h × €35 = €175 of the month's €200
            charge, _ = Charge.request(
                provider.party, MOBILE, [(cleaning.id, 5)])
            # the terminal sees what is left this month once the charge
            # is requested (its amount is reserved)
            data = charge_data(charge)
            self.assertEqual(
                [(x['amount'], x['month_left']) for x in data['lines']],
                [('175.00', '25.00')])
            Charge.confirm(charge, last_code(MOBILE))
            line = BudgetLine(line.id)
            self.assertEqual(line.month_left, Decimal('25.00'))
            self.assertEqual(line.available, Decimal('425.00'))

            # 1 h more (€35) is above the month's €25 left
            with self.assertRaises(ChargeError) as cm:
                Charge.request(provider.party, MOBILE, [(cleaning.id, 1)])
            self.assertEqual(cm.exception.code, 'monthly_limit')
            self.assertIn('25', cm.exception.message)
            self.assertIn('200', cm.exception.message)
            self.assertIn('carry over', cm.exception.message)

    @with_transaction()
    def test_month_left_none_without_limit(self):
        "With carry-over there is no monthly limit and nothing left to show"
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        with set_company(create_wellbeing_area()):
            data, start, end, carer, agreement = self.setup_carer(
                carry_over=True)
            decision, _ = agreement.convert_days(
                start, month_end(start, 3), 2,
                {data['home_help']: Decimal('200.00')})
            budget = approve(decision)
            line, = budget.lines
            self.assertIsNone(BudgetLine(line.id).month_left)
            with Transaction().set_user(0):
                self.assertIsNone(BudgetLine(line.id).month_left)


del _DBTestCase
