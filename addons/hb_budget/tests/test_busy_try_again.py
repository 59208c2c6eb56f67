# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""A lock conflict after Tryton's retries ends with "try again" (issue 15,
defect 14). Needs PostgreSQL (SQLite has one writer, no row locks).

Closing a budget locks its lines. Each attempt here takes its snapshot, then
another transaction changes a line and commits, so the lock fails to
serialize, as it would with a busy budget. Like Tryton's dispatcher, the
call is attempted again with the same request: the first conflicts are
database errors (the dispatcher retries them), the one after the last
retry is a BudgetBusyError whose message says to try again; nothing was
changed."""
import unittest
from decimal import Decimal

from trytond import backend
from trytond.config import config
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.exceptions import BudgetBusyError

from . import test_spending_concurrency
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


@unittest.skipIf(
    backend.name == 'sqlite', "needs concurrent connections (PostgreSQL)")
class BusyTryAgainTestCase(unittest.TestCase):
    "Test the message of a lock conflict after the retries"

    setUpClass = test_spending_concurrency.SpendingConcurrencyTestCase.__dict__[
        'setUpClass']
    setup_line = test_spending_concurrency.SpendingConcurrencyTestCase.setup_line

    @classmethod
    def tearDownClass(cls):
        # The test commits its data: leave a clean database to others
        drop_db()

    def attempt(self, budget_id, line_id, request, language='en'):
        "Close the budget while another transaction changes its line"
        context = {'_request': request, 'language': language}
        with Transaction().start(
                DB_NAME, 0, context=context) as transaction:
            pool = Pool()
            Budget = pool.get('hb.budget')
            Line = pool.get('hb.budget.line')
            # the snapshot of this transaction
            self.assertEqual(Budget(budget_id).state, 'active')
            with transaction.new_transaction() as other:
                Line.release(Line(line_id), Decimal('0.01'))
                other.commit()
            try:
                Budget.close([Budget(budget_id)])
            finally:
                transaction.rollback()

    def test_close_busy(self):
        "Closing a busy budget: retried, then a clear try again"
        with Transaction().start(DB_NAME, 0) as transaction:
            line_id = self.setup_line()
            load_finnish()
            Line = Pool().get('hb.budget.line')
            budget_id = Line(line_id).budget.id
            transaction.commit()

        request = {'remote_addr': '127.0.0.1'}
        retry = config.getint('database', 'retry')
        for _ in range(retry):
            with self.assertRaises(backend.DatabaseOperationalError):
                self.attempt(budget_id, line_id, request)
        with self.assertRaises(BudgetBusyError) as cm:
            self.attempt(budget_id, line_id, request)
        self.assertIn("try again", cm.exception.message)
        self.assertIn("Nothing was saved", cm.exception.message)

        # Finnish, for a new request
        request = {'remote_addr': '127.0.0.1'}
        for _ in range(retry):
            with self.assertRaises(backend.DatabaseOperationalError):
                self.attempt(budget_id, line_id, request, language='fi')
        with self.assertRaises(BudgetBusyError) as cm:
            self.attempt(budget_id, line_id, request, language='fi')
        self.assertIn("yritä uudelleen", cm.exception.message)

        with Transaction().start(DB_NAME, 0):
            Budget = Pool().get('hb.budget')
            self.assertEqual(Budget(budget_id).state, 'active')
