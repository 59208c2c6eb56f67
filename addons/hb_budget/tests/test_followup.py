# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Follow-up that warns (issue 13, item 6): the kinds of warning, once per
budget, kind and month, the own-worker's caseload and the forecast of a
huge budget used at a tiny pace."""
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.budget import forecast
from trytond.modules.hb_budget.tests.tools import with_transaction

from . import test_module
from .test_module import YEAR_START


class FollowupTestCase(_DBTestCase):
    "Test the follow-up warnings"
    module = 'hb_budget'

    setup_hb = test_module.HbBudgetTestCase.setup_hb
    create_client = test_module.HbBudgetTestCase.create_client
    create_plan = test_module.HbBudgetTestCase.create_plan
    create_decision = test_module.HbBudgetTestCase.create_decision
    approve = test_module.HbBudgetTestCase.approve
    create_budget = test_module.HbBudgetTestCase.create_budget

    def test_forecast_huge_budget_tiny_pace(self):
        "A huge budget used at a tiny pace has no exhaustion date"
        start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
        rate, exhaustion, unused = forecast(
            Decimal('1000000000000.00'), Decimal('0.00'), Decimal('0.01'),
            start, end, dt.date(2026, 1, 1))
        self.assertEqual(rate, Decimal('0.01'))
        self.assertIsNone(exhaustion)
        self.assertEqual(unused, Decimal('999999999999.99') - Decimal(
                '0.01') * 364)
        # the boundary: runs out on the period's last day
        rate, exhaustion, unused = forecast(
            Decimal('365.00'), Decimal('0.00'), Decimal('1.00'),
            start, end, start)
        self.assertEqual(exhaustion, end)
        self.assertEqual(unused, Decimal('0.00'))

    @with_transaction()
    def test_followup_kinds_and_once_a_month(self):
        "Warnings by kind, recorded once per budget, kind and month"
        pool = Pool()
        Notice = pool.get('hb.budget.notice')
        BudgetLine = pool.get('hb.budget.line')
        company = self.setup_hb()
        date = YEAR_START + dt.timedelta(days=199)
        with set_company(company):
            unused = self.create_budget(900)
            spent = self.create_budget(901)
            self.assertEqual(spent.amount, Decimal('4320.00'))
            # 3,700.00 of 4,320.00 used by day 200: 18.50 a day, 620.00
            # left lasts 33 days; each line below 20 % left
            for line in spent.lines:
                amount = {
                    Decimal('1920.00'): Decimal('1700.00'),
                    Decimal('2400.00'): Decimal('2000.00'),
                    }[line.amount]
                BudgetLine.reserve(line, amount, date=YEAR_START)
                BudgetLine.capture(line, amount, date=YEAR_START)

            notices = Notice.run_followup(date)
            kinds = {(n.budget, n.kind) for n in notices}
            self.assertEqual(kinds, {
                    (unused, 'underuse'),
                    (spent, 'exhaustion'),
                    (spent, 'low_balance'),
                    })
            for notice in notices:
                self.assertEqual(notice.sent, 'page')
                self.assertEqual(notice.own_worker, self.worker)
                self.assertEqual(notice.month, date.replace(day=1))
            exhaustion, = [n for n in notices if n.kind == 'exhaustion']
            self.assertLess(
                exhaustion.forecast_exhaustion_date, spent.end_date)
            self.assertEqual(exhaustion.available, Decimal('620.00'))

            # not twice in the same month
            self.assertEqual(Notice.run_followup(date), [])
            self.assertEqual(Notice.run_followup(
                    date + dt.timedelta(days=1)), [])
            # again the next month
            later = (date.replace(day=1) + dt.timedelta(days=40)).replace(
                day=2)
            self.assertEqual(len(Notice.run_followup(later)), 3)
            self.assertEqual(
                len(Notice.page_notices(unused.client, later)), 2)

    @with_transaction()
    def test_followup_settings(self):
        "No underuse warning below the settings' percentage, no page notice"
        pool = Pool()
        Notice = pool.get('hb.budget.notice')
        Configuration = pool.get('hb.configuration')
        company = self.setup_hb()
        date = YEAR_START + dt.timedelta(days=199)
        with set_company(company):
            self.create_budget(900)
            config = Configuration(1)
            config.followup_underuse_percentage = Decimal('0.00')
            config.followup_notify_client = 'none'
            config.save()
            self.assertEqual(Notice.run_followup(date), [])
            config.followup_underuse_percentage = Decimal('50.00')
            config.save()
            # too early in the period
            self.assertEqual(
                Notice.run_followup(YEAR_START + dt.timedelta(days=20)), [])
            notice, = Notice.run_followup(date)
            self.assertEqual(notice.sent, 'none')

    @with_transaction()
    def test_caseload_own_clients(self):
        "An own-worker's caseload lists the warnings of their clients"
        pool = Pool()
        Notice = pool.get('hb.budget.notice')
        company = self.setup_hb()
        date = YEAR_START + dt.timedelta(days=199)
        with set_company(company):
            self.create_budget(900)
            notice, = Notice.run_followup(date)
            transaction = Transaction()
            with transaction.set_context(_check_access=True):
                with transaction.set_user(self.worker.id):
                    self.assertEqual(Notice.search([
                                ('kind', '=', 'underuse'),
                                ('handled', '=', False),
                                ], order=[('kind', 'ASC'), ('date', 'DESC')]),
                        [notice])
                    Notice.write([Notice(notice.id)], {'handled': True})
                    self.assertEqual(
                        Notice.search([('handled', '=', False)]), [])
                with transaction.set_user(self.other_worker.id):
                    self.assertEqual(Notice.search([]), [])
                with transaction.set_user(self.supervisor.id):
                    self.assertEqual(Notice.search([]), [notice])


del _DBTestCase
