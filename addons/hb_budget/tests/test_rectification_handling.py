# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The handling of a rectification request: the handling deadline
(Hallintolaki 49 e §) and the stop of enforcement (49 f §)"""
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, activate_module, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.exceptions import BudgetStateError
from trytond.modules.hb_budget.rectification_handling import (
    EnforcementStoppedError,
)
from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module as base


class RectificationHandlingTestCase(TestCase):
    "Test the handling deadline and the stop of enforcement"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['hb_budget'])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    setup_hb = base.HbBudgetTestCase.setup_hb
    create_client = base.HbBudgetTestCase.create_client
    create_plan = base.HbBudgetTestCase.create_plan
    create_decision = base.HbBudgetTestCase.create_decision
    approve = base.HbBudgetTestCase.approve

    def approved(self, individual):
        client = self.create_client(individual)
        return self.approve(self.create_decision(self.create_plan(client)))

    def request(self, decision, received_date=None):
        Rectification = Pool().get('hb.decision.rectification')
        values = {
            'decision': decision.id,
            'request': "Please give me more cleaning",
            }
        if received_date:
            values['received_date'] = received_date
        request, = Rectification.create([values])
        return request

    @with_transaction()
    def test_handling_deadline(self):
        "A request gets a handling deadline from the settings; overdue"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Date = pool.get('ir.date')
        Rectification = pool.get('hb.decision.rectification')
        company = self.setup_hb()
        today = Date.today()
        with set_company(company):
            self.assertEqual(
                Configuration(1).rectification_handling_days, 14)
            decision = self.approved(951)
            recent = self.request(decision, today - dt.timedelta(days=3))
            old = self.request(decision, today - dt.timedelta(days=20))
            self.assertEqual(recent.channel, 'back_office')
            self.assertEqual(recent.handling_deadline,
                today + dt.timedelta(days=11))
            self.assertEqual(old.handling_deadline,
                today - dt.timedelta(days=6))
            self.assertFalse(recent.overdue)
            self.assertTrue(old.overdue)
            self.assertEqual(
                Rectification.search([('overdue', '=', True)]), [old])
            self.assertEqual(
                Rectification.search([('overdue', '=', False)]), [recent])

            # the settings decide the days
            config = Configuration(1)
            config.rectification_handling_days = 2
            config.save()
            recent = Rectification(recent.id)
            self.assertEqual(recent.handling_deadline,
                today - dt.timedelta(days=1))
            self.assertTrue(recent.overdue)
            self.assertEqual(
                len(Rectification.search([('overdue', '=', True)])), 2)

            # a decided request is not overdue
            Rectification.write([old], {
                    'outcome': 'upheld', 'reasons': "The need is met"})
            with Transaction().set_user(self.manager.id):
                Rectification.decide([old])
            self.assertFalse(Rectification(old.id).overdue)
            self.assertEqual(
                Rectification.search([('overdue', '=', True)]), [recent])

    @with_transaction()
    def test_stop_enforcement(self):
        "Stopping enforcement suspends the budget; deciding lifts it"
        pool = Pool()
        Budget = pool.get('hb.budget')
        BudgetLine = pool.get('hb.budget.line')
        Rectification = pool.get('hb.decision.rectification')
        company = self.setup_hb()
        with set_company(company):
            decision = self.approved(952)
            budget = decision.budget
            line = budget.lines[0]
            BudgetLine.reserve(line, Decimal('10.00'))
            request = self.request(decision)

            # a reason is required
            with Transaction().set_user(self.manager.id):
                with self.assertRaises(UserError):
                    Rectification.stop_enforcement([request])
            self.assertFalse(Rectification(request.id).enforcement_stopped)
            self.assertEqual(Budget(budget.id).state, 'active')

            Rectification.write([request], {
                    'enforcement_reason': "The amount may change"})
            with Transaction().set_user(self.manager.id):
                Rectification.stop_enforcement([request])
            request = Rectification(request.id)
            self.assertTrue(request.enforcement_stopped)
            self.assertEqual(request.enforcement_stopped_by, self.manager)
            self.assertIsNotNone(request.enforcement_stopped_at)
            self.assertEqual(Budget(budget.id).state, 'suspended')

            # the budget cannot be used, and tells why
            with self.assertRaises(EnforcementStoppedError) as cm:
                BudgetLine.reserve(line, Decimal('5.00'))
            self.assertIsInstance(cm.exception, BudgetStateError)
            self.assertIn('enforcement', cm.exception.message)
            self.assertIn('49 f', cm.exception.message)
            self.assertEqual(
                Budget.get_enforcement_stop_message_of(decision.client),
                cm.exception.message)
            # the hold made before is kept
            self.assertEqual(BudgetLine(line.id).reserved, Decimal('10.00'))
            # the budget is not resumed by hand while the stop lasts
            with self.assertRaises(UserError):
                Budget.resume([Budget(budget.id)])

            # deciding the request lifts the stop
            Rectification.write([request], {
                    'outcome': 'upheld', 'reasons': "The need is met"})
            with Transaction().set_user(self.manager.id):
                Rectification.decide([request])
            request = Rectification(request.id)
            self.assertFalse(request.enforcement_stopped)
            self.assertEqual(request.enforcement_resumed_by, self.manager)
            self.assertIsNotNone(request.enforcement_resumed_at)
            self.assertEqual(request.enforcement_reason,
                "The amount may change")
            self.assertEqual(Budget(budget.id).state, 'active')
            self.assertIsNone(
                Budget.get_enforcement_stop_message_of(decision.client))
            BudgetLine.reserve(line, Decimal('5.00'))

    @with_transaction()
    def test_resume_enforcement(self):
        "The Resume button lifts the stop before the request is decided"
        pool = Pool()
        Budget = pool.get('hb.budget')
        BudgetLine = pool.get('hb.budget.line')
        Rectification = pool.get('hb.decision.rectification')
        company = self.setup_hb()
        with set_company(company):
            decision = self.approved(953)
            budget = decision.budget
            request = self.request(decision)
            Rectification.write([request], {
                    'enforcement_reason': "The amount may change"})
            with Transaction().set_user(self.manager.id):
                Rectification.stop_enforcement([request])
            self.assertEqual(Budget(budget.id).state, 'suspended')
            with Transaction().set_user(self.supervisor.id):
                Rectification.resume_enforcement([request])
            request = Rectification(request.id)
            self.assertFalse(request.enforcement_stopped)
            self.assertEqual(request.enforcement_stopped_by, self.manager)
            self.assertEqual(request.enforcement_resumed_by, self.supervisor)
            self.assertEqual(request.state, 'received')
            self.assertEqual(Budget(budget.id).state, 'active')
            BudgetLine.reserve(budget.lines[0], Decimal('5.00'))

            # a rejected decision has no budget to stop
            rejected = self.create_decision(self.create_plan(
                    self.create_client(954)))
            pool.get('hb.decision').propose([rejected])
            rejected.reasons = "No need"
            rejected.save()
            with Transaction().set_user(self.supervisor.id):
                pool.get('hb.decision').reject([rejected])
            other = self.request(rejected)
            Rectification.write([other], {'enforcement_reason': "Why not"})
            with self.assertRaises(UserError):
                Rectification.stop_enforcement([other])
            self.assertFalse(Rectification(other.id).enforcement_stopped)

