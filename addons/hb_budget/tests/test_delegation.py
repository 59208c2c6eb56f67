# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Delegation as Finnish law frames it (issue 13, item 3): an official with
delegated authority decides, by amount and customer group; the 2018
criteria are a gate or guidance per customer group."""
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.exceptions import (
    DecisionAuthorityError,
    DecisionError,
)
from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module
from .test_sums_and_refusals import load_finnish


class DelegationTestCase(_DBTestCase):
    "Test delegated decision authority and the criteria as guidance"
    module = 'hb_budget'

    setup_hb = test_module.HbBudgetTestCase.setup_hb
    create_client = test_module.HbBudgetTestCase.create_client
    create_plan = test_module.HbBudgetTestCase.create_plan
    create_decision = test_module.HbBudgetTestCase.create_decision

    def approve_as(self, decision, user):
        Decision = Pool().get('hb.decision')
        with Transaction().set_user(user.id):
            Decision.approve([Decision(decision.id)])
        return Decision(decision.id)

    @with_transaction()
    def test_delegated_official_decides(self):
        "With delegations recorded, only a covering delegation approves"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Delegation = pool.get('hb.decision.delegation')
        Group = pool.get('hb.customer.group')
        Party = pool.get('party.party')
        company = self.setup_hb()
        with set_company(company):
            elderly, = Group.create([{'name': "Older", 'code': 'elderly'}])
            client = self.create_client(900)
            decision = self.create_decision(self.create_plan(client))
            Decision.propose([decision])
            self.assertEqual(decision.yearly_amount, Decimal('4320.00'))
            delegation, = Delegation.create([{
                        'company': company.id,
                        'user': self.other_worker.id,
                        'title': "Sosiaalityön johtava viranhaltija",
                        'max_amount': Decimal('3000.00'),
                        }])
            # the own-worker and the supervisor: no delegation
            for user in [self.worker, self.supervisor, self.other_worker]:
                with self.assertRaises(DecisionAuthorityError) as cm:
                    self.approve_as(decision, user)
            self.assertIn('delegated authority', cm.exception.message)
            self.assertIn('432000', re.sub(r'\D', '', cm.exception.message))
            # enough for the amount, but for another customer group
            Delegation.write([delegation], {
                    'max_amount': Decimal('5000.00'),
                    'customer_groups': [('add', [elderly.id])],
                    })
            with self.assertRaises(DecisionAuthorityError):
                self.approve_as(decision, self.other_worker)
            Party.write([client], {
                    'hb_customer_groups': [('add', [elderly.id])]})
            decision = self.approve_as(decision, self.other_worker)
            self.assertEqual(decision.state, 'approved')
            self.assertEqual(decision.approval_level, 'delegated')
            self.assertEqual(
                decision.decider_title, "Sosiaalityön johtava viranhaltija")

    @with_transaction()
    def test_delegation_by_service_category(self):
        "A delegation limited to categories must cover every decided one"
        pool = Pool()
        Category = pool.get('hb.service.category')
        Decision = pool.get('hb.decision')
        Delegation = pool.get('hb.decision.delegation')
        company = self.setup_hb()
        with set_company(company):
            home, = Category.create([{
                        'name': "Home Services", 'code': 'home',
                        'unit': 'hour',
                        }])
            Category.write([self.cleaning], {'parent': home.id})
            client = self.create_client(900)
            decision = self.create_decision(self.create_plan(client))
            Decision.propose([decision])
            self.assertEqual(
                {line.category for line in decision.lines},
                {self.cleaning, self.meals})
            # enough for the amount; the parent covers cleaning, not meals
            delegation, = Delegation.create([{
                        'company': company.id,
                        'user': self.other_worker.id,
                        'max_amount': Decimal('5000.00'),
                        'service_categories': [('add', [home.id])],
                        }])
            with self.assertRaises(DecisionAuthorityError) as cm:
                self.approve_as(decision, self.other_worker)
            self.assertIn('service categories: Meals.', cm.exception.message)
            self.assertNotIn('Cleaning', cm.exception.message)
            self.assertEqual(Decision(decision.id).state, 'proposed')
            # the refusal is translated
            load_finnish()
            with Transaction().set_context(language='fi'), \
                    self.assertRaises(DecisionAuthorityError) as cm:
                self.approve_as(decision, self.other_worker)
            self.assertIn('palveluluokkien osalta', cm.exception.message)

            # a too small amount is refused as before, categories aside
            Delegation.write([delegation], {
                    'max_amount': Decimal('1000.00'),
                    'service_categories': [('add', [self.meals.id])],
                    })
            with self.assertRaises(DecisionAuthorityError) as cm:
                self.approve_as(decision, self.other_worker)
            self.assertNotIn('service categories', cm.exception.message)

            Delegation.write([delegation], {'max_amount': Decimal('5000.00')})
            decision = self.approve_as(decision, self.other_worker)
            self.assertEqual(decision.state, 'approved')
            self.assertEqual(decision.approval_level, 'delegated')

    @with_transaction()
    def test_no_delegation_roles_decide(self):
        "Without delegations recorded, the roles of the settings decide"
        pool = Pool()
        Decision = pool.get('hb.decision')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(900)
            decision = self.create_decision(self.create_plan(client))
            Decision.propose([decision])
            decision = self.approve_as(decision, self.supervisor)
            self.assertEqual(decision.state, 'approved')
            self.assertEqual(
                decision.approval_level, decision.required_level)

    @with_transaction()
    def test_criteria_gate_or_guidance(self):
        "A criterion not met stops a decision only where it is a gate"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Plan = pool.get('hb.plan')
        Group = pool.get('hb.customer.group')
        Party = pool.get('party.party')
        company = self.setup_hb()
        with set_company(company):
            avain, = Group.create([{'name': "AVAIN", 'code': 'avain'}])
            self.assertEqual(avain.criteria_mode, 'gate')
            client = self.create_client(900)
            Party.write([client], {'hb_customer_groups': [('add', [avain.id])]})
            plan = self.create_plan(client, agree=False)
            broad, = [c for c in plan.checklist if c.criterion == 'broad']
            broad.answer = 'no'
            broad.note = "One service by design: days off for the carer."
            broad.save()
            Plan.write([plan], {
                    'traditional_unsuitable': "No substitute carer is "
                    "available at the times the family needs.",
                    'entitlement_basis': 'informal_care',
                    })
            Plan.agree([plan])
            plan = Plan(plan.id)
            self.assertFalse(plan.eligible)
            self.assertFalse(plan.criteria_guidance)
            self.assertEqual(plan.entitlement_basis, 'informal_care')
            decision = self.create_decision(plan)
            with self.assertRaises(DecisionError):
                Decision.propose([decision])

            Group.write([avain], {'criteria_mode': 'guidance'})
            plan = Plan(plan.id)
            self.assertTrue(plan.criteria_guidance)
            Decision.propose([decision])
            decision = self.approve_as(decision, self.supervisor)
            self.assertEqual(decision.state, 'approved')


del _DBTestCase
