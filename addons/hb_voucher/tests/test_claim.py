# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Standing authorisations and claims with a dispute window (issue 14)"""
import datetime as dt
import threading
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, activate_module, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.exceptions import ChargeError, ClaimError

from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    provider_product,
    run_in_transaction,
    setup_hb,
)

MOBILE = '+358401234568'


def make_world(amount=Decimal('500.00'), cap=Decimal('200.00')):
    """Return (data, application, client, budget, product, authorisation):
    a budget from three months back and an active authorisation of
    cleaning over its whole period"""
    pool = Pool()
    Date = pool.get('ir.date')
    Authorisation = pool.get('hb.authorisation')
    Contract = pool.get('hb.provider.contract')
    today = Date.today()
    start = (today - dt.timedelta(days=90)).replace(day=1)
    data = setup_hb(today=start)
    setup_fiscal_years(data, start)
    application = create_provider_with_service(data)
    client = create_client(data, MOBILE)
    budget = create_budget(data, client, amount, start=start)
    product = provider_product(application)
    # the contract in force from the budget's start (services claimed
    # after the fact)
    with Transaction().set_user(0):
        Contract.write([application.contract], {'start_date': start})
    authorisation = Authorisation(
        client=client, budget=budget, provider=application.party,
        category=data['home_help'], monthly_cap=cap,
        valid_from=budget.start_date, valid_to=budget.end_date,
        consent_by="Testi Asiakas", consent_method='meeting')
    authorisation.save()
    Authorisation.activate([authorisation])
    return data, application, client, budget, product, authorisation


def setup_fiscal_years(data, start):
    "Fiscal years (with periods) from start's year to next year"
    from trytond.modules.account.tests import get_fiscalyear
    from trytond.modules.account_invoice.tests import set_invoice_sequences
    pool = Pool()
    Date = pool.get('ir.date')
    FiscalYear = pool.get('account.fiscalyear')
    year = start.year
    while year <= Date.today().year + 1:
        if not FiscalYear.search([
                    ('start_date', '<=', dt.date(year, 6, 1)),
                    ('end_date', '>=', dt.date(year, 6, 1))]):
            fiscalyear = set_invoice_sequences(get_fiscalyear(
                    data['company'], today=dt.date(year, 1, 1)))
            fiscalyear.save()
            FiscalYear.create_period([fiscalyear])
        year += 1


