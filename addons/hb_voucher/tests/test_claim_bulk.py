# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The bulk path of a CSV upload of claims (issue 14): Claim.submit_many
gives what Claim.submit gives row after row, and a claim uploaded, a
charge and a category move racing for the last euros of a budget line
never overspend it"""
import datetime as dt
import threading
import unittest
from decimal import Decimal

from trytond import backend
from trytond.exceptions import UserError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, activate_module, drop_db
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_voucher.exceptions import ChargeError, ClaimError
from trytond.modules.hb_voucher.portal_claims import (
    _report,
    read_csv,
    row_request,
    upload_claims,
    upload_claims_by_row,
)

from .test_claim import MOBILE, make_world
from .test_client_case import create_budget_lines
from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    provider_product,
    run_in_transaction,
    setup_hb,
)


def authorise(data, client, budget, provider, cap):
    "Return the active authorisation of home help over the budget's period"
    Authorisation = Pool().get('hb.authorisation')
    authorisation = Authorisation(
        client=client, budget=budget, provider=provider,
        category=data['home_help'], monthly_cap=cap,
        valid_from=budget.start_date, valid_to=budget.end_date,
        consent_by="Testi Asiakas", consent_method='meeting')
    authorisation.save()
    Authorisation.activate([authorisation])
    return authorisation


def mixed_rows(authorisation, product, today, start):
    """The rows of a CSV upload with good rows, each kind of bad row,
    duplicates within the file and rows crossing the monthly cap (200)
    and the budget (250) with the codes expected of each"""
    day = today - dt.timedelta(days=5)
    # another month (no month has more than 31 days)
    other = day - dt.timedelta(days=31)
    a, p = authorisation, product
    return [
        ('%d;%d;%s;1;;' % (a, p, day), None),  # 35.00
        ('%d;%d;%s;1;;' % (a, p, day), 'duplicate'),
        ('%d;%d;%s;1;;x' % (a, p, day), None),  # 70.00
        ('%d;%d;%s;2;;' % (a, p, day), None),  # 140.00
        ('%d;%d;%s;1.5;;' % (a, p, day), None),  # 192.50
        ('%d;%d;%s;0.5;;' % (a, p, day), 'over_monthly_cap'),
        ('%d;%d;%s;0.2;;' % (a, p, day), None),  # 199.50
        ('%d;%d;%s;1,5;;' % (a, p, other), 'over_budget'),
        ('%d;%d;%s;1;;' % (a, p, other), None),  # 234.50
        ('%d;%d;%s;1;;' % (a, p, other), 'over_budget'),
        ('%d;%d;%s;0.1;;' % (a, p, other), None),  # 238.00
        ('%d;%d;%s;0.1;;' % (a, p, other), 'duplicate'),
        ('%d;%d;%s;1;;' % (a, p, today + dt.timedelta(days=1)),
            'future_date'),
        ('%d;%d;2026-13-45;1;;' % (a, p), 'invalid_date'),
        ('%d;%d;%s;-1;;' % (a, p, day), 'invalid_quantity'),
        ('%d;%d;%s;;;' % (a, p, day), 'invalid_quantity'),
        ('%d;%d;%s;1;99.00;' % (a, p, day), 'price_above_contract'),
        ('%d;%d;%s;1;abc;' % (a, p, day), 'invalid_price'),
        ('999999;%d;%s;1;;' % (p, day), 'unknown_authorisation'),
        ('%d;999999;%s;1;;' % (a, day), 'unknown_service'),
        ('x;y;%s;1;;' % day, 'invalid_request'),
        ('%d;%d;%s;1;;' % (a, p, today - dt.timedelta(days=61)),
            'too_far_back'),
        ('%d;%d;%s;1;;' % (a, p, start - dt.timedelta(days=1)),
            'before_period'),
        ]


def csv_data(rows):
    return ('authorisation;service;date;quantity;unit_price;'
        'confirm_duplicate\n' + '\n'.join(r for r, _ in rows) + '\n'
        ).encode('utf-8')


class ClaimBulkTestCase(_DBTestCase):
    "Test the bulk path of a CSV upload of claims"
    module = 'hb_voucher'

    @with_transaction()
    def test_bulk_as_row_by_row(self):
        """A mixed file gives through submit_many what submit gives row
        after row: the same claims, refusals and budget figures"""
        pool = Pool()
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        BudgetLine = pool.get('hb.budget.line')
        BudgetMove = pool.get('hb.budget.move')
        cap, amount = Decimal('200.00'), Decimal('250.00')
        with set_company(create_wellbeing_area()):
            data, application, _, budget, product, authorisation = (
                make_world(amount=amount, cap=cap))
            # the same world for a second client: each path its own
            other = create_client(data, '+358401234599', individual=905,
                name="Toinen Asiakas")
            other_budget = create_budget(
                data, other, amount, start=budget.start_date)
            other_authorisation = authorise(data, other, other_budget,
                application.party, cap)
            today = Date.today()
            by_row = mixed_rows(
                authorisation.id, product.id, today, budget.start_date)
            bulk = mixed_rows(other_authorisation.id, product.id, today,
                budget.start_date)

            row_report = upload_claims_by_row(
                pool, application.party, csv_data(by_row))
            rows = read_csv(csv_data(bulk))
            requests = []
            for values in rows:
                try:
                    requests.append(row_request(values))
                except ClaimError as exception:
                    requests.append(exception)
            results = Claim.submit_many(application.party, requests)
            bulk_report = _report(rows, results)

            # the expected outcome of each row
            self.assertEqual(
                [getattr(r, 'code', None) if not isinstance(r, Claim)
                    else None for r in results],
                [code for _, code in bulk])
            self.assertEqual(
                [(n, bool(c), m) for n, _, c, m in row_report],
                [(n, bool(c), m) for n, _, c, m in bulk_report])

            def claims(authorisation):
                return [(c.date, c.quantity, c.unit_price, c.amount,
                        c.state, c.source, c.duplicate_confirmed,
                        c.dispute_end)
                    for c in Claim.search([
                            ('authorisation', '=', authorisation.id),
                            ], order=[('id', 'ASC')])]
            self.assertEqual(claims(authorisation),
                claims(other_authorisation))
            self.assertEqual(len(claims(authorisation)), 7)
            self.assertEqual(
                [c for _, _, c, _ in bulk_report if c],
                Claim.search([
                        ('authorisation', '=', other_authorisation.id),
                        ], order=[('id', 'ASC')]))

            line, = budget.lines
            other_line, = other_budget.lines
            line, other_line = BudgetLine.browse([line, other_line])
            self.assertEqual(
                (line.amount, line.reserved, line.spent, line.available),
                (other_line.amount, other_line.reserved, other_line.spent,
                    other_line.available))
            self.assertEqual(other_line.reserved, Decimal('238.00'))
            self.assertEqual(
                authorisation.claimed_in_month(today - dt.timedelta(days=5)),
                other_authorisation.claimed_in_month(
                    today - dt.timedelta(days=5)))
            # one reservation of the upload on the line (the ledger's
            # reserved amount the same)
            move, = BudgetMove.search([
                    ('line', '=', other_line.id), ('kind', '=', 'reserve')])
            self.assertEqual(
                (move.amount, move.reserved_after),
                (Decimal('238.00'), Decimal('238.00')))
            self.assertEqual(BudgetMove.search([
                        ('line', '=', line.id), ('kind', '=', 'reserve'),
                        ], count=True), 7)

    @with_transaction()
    def test_upload_refused_rows_write_nothing(self):
        "An upload of refused rows only writes no claim nor reservation"
        pool = Pool()
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        BudgetMove = pool.get('hb.budget.move')
        with set_company(create_wellbeing_area()):
            _, application, _, budget, product, authorisation = make_world()
            rows = [r for r in mixed_rows(authorisation.id, product.id,
                    Date.today(), budget.start_date) if r[1]
                and r[1] not in {'duplicate', 'over_monthly_cap',
                    'over_budget'}]
            report = upload_claims(
                pool, application.party, csv_data(rows))
            self.assertEqual(len(report), len(rows))
            self.assertFalse([r for r in report if r[2]])
            self.assertTrue(all(r[3] for r in report))
            self.assertEqual(Claim.search([], count=True), 0)
            self.assertEqual(BudgetMove.search([], count=True), 0)

    @with_transaction()
    def test_upload_sms_each(self):
        "With an SMS per claim, each claim accepted by an upload is told"
        pool = Pool()
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        Configuration = pool.get('hb.configuration')
        Message = pool.get('hb.sms.message')
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world()
            Configuration.write([Configuration(1)], {'claim_sms': 'each'})
            before = Message.search([('to', '=', MOBILE)], count=True)
            day = Date.today() - dt.timedelta(days=1)
            report = upload_claims(pool, application.party, csv_data([
                        ('%d;%d;%s;1' % (authorisation.id, product.id, day),
                            None),
                        ('%d;%d;%s;1' % (authorisation.id, product.id, day),
                            'duplicate'),
                        ('%d;%d;%s;2' % (authorisation.id, product.id, day),
                            None),
                        ]))
            claims = [c for _, _, c, _ in report if c]
            self.assertEqual(len(claims), 2)
            self.assertEqual(
                Message.search([('to', '=', MOBILE)], count=True),
                before + 2)
            self.assertTrue(all(
                    c.receipt_sms for c in Claim.browse(claims)))



@unittest.skipIf(
    backend.name == 'sqlite', "needs concurrent connections (PostgreSQL)")
class ClaimUploadRaceTestCase(unittest.TestCase):
    "A CSV upload, a charge and a category move racing for the last euros"

    @classmethod
    def setUpClass(cls):
        activate_module('hb_voucher')

    @classmethod
    def tearDownClass(cls):
        # The test commits its data: leave a clean database to others
        drop_db()

    def test_upload_charge_move_never_overspend(self):
        """An upload claiming 70, a charge of 70 and a move of 70 to
        another category, on a line of 70: exactly one passes"""
        def setup():
            pool = Pool()
            Configuration = pool.get('hb.configuration')
            Contract = pool.get('hb.provider.contract')
            Date = pool.get('ir.date')
            company = create_wellbeing_area()
            with set_company(company):
                data = setup_hb()
                application = create_provider_with_service(data)
                client = create_client(data, MOBILE)
                decision = create_budget_lines(data, client, {
                        'home_help': Decimal('70.00'),
                        'meals': Decimal('100.00')})
                budget = decision.budget
                with Transaction().set_user(0):
                    Contract.write([application.contract],
                        {'start_date': budget.start_date})
                authorisation = authorise(data, client, budget,
                    application.party, Decimal('1000.00'))
                Configuration.write([Configuration(1)], {
                        'hb_client_move_limit': Decimal('100.00')})
                line, = [x for x in budget.lines
                    if x.category == data['home_help']]
                return {'provider': application.party.id,
                    'authorisation': authorisation.id,
                    'product': provider_product(application).id,
                    'client': client.id, 'budget': budget.id,
                    'line': line.id, 'home_help': data['home_help'].id,
                    'meals': data['meals'].id, 'company_id': company.id,
                    'today': Date.today()}
        ids = run_in_transaction(setup)
        barrier = threading.Barrier(3)
        results = {}

        def retried(run, user=1):
            # as Tryton's dispatcher: a conflict on the locked budget line
            # (the other transaction committed first) is tried again
            while True:
                try:
                    return run_in_transaction(run, user=user)
                except backend.DatabaseOperationalError:
                    continue

        def upload():
            data = ('%d;%d;%s;2\n' % (ids['authorisation'], ids['product'],
                    ids['today'])).encode('utf-8')

            def run():
                pool = Pool()
                Party = pool.get('party.party')
                with Transaction().set_context(company=ids['company_id']):
                    (_, _, claim, refusal), = upload_claims(
                        pool, Party(ids['provider']), data)
                    return 'ok' if claim else refusal
            barrier.wait()
            try:
                results['upload'] = retried(run)
            except UserError as exception:
                results['upload'] = exception.message

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
            except UserError as exception:
                results['charge'] = exception.message

        def move():
            def run():
                pool = Pool()
                Request = pool.get('hb.client.request')
                with Transaction().set_context(company=ids['company_id']):
                    request = Request(company=ids['company_id'],
                        client=ids['client'], person=ids['client'],
                        kind='move', budget=ids['budget'],
                        from_category=ids['home_help'],
                        to_category=ids['meals'], amount=Decimal('70.00'))
                    Request.submit(request)
                    return request.state
            barrier.wait()
            try:
                results['move'] = retried(run, user=0)
            except UserError as exception:
                results['move'] = exception.message

        threads = [threading.Thread(target=f)
            for f in [upload, charge, move]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        passed = [k for k, v in results.items() if v in {'ok', 'done'}]
        self.assertEqual(len(results), 3, results)
        self.assertEqual(len(passed), 1, results)

        def figures():
            BudgetLine = Pool().get('hb.budget.line')
            line = BudgetLine(ids['line'])
            return line.amount, line.reserved + line.spent
        amount, used = run_in_transaction(figures)
        self.assertLessEqual(used, amount)
        if passed == ['move']:
            self.assertEqual((amount, used), (Decimal(0), Decimal(0)))
        else:
            self.assertEqual((amount, used),
                (Decimal('70.00'), Decimal('70.00')))
