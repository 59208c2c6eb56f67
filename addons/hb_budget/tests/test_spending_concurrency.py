# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Two real database connections reserve the last euros of one budget line
at once: exactly one succeeds. Needs PostgreSQL (SQLite has one writer)."""
import datetime as dt
import threading
import time
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.company.tests import create_company
from trytond.modules.currency.tests import create_currency
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.exceptions import BudgetInsufficientError
from trytond.modules.hb_budget.tests.tools import temporary_hetu


@unittest.skipIf(
    backend.name == 'sqlite', "needs concurrent connections (PostgreSQL)")
class SpendingConcurrencyTestCase(unittest.TestCase):
    "Test the budget line lock under concurrent reservations"

    @classmethod
    def setUpClass(cls):
        activate_module('hb_budget')

    @classmethod
    def tearDownClass(cls):
        # The test commits its data: leave a clean database to others
        drop_db()

    def setup_line(self):
        "Commit an active budget whose meals line has 10.00 available"
        pool = Pool()
        Party = pool.get('party.party')
        Category = pool.get('hb.service.category')
        Plan = pool.get('hb.plan')
        Criterion = pool.get('hb.plan.criterion')
        Decision = pool.get('hb.decision')
        Line = pool.get('hb.budget.line')
        today = dt.date.today()

        company = create_company(currency=create_currency('EUR'))
        category, = Category.create([{
                    'name': "Meals", 'code': 'meals-concurrency',
                    'unit': 'piece'}])
        client, = Party.create([{
                    'name': "Concurrent Client", 'hb_client': True,
                    'hb_hetu': temporary_hetu(individual=990),
                    }])
        plan, = Plan.create([{
                    'company': company.id, 'client': client.id,
                    'valid_from': today.replace(month=1, day=1),
                    'valid_to': today.replace(month=12, day=31),
                    'services': [('create', [{
                                    'category': category.id,
                                    'quantity': Decimal('10.00'),
                                    'unit_cost': Decimal('10.00'),
                                    }])],
                    }])
        criteria = list(plan.checklist)
        for criterion in criteria:
            criterion.answer = 'yes'
            criterion.note = "Assessed"
        Criterion.save(criteria)
        Plan.agree([plan])
        decision, = Decision.create([{
                    'company': company.id, 'client': client.id,
                    'plan': plan.id,
                    'start_date': plan.valid_from,
                    'end_date': plan.valid_to,
                    'amount': Decimal('1.00'),
                    }])
        Decision.fill_lines([decision])
        Decision.propose([decision])
        Decision.approve([decision])  # as root: no authority limit
        line, = Decision(decision.id).budget.lines
        self.assertEqual(line.amount, Decimal('1200.00'))
        Line.reserve(line, Decimal('1190.00'))
        return line.id

    def test_concurrent_reservations(self):
        "Two reservations of the last 10.00: exactly one succeeds"
        with Transaction().start(DB_NAME, 0) as transaction:
            line_id = self.setup_line()
            transaction.commit()

        barrier = threading.Barrier(2)
        results = []
        errors = []
        retries = []

        def reserve(name):
            "Reserve 10.00, retrying like Tryton's request dispatcher"
            try:
                for attempt in range(5):
                    with Transaction().start(DB_NAME, 0) as transaction:
                        Line = Pool().get('hb.budget.line')
                        if not attempt:
                            barrier.wait(timeout=30)
                        try:
                            Line.reserve(
                                Line(line_id), Decimal('10.00'),
                                origin='test,%s' % name)
                            # Keep the lock a while so that the other
                            # transaction really has to wait for it
                            time.sleep(0.5)
                            transaction.commit()
                        except BudgetInsufficientError:
                            transaction.rollback()
                            results.append('refused')
                            return
                        except backend.DatabaseOperationalError:
                            transaction.rollback()
                            retries.append(name)
                            continue
                        results.append('reserved')
                        return
            except Exception as exception:  # pragma: no cover
                errors.append(exception)

        threads = [
            threading.Thread(target=reserve, args=(n,)) for n in 'ab']
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(results), ['refused', 'reserved'])
        # the loser waited for the lock, then was retried at most once
        self.assertLessEqual(len(retries), 1)

        with Transaction().start(DB_NAME, 0):
            pool = Pool()
            Line = pool.get('hb.budget.line')
            Move = pool.get('hb.budget.move')
            line = Line(line_id)
            self.assertEqual(line.reserved, Decimal('1200.00'))
            self.assertEqual(line.available, Decimal('0.00'))
            moves = Move.search([('line', '=', line_id)])
            self.assertEqual(
                sorted(m.amount for m in moves),
                [Decimal('10.00'), Decimal('1190.00')])
