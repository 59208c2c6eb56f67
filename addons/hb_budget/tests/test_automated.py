# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Decisions made automatically (Hallintolaki 53 e §, issue 13): decided
in the name of the settings' official, who must have a delegation; the
letter states that the decision was made automatically under the rules
set by that official, in English, Finnish and Swedish."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module
from .test_decision_letters import letter_text


class AutomatedDecisionTestCase(_DBTestCase):
    "Test the decisions made automatically"
    module = 'hb_budget'

    setup_hb = test_module.HbBudgetTestCase.setup_hb
    create_client = test_module.HbBudgetTestCase.create_client
    create_plan = test_module.HbBudgetTestCase.create_plan
    create_decision = test_module.HbBudgetTestCase.create_decision

    @with_transaction()
    def test_automated_decision_and_letter(self):
        "The official of the settings decides; the letter says so"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Decision = pool.get('hb.decision')
        Delegation = pool.get('hb.decision.delegation')
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        company = self.setup_hb()
        with set_company(company):
            config = Configuration(1)
            # an official without a delegation is refused
            config.automated_decider = self.supervisor
            with self.assertRaises(UserError) as cm:
                config.save()
            self.assertIn('delegation', cm.exception.message)

            # no official: nothing is decided automatically (the refused
            # write above is rolled back by a real request, not by a test)
            Configuration.write([Configuration(1)], {
                    'automated_decider': None})
            decision = self.create_decision(
                self.create_plan(self.create_client(940)))
            Decision.propose([decision])
            with self.assertRaises(UserError):
                Decision.approve_automatically([decision])
            self.assertEqual(Decision(decision.id).state, 'proposed')

            Delegation.create([{
                        'company': company.id,
                        'user': self.supervisor.id,
                        'title': "Johtava sosiaalityöntekijä",
                        'max_amount': Decimal('10000.00'),
                        }])
            Configuration.write([Configuration(1)], {
                    'automated_decider': self.supervisor.id})
            Decision.approve_automatically([decision])
            decision = Decision(decision.id)
            self.assertEqual(decision.state, 'approved')
            self.assertTrue(decision.automated)
            self.assertEqual(decision.approved_by, self.supervisor)
            self.assertEqual(decision.approval_level, 'delegated')
            text = letter_text('hb.decision.letter', decision)
            self.assertIn("This decision was made automatically "
                "(Administrative Procedure Act 434/2003, section 53 e) "
                "under the rules set by Supervisor, Johtava "
                "sosiaalityöntekijä, in whose name it is decided.", text)

            # a decision approved by hand says nothing of it
            manual = self.create_decision(
                self.create_plan(self.create_client(941)))
            Decision.propose([manual])
            with Transaction().set_user(self.supervisor.id):
                Decision.approve([manual])
            manual = Decision(manual.id)
            self.assertFalse(manual.automated)
            self.assertNotIn("made automatically",
                letter_text('hb.decision.letter', manual))

            for code, expected in [
                    ('fi', "Tämä päätös on tehty automaattisesti "
                        "(hallintolaki 434/2003, 53 e §) sääntöjen "
                        "mukaisesti, jotka on vahvistanut Supervisor, "
                        "Johtava sosiaalityöntekijä, jonka nimissä päätös "
                        "on tehty."),
                    ('sv', "Detta beslut har fattats automatiskt "
                        "(förvaltningslagen 434/2003, 53 e §) enligt de "
                        "regler som fastställts av Supervisor, Johtava "
                        "sosiaalityöntekijä, i vars namn beslutet fattas."),
                    ]:
                with self.subTest(language=code):
                    lang, = Lang.search([('code', '=', code)])
                    Lang.load_translations([lang])
                    client = self.create_client(
                        942 if code == 'fi' else 943)
                    Party.write([client], {'lang': lang.id})
                    decision = self.create_decision(self.create_plan(client))
                    Decision.propose([decision])
                    Decision.approve_automatically([decision])
                    decision = Decision(decision.id)
                    self.assertEqual(decision.language, lang)
                    self.assertIn(expected,
                        letter_text('hb.decision.letter', decision))

    @with_transaction()
    def test_may_decide_automatically(self):
        """Whether the official's delegation covers a decision is known
        beforehand, for a decision not yet saved, and nothing is written"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Decision = pool.get('hb.decision')
        Delegation = pool.get('hb.decision.delegation')
        Line = pool.get('hb.decision.line')
        company = self.setup_hb()
        with set_company(company):
            plan = self.create_plan(self.create_client(944))
            # 4,320.00 a year: cleaning 1,920.00, meals 2,400.00
            decision = Decision(
                company=company, client=plan.client, plan=plan,
                start_date=test_module.YEAR_START,
                end_date=test_module.YEAR_END,
                value_method='manual', justification="Moved",
                amount=Decimal('4320.00'), number=None, team_members=[],
                lines=[
                    Line(category=self.cleaning, amount=Decimal('1920.00')),
                    Line(category=self.meals, amount=Decimal('2400.00'))])
            self.assertFalse(decision.may_decide_automatically())

            delegation, = Delegation.create([{
                        'company': company.id,
                        'user': self.supervisor.id,
                        'max_amount': Decimal('4000.00'),
                        }])
            Configuration.write([Configuration(1)], {
                    'automated_decider': self.supervisor.id})
            self.assertFalse(decision.may_decide_automatically())
            Delegation.write([delegation], {
                    'max_amount': Decimal('5000.00'),
                    'service_categories': [('add', [self.cleaning.id])],
                    })
            self.assertFalse(decision.may_decide_automatically())
            Delegation.write([delegation], {
                    'service_categories': [('add', [self.meals.id])]})
            self.assertTrue(decision.may_decide_automatically())
            self.assertEqual(Decision.search([
                        ('client', '=', plan.client.id)]), [])


del _DBTestCase
