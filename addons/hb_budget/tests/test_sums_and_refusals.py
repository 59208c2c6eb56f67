# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Exact sums on every backend and refusals a user can act on (issue 15,
defects 9 and 14).

- SQLite sums Numeric columns as floating point: 10.05 + 10.15 is
  20.200000000000003 there. Every money sum HB reads from SQL is a Decimal
  of whole cents.
- Three-decimal amounts, negative quantities and decisions for parties who
  are not HB clients are refused with a translated message that says what
  to do, before Tryton's generic digits and domain messages."""
from decimal import Decimal

from trytond.model import fields
from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction, without_check_access

from trytond.modules.hb_budget.exceptions import AmountError, DecisionError
from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module
from .tools import module_po_path


def load_finnish():
    "Make Finnish translatable and load the module's translations"
    pool = Pool()
    Lang = pool.get('ir.lang')
    Translation = pool.get('ir.translation')
    fi, = Lang.search([('code', '=', 'fi')])
    fi.translatable = True
    fi.save()
    Translation.translation_import(
        'fi', 'hb_budget', module_po_path('hb_budget'))


class SumsAndRefusalsTestCase(_DBTestCase):
    "Test exact money sums and the messages of refusals"
    module = 'hb_budget'

    # The helpers of the module's test case (not the class itself: the
    # loader would run its tests again)
    setup_hb = test_module.HbBudgetTestCase.setup_hb
    create_client = test_module.HbBudgetTestCase.create_client
    create_plan = test_module.HbBudgetTestCase.create_plan
    create_decision = test_module.HbBudgetTestCase.create_decision
    approve = test_module.HbBudgetTestCase.approve
    create_budget = test_module.HbBudgetTestCase.create_budget

    def test_round_sum(self):
        "A SQL sum is read as a Decimal of the currency's cents"
        from trytond.modules.hb_budget.budget import round_sum
        self.assertEqual(round_sum(None), Decimal('0.00'))
        self.assertEqual(round_sum(10.05 + 10.15), Decimal('20.20'))
        self.assertEqual(
            str(round_sum(80.14999999999999)), '80.15')
        self.assertEqual(round_sum(Decimal('3.10')), Decimal('3.10'))

    @with_transaction()
    def test_budget_sums_exact(self):
        "The budget's figures are whole cents after float-prone charges"
        pool = Pool()
        Line = pool.get('hb.budget.line')
        Budget = pool.get('hb.budget')
        Spending = pool.get('hb.budget.spending')
        company = self.setup_hb()
        with set_company(company):
            budget = self.create_budget(931)
            cleaning, = [x for x in budget.lines if x.category == self.cleaning]
            meals, = [x for x in budget.lines if x.category == self.meals]
            # the lines spend 90.20 and 10.15: 90.2 + 10.15 is
            # 100.35000000000001 in floating point (0.1 + 0.2 too)
            for line, amount in [(cleaning, '10.05'), (meals, '10.15'),
                    (cleaning, '26.05'), (cleaning, '26.05'),
                    (cleaning, '28.05')]:
                Line.reserve(line, Decimal(amount))
                Line.capture(line, Decimal(amount))
            Line.reserve(meals, Decimal('0.10'))
            Line.reserve(cleaning, Decimal('0.20'))
            budget = Budget(budget.id)
            for name, expected in [
                    ('spent', '100.35'),
                    ('reserved', '0.30'),
                    ('amount', '4320.00'),
                    ('available', '4219.35')]:
                value = getattr(budget, name)
                self.assertEqual(str(value), expected, name)
            # The spending's sums are read by Tryton's Numeric converter
            # from the text of the sum (15 significant digits on SQLite):
            # exact, though 90.20 may read as 90.2
            self.assertEqual(
                sorted(s.amount for s in Spending.search(
                        [('budget', '=', budget.id)])),
                [Decimal('10.15'), Decimal('90.20')])
            self.assertEqual(
                sum(s.amount for s in Spending.search(
                        [('budget', '=', budget.id)])), budget.spent)

    @with_transaction()
    def test_ledger_move_as_orm(self):
        """The ledger entry a budget update inserts in SQL is the row
        Move.create stores, and passes the ORM's validation"""
        pool = Pool()
        Line = pool.get('hb.budget.line')
        Move = pool.get('hb.budget.move')
        names = [n for n, f in Move._fields.items()
            if not isinstance(f, fields.Function)
            and n not in {'id', 'create_date', 'write_uid', 'write_date'}]
        company = self.setup_hb()
        with set_company(company):
            budget = self.create_budget(932)
            line = budget.lines[0]
            rows = []
            for kind, amount in [('reserve', '12.35'), ('capture', '10.05'),
                    ('release', '2.30'), ('refund', '0.05')]:
                move = getattr(Line, kind)(
                    line, Decimal(amount), origin='hb.charge,1')
                Move._validate([Move(move.id)])
                row, = Move.read([move.id], names)
                del row['id']
                rows.append(row)
            self.assertEqual(
                [(r['kind'], r['amount'], r['reserved_after'],
                        r['spent_after']) for r in rows], [
                    ('reserve', Decimal('12.35'), Decimal('12.35'),
                        Decimal('0.00')),
                    ('capture', Decimal('10.05'), Decimal('2.30'),
                        Decimal('10.05')),
                    ('release', Decimal('2.30'), Decimal('0.00'),
                        Decimal('10.05')),
                    ('refund', Decimal('0.05'), Decimal('0.00'),
                        Decimal('10.00')),
                    ])
            self.assertEqual(Line(line.id).spent, Decimal('10.00'))
            for row in rows:
                with without_check_access():
                    orm, = Move.create([dict(row)])
                stored, = Move.read([orm.id], names)
                del stored['id']
                self.assertEqual(stored, row)

    @with_transaction()
    def test_three_decimals_refused(self):
        "A three-decimal amount is refused with what to enter instead"
        pool = Pool()
        Decision = pool.get('hb.decision')
        Line = pool.get('hb.decision.line')
        Service = pool.get('hb.plan.service')
        company = self.setup_hb()
        with set_company(company):
            client = self.create_client(932)
            plan = self.create_plan(client, agree=False)
            with self.assertRaises(AmountError) as cm:
                Service.create([{
                            'plan': plan.id, 'category': self.meals.id,
                            'quantity': Decimal('1.00'),
                            'unit_cost': Decimal('10.125'),
                            }])
            self.assertIn("more than 2 decimals", cm.exception.message)
            self.assertIn("10.125", cm.exception.message)
            self.assertNotIn("(None, 2)", cm.exception.message)

            plan = self.create_plan(self.create_client(933))
            decision = self.create_decision(plan, fill=False)
            with self.assertRaises(AmountError) as cm:
                Decision.write([decision], {'amount': Decimal('100.001')})
            self.assertIn("more than 2 decimals", cm.exception.message)
            self.assertIn("Total Amount", cm.exception.message)
            with self.assertRaises(AmountError) as cm:
                Line.create([{
                            'decision': decision.id,
                            'category': self.meals.id,
                            'amount': Decimal('5.555'),
                            }])
            self.assertIn("more than 2 decimals", cm.exception.message)

            load_finnish()
            with Transaction().set_context(language='fi'):
                with self.assertRaises(AmountError) as cm:
                    Decision.write([decision], {'amount': Decimal('1.001')})
                self.assertIn("desimaali", cm.exception.message)

    @with_transaction()
    def test_negative_quantity_refused(self):
        "A negative quantity is refused with what to enter instead"
        pool = Pool()
        Service = pool.get('hb.plan.service')
        company = self.setup_hb()
        with set_company(company):
            plan = self.create_plan(self.create_client(934), agree=False)
            for name, values in [
                    ('Quantity per Month', {
                            'quantity': Decimal('-2.00'),
                            'unit_cost': Decimal('10.00')}),
                    ('Unit Cost', {
                            'quantity': Decimal('2.00'),
                            'unit_cost': Decimal('-10.00')}),
                    ]:
                with self.assertRaises(AmountError) as cm:
                    Service.create([dict(values,
                                plan=plan.id, category=self.meals.id)])
                message = cm.exception.message
                self.assertIn(name, message)
                self.assertIn("greater than zero", message)
                self.assertNotIn("domain", message)

    @with_transaction()
    def test_decision_for_non_client_refused(self):
        "A decision for a party who is not an HB client says what to do"
        pool = Pool()
        Party = pool.get('party.party')
        Decision = pool.get('hb.decision')
        company = self.setup_hb()
        with set_company(company):
            plan = self.create_plan(self.create_client(935))
            stranger, = Party.create([{'name': "Not A Client"}])
            with self.assertRaises(DecisionError) as cm:
                Decision.create([{
                            'company': company.id,
                            'client': stranger.id,
                            'plan': plan.id,
                            'start_date': plan.valid_from,
                            'end_date': plan.valid_to,
                            'amount': Decimal('10.00'),
                            }])
            message = cm.exception.message
            self.assertIn("Not A Client", message)
            self.assertIn("not an HB client", message)
            self.assertNotIn("domain", message)
            self.assertIsInstance(cm.exception, ValidationError)


del _DBTestCase