class ClaimTestCase(_DBTestCase):
    "Test standing authorisations and claims"
    module = 'hb_voucher'

    def submit(self, application, authorisation, product, date=None,
            quantity=2, **kwargs):
        pool = Pool()
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        claim, _ = Claim.submit(application.party, authorisation, product,
            date or Date.today(), quantity, **kwargs)
        return claim

    def assertRefused(self, code, func, *args, **kwargs):
        with self.assertRaises(ClaimError) as cm:
            func(*args, **kwargs)
        self.assertEqual(cm.exception.code, code, str(cm.exception))

    @with_transaction()
    def test_authorisation(self):
        "Consent is required; the period within the budget's; authorised"
        pool = Pool()
        Authorisation = pool.get('hb.authorisation')
        Budget = pool.get('hb.budget')
        with set_company(create_wellbeing_area()):
            data, application, client, budget, product, authorisation = (
                make_world())
            self.assertEqual(authorisation.state, 'active')
            self.assertTrue(authorisation.consent_at)
            self.assertTrue(authorisation.consent_user)
            self.assertGreater(Budget(budget.id).authorised, 0)

            draft = Authorisation(
                client=client, budget=budget, provider=application.party,
                category=data['home_help'], monthly_cap=Decimal('50'),
                valid_from=budget.start_date, valid_to=budget.end_date)
            draft.save()
            self.assertRefused('consent_required',
                Authorisation.activate, [draft])
            draft.valid_to = budget.end_date + dt.timedelta(days=1)
            self.assertRefused('authorisation_period', draft.save)

    @with_transaction()
    def test_claim_reserves(self):
        "A claim reserves its amount at once; the same key claims once"
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            _, application, _, budget, product, authorisation = make_world()
            claim = self.submit(application, authorisation, product,
                idempotency_key='c1')
            self.assertEqual(claim.state, 'pending')
            self.assertEqual(claim.amount, Decimal('70.00'))
            self.assertEqual(claim.dispute_end,
                Date.today() + dt.timedelta(days=7))
            line, = budget.lines
            self.assertEqual(BudgetLine(line.id).reserved, Decimal('70.00'))
            again, created = Claim.submit(application.party, authorisation,
                product, Date.today(), 2, idempotency_key='c1')
            self.assertEqual((again, created), (claim, False))
            self.assertRefused('idempotency_key_reused', Claim.submit,
                application.party, authorisation, product, Date.today(), 3,
                idempotency_key='c1')
            self.assertEqual(BudgetLine(line.id).reserved, Decimal('70.00'))

    @with_transaction()
    def test_refusals(self):
        "Claims outside the rules are refused and nothing is written"
        pool = Pool()
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        BudgetLine = pool.get('hb.budget.line')
        Authorisation = pool.get('hb.authorisation')
        with set_company(create_wellbeing_area()):
            _, application, _, budget, product, authorisation = make_world(
                amount=Decimal('150.00'))
            today = Date.today()
            submit = self.submit
            args = (application, authorisation, product)
            self.assertRefused('future_date', submit, *args,
                date=today + dt.timedelta(days=1))
            self.assertRefused('before_period', submit, *args,
                date=budget.start_date - dt.timedelta(days=1))
            self.assertRefused('too_far_back', submit, *args,
                date=today - dt.timedelta(days=61))
            self.assertRefused('invalid_quantity', submit, *args,
                quantity='-1')
            self.assertRefused('invalid_date', submit, *args,
                date='2026-13-45')
            self.assertRefused('price_above_contract', submit, *args,
                unit_price='40.00')
            submit(*args)
            self.assertRefused('duplicate', submit, *args)
            submit(*args, confirm_duplicate=True)
            # 140 of 150 reserved
            self.assertRefused('over_budget', submit, *args, quantity=1)
            line, = budget.lines
            self.assertEqual(BudgetLine(line.id).reserved, Decimal('140.00'))
            self.assertEqual(Claim.search([], count=True), 2)

            Authorisation.end([authorisation])
            self.assertRefused('authorisation_not_active', submit, *args,
                quantity=1)
            # ending keeps the claims already made
            self.assertEqual(
                [c.state for c in Claim.search([])], ['pending'] * 2)

    @with_transaction()
    def test_monthly_cap(self):
        "The claims of a month stay within the authorisation's cap"
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world(
                cap=Decimal('100.00'))
            self.submit(application, authorisation, product, quantity=2)
            self.assertRefused('over_monthly_cap', self.submit,
                application, authorisation, product, quantity=1)
            self.submit(application, authorisation, product, quantity=1,
                unit_price='30.00')

    @with_transaction()
    def test_capture_and_bill(self):
        "An undisputed claim is captured when its window closes and billed"
        pool = Pool()
        Claim = pool.get('hb.claim')
        Charge = pool.get('hb.charge')
        BudgetLine = pool.get('hb.budget.line')
        Billing = pool.get('hb.billing')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            _, application, _, budget, product, authorisation = make_world()
            claim = self.submit(application, authorisation, product)
            today = Date.today()
            self.assertEqual(Claim.capture_claims(date=today), [])
            captured = Claim.capture_claims(
                date=today + dt.timedelta(days=8))
            self.assertEqual(captured, [claim])
            claim = Claim(claim.id)
            self.assertEqual(claim.state, 'captured')
            charge = claim.charge
            self.assertEqual(charge.state, 'captured')
            self.assertEqual(charge.amount, Decimal('70.00'))
            self.assertEqual(charge.client, claim.client)
            line, = budget.lines
            line = BudgetLine(line.id)
            self.assertEqual((line.reserved, line.spent),
                (Decimal('0.00'), Decimal('70.00')))
            # captured once
            self.assertEqual(Claim.capture_claims(
                    date=today + dt.timedelta(days=8)), [])

            while Charge.post_sales():
                pass
            bill, = Billing.bill_providers(end_date=charge.date, post=True)
            self.assertEqual(bill.total_amount, Decimal('70.00'))
            self.assertEqual(Charge(charge.id).invoice, bill)

    @with_transaction()
    def test_dispute_resolve(self):
        "A dispute freezes the claim; the own-worker reduces or rejects it"
        pool = Pool()
        Claim = pool.get('hb.claim')
        BudgetLine = pool.get('hb.budget.line')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            _, application, client, budget, product, authorisation = (
                make_world(cap=Decimal('500.00')))
            today = Date.today()
            first = self.submit(application, authorisation, product)
            second = self.submit(application, authorisation, product,
                quantity=1)
            third = self.submit(application, authorisation, product,
                quantity=3)
            self.assertRefused('not_found', Claim.dispute, first,
                application.party)
            Claim.dispute(first, client, "Only one hour was done")
            Claim.dispute(second, client, "Not done")
            Claim.dispute(third, client, "Check")
            self.assertRefused('not_pending', Claim.dispute, first, client)
            self.assertEqual(Claim.capture_claims(
                    date=today + dt.timedelta(days=30)), [])

            first = Claim(first.id)
            self.assertEqual(first.state, 'disputed')
            self.assertRefused('reason_required', Claim.reduce, [first])
            first.resolution_amount = Decimal('35.00')
            first.resolution_reason = "One hour agreed with both"
            first.save()
            Claim.reduce([first])
            first = Claim(first.id)
            self.assertEqual(first.state, 'reduced')
            self.assertEqual(first.amount, Decimal('35.00'))
            self.assertEqual(first.claimed_amount, Decimal('70.00'))
            self.assertEqual(first.charge.amount, Decimal('35.00'))
            # its line bills the one hour agreed, not the two claimed
            charge_line, = first.charge.lines
            self.assertEqual((charge_line.quantity, charge_line.amount),
                (Decimal(1), Decimal('35.00')))

            second = Claim(second.id)
            second.resolution_reason = "Service not delivered"
            second.save()
            Claim.reject([second])
            self.assertEqual(Claim(second.id).state, 'rejected')
            self.assertFalse(Claim(second.id).charge)

            Claim.accept([Claim(third.id)])
            self.assertEqual(Claim(third.id).state, 'captured')

            line, = budget.lines
            line = BudgetLine(line.id)
            self.assertEqual((line.reserved, line.spent),
                (Decimal('0.00'), Decimal('140.00')))

    @with_transaction()
    def test_dispute_window_closed(self):
        "No dispute after the window"
        pool = Pool()
        Claim = pool.get('hb.claim')
        with set_company(create_wellbeing_area()):
            _, application, client, _, product, authorisation = make_world()
            claim = self.submit(application, authorisation, product)
            claim.dispute_end = claim.date - dt.timedelta(days=1)
            with Transaction().set_user(0):
                Claim.write([claim], {
                        'dispute_end': claim.date - dt.timedelta(days=1)})
            self.assertRefused('dispute_window_closed', Claim.dispute,
                claim, client)

    @with_transaction()
    def test_schedule(self):
        "A weekly schedule claims each of its dates, all or none"
        pool = Pool()
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world(
                cap=Decimal('10000'), amount=Decimal('10000'))
            today = Date.today()
            start = today - dt.timedelta(days=13)
            claims = Claim.submit_schedule(application.party,
                authorisation, product, start, today, [0, 3], 1)
            self.assertEqual(len(claims), 4)
            self.assertTrue(all(c.date.weekday() in (0, 3) for c in claims))
            self.assertRefused('invalid_schedule', Claim.submit_schedule,
                application.party, authorisation, product, today, start,
                [0], 1)


@unittest.skipIf(
    backend.name == 'sqlite', "needs concurrent connections (PostgreSQL)")
class ClaimConcurrencyTestCase(unittest.TestCase):
    "A claim and a charge racing for the last euros of a budget"

    @classmethod
    def setUpClass(cls):
        activate_module('hb_voucher')

    @classmethod
    def tearDownClass(cls):
        # The test commits its data: leave a clean database to others
        drop_db()

    def test_claim_and_charge_never_overspend(self):
        "A claim and a charge of 70 on a budget of 70: exactly one passes"
        def setup():
            company = create_wellbeing_area()
            with set_company(company):
                _, application, _, budget, product, authorisation = (
                    make_world(amount=Decimal('70.00')))
                line, = budget.lines
                return {'provider': application.party.id,
                    'authorisation': authorisation.id,
                    'product': product.id, 'line': line.id,
                    'company_id': company.id}
        ids = run_in_transaction(setup)
        barrier = threading.Barrier(2)
        results = {}

        def retried(run):
            # as Tryton's dispatcher: a conflict on the locked budget line
            # (the other transaction committed first) is tried again
            while True:
                try:
                    return run_in_transaction(run)
                except backend.DatabaseOperationalError:
                    continue

        def claim():
            def run():
                pool = Pool()
                Claim = pool.get('hb.claim')
                Date = pool.get('ir.date')
                with Transaction().set_context(company=ids['company_id']):
                    Claim.submit(ids['provider'], ids['authorisation'],
                        ids['product'], Date.today(), 2)
            barrier.wait()
            try:
                retried(run)
                results['claim'] = 'ok'
            except ClaimError as exception:
                results['claim'] = exception.code

        def charge():
            def run():
                pool = Pool()
                Charge = pool.get('hb.charge')
                with Transaction().set_context(company=ids['company_id']):
                    Charge.request(ids['provider'], MOBILE,
                        [(ids['product'], 2)], 'race')
            barrier.wait()
            try:
                retried(run)
                results['charge'] = 'ok'
            except ChargeError as exception:
                results['charge'] = exception.code

        threads = [threading.Thread(target=claim),
            threading.Thread(target=charge)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(results.values()),
            sorted(['ok', 'over_budget' if results.get('charge') == 'ok'
                    else 'insufficient_funds']), results)

        def figures():
            BudgetLine = Pool().get('hb.budget.line')
            line = BudgetLine(ids['line'])
            return line.reserved + line.spent, line.amount
        used, amount = run_in_transaction(figures)
        self.assertEqual(used, Decimal('70.00'))
        self.assertLessEqual(used, amount)

