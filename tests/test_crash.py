# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Crash safety of the money path: the worker is SIGKILLed in the middle of
a charge request, a charge confirmation, a billing run and a SEPA payment
run, then restarted.

The charge requests and confirmations go through the JSON API of a served
trytond (a subprocess); the billing and payment runs are the scheduled
tasks BILL and PAY (below) run by a real
trytond-cron worker. The worker is stopped at its last write before commit
by a table lock the test holds from its own connection (tests/faults.py),
so it is killed with all its work done but not committed; the test checks
from the database that the transaction had written that work, then that
after the kill nothing of it remains (no charge half-captured, no bill or
payment half-made), that the three reconciliation checks of hb_voucher
hold, and that a rerun does the work exactly once (a second rerun does
nothing more)."""
import datetime as dt
import threading
import unittest
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME

from tests import test_security_access as world
from tests.faults import (
    Api,
    TableLock,
    TrytondServer,
    connect,
    kill_group,
    kill_server,
    last_code,
    on_postgresql,
    prepare_cron,
    run_cron,
)
from trytond.modules.hb_voucher.tests import tools as voucher_tools
from trytond.modules.hb_voucher.tests.tools import run_in_transaction

MOBILE_1, MOBILE_2 = world.MOBILE_1, world.MOBILE_2
BILL = 'hb.billing|bill_providers'
PAY = 'hb.payment.run|pay_vendor_bills'


def in_company(company, func, *args):
    "Run func in a committed transaction of user 0 in company's context"
    def run():
        with set_company(Pool().get('company.company')(company)):
            return func(*args)
    return run_in_transaction(run, user=0)


def reconciliation():
    return Pool().get('hb.charge').reconcile()


def hb_bills():
    "(provider, state, total) of every HB vendor bill"
    Invoice = Pool().get('account.invoice')
    return sorted((i.party.id, i.state, i.total_amount)
        for i in Invoice.search([('hb_bill', '=', True)]))


def in_thread(func, *args):
    "Start func(*args) in a thread; return (thread, result list)"
    result = []
    thread = threading.Thread(
        target=lambda: result.append(func(*args)), daemon=True)
    thread.start()
    return thread, result


@unittest.skipUnless(on_postgresql(), 'needs PostgreSQL (row and table '
    'locks, a served database)')
class CrashTestCase(world.WorldTestCase):
    "SIGKILL of the worker mid-transaction loses or doubles nothing"

    @classmethod
    def setUpWorld(cls):
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('hb.configuration')
        FiscalYear = pool.get('account.fiscalyear')
        Date = pool.get('ir.date')
        company = Company(cls.ids['company'])
        with set_company(company):
            config = Configuration(1)
            config.hb_invoice_post = True  # SEPA pays posted bills
            config.save()
            yesterday = Date.today() - dt.timedelta(days=1)
            if not FiscalYear.search([
                    ('start_date', '<=', yesterday),
                    ('end_date', '>=', yesterday)]):
                fiscalyear = voucher_tools.set_invoice_sequences(
                    voucher_tools.get_fiscalyear(company, today=yesterday))
                fiscalyear.save()
                FiscalYear.create_period([fiscalyear])

    def assertReconciled(self):
        result = in_company(self.ids['company'], reconciliation)
        self.assertEqual(result['checks'], {
                'clearing': True, 'spent': True, 'analytic': True},
            result['mismatches'])
        return result

    def budget_line(self, cursor, line):
        return cursor.execute(
            'SELECT reserved, spent FROM hb_budget_line WHERE id = %s',
            (line,)).fetchone()

    def test_charge_request_and_confirmation(self):
        "Killed in a request and in a confirmation: retried exactly once"
        db = connect()
        server = TrytondServer(DB_NAME)
        try:
            api = Api(server.url, self.ids['key_a'])
            product = self.ids['product_a']
            reserved, spent = self.budget_line(db, self.ids['line1'])

            # A request: its last write is the one-time code in the outbox
            lock = TableLock('hb_sms_message')
            thread, answer = in_thread(
                api.request, 'crash-1', MOBILE_1, product, 2)
            pid = lock.wait_blocked()
            written = lock.written(pid)
            kill_server(server)
            lock.release(wait_pid=pid)
            thread.join(30)
            self.assertLessEqual({'hb_charge', 'hb_charge_line',
                    'hb_budget_line', 'hb_budget_move'}, written)
            self.assertIsNone(answer[0][0], 'the client got no answer')
            print('\n    request killed after writing %s' % ', '.join(
                    sorted(written)))
            self.assertEqual(db.execute('SELECT count(*) FROM hb_charge '
                    "WHERE idempotency_key = 'crash-1'").fetchone()[0], 0)
            self.assertEqual(self.budget_line(db, self.ids['line1']),
                (reserved, spent))
            self.assertReconciled()

            # The terminal retries the same key once the server is back
            server = TrytondServer(DB_NAME)
            api = Api(server.url, self.ids['key_a'])
            status, charge, _ = api.request('crash-1', MOBILE_1, product, 2)
            self.assertEqual(status, 201, charge)
            status, again, _ = api.request('crash-1', MOBILE_1, product, 2)
            self.assertEqual((status, again['id']), (200, charge['id']))
            amount = Decimal(charge['amount'])
            self.assertEqual(amount, Decimal('70.00'))
            self.assertEqual(self.budget_line(db, self.ids['line1']),
                (reserved + amount, spent))

            # A confirmation: its last write is the receipt SMS
            code = last_code(db, MOBILE_1)
            lock = TableLock('hb_sms_message')
            thread, answer = in_thread(api.confirm, charge['id'], code)
            pid = lock.wait_blocked()
            written = lock.written(pid)
            kill_server(server)
            lock.release(wait_pid=pid)
            thread.join(30)
            # the transaction had captured (HB's rows only: the sale is
            # made by the posting batch)...
            self.assertLessEqual({'hb_charge', 'hb_budget_line',
                    'hb_budget_move'}, written)
            self.assertFalse({'sale_point_sale', 'sale_point_sale_line',
                    'sale_point_payment'} & written)
            self.assertIsNone(answer[0][0], 'the client got no answer')
            print('    confirmation killed after writing %s' % ', '.join(
                    sorted(written)))
            # ...and none of it remains: not half-captured
            self.assertEqual(db.execute(
                    'SELECT state, sale, captured_at FROM hb_charge '
                    'WHERE id = %s', (charge['id'],)).fetchone(),
                ('requested', None, None))
            self.assertEqual(db.execute(
                    'SELECT count(*) FROM sale_point_sale WHERE number = %s',
                    (charge['number'],)).fetchone()[0], 0)
            self.assertEqual(self.budget_line(db, self.ids['line1']),
                (reserved + amount, spent))
            self.assertReconciled()

            server = TrytondServer(DB_NAME)
            api = Api(server.url, self.ids['key_a'])
            status, body, _ = api.confirm(charge['id'], code)
            self.assertEqual((status, body['state']), (200, 'captured'),
                body)
            status, body, _ = api.confirm(charge['id'], code)
            self.assertEqual((status, body['error']['code']),
                (409, 'already_confirmed'))
            self.assertEqual(self.budget_line(db, self.ids['line1']),
                (reserved, spent + amount))
            # (its sale: made by the posting batch)
            self.assertEqual(db.execute(
                    'SELECT count(*) FROM sale_point_sale WHERE number = %s',
                    (charge['number'],)).fetchone()[0], 0)
            self.assertEqual(db.execute(
                    "SELECT kind, count(*) FROM hb_budget_move "
                    "WHERE origin = %s GROUP BY kind ORDER BY kind",
                    ('hb.charge,%s' % charge['id'],)).fetchall(),
                [('capture', 1), ('reserve', 1)])
            self.assertReconciled()
        finally:
            if server.process.poll() is None:
                server.stop()
            db.close()

    def make_charges_of_yesterday(self):
        """Capture charges of both providers (one cancelled: refunded)
        and date them yesterday, as the billing run bills up to then.
        Return {charge id: amount}."""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Party = pool.get('party.party')
        charges = []
        for key, provider, product, mobile, quantity in [
                ('bill-1', 'party_a', 'product_a', MOBILE_1, 2),
                ('bill-2', 'party_b', 'product_b', MOBILE_2, '1.5'),
                ('bill-3', 'party_a', 'product_a', MOBILE_2, 1),
                ('bill-4', 'party_a', 'product_a', MOBILE_1, 1)]:
            charge, _ = Charge.request(Party(self.ids[provider]), mobile,
                [(self.ids[product], quantity)], key)
            charges.append(Charge.confirm(
                    charge, voucher_tools.last_code(mobile)))
        cancelled = Charge.cancel(charges[-1])
        records = Charge.browse(charges) + list(cancelled.refunds)
        Charge.write(records, {
                'date': records[0].date - dt.timedelta(days=1)})
        # their sales (dated yesterday too) by the posting batch
        Charge.post_sales()
        return {c.id: c.amount for c in records}

    def kill_cron_in_middle(self, method, lock_table, work_tables):
        """Run the due task method in trytond-cron, SIGKILL the worker
        when it blocks on lock_table and check that its transaction had
        written work_tables"""
        lock = TableLock(lock_table)
        process = run_cron(method, wait=False)
        pid = None
        try:
            pid = lock.wait_blocked(120)
            written = lock.written(pid)
        finally:
            kill_group(process)
            lock.release(wait_pid=pid)
        self.assertLessEqual(set(work_tables), written)
        print('\n    %s killed after writing %s' % (method, ', '.join(
                    sorted(written))))

    def rerun_cron(self, method):
        in_company(self.ids['company'], prepare_cron, method,
            self.ids['company'])
        self.assertEqual(run_cron(method).returncode, 0)

    def test_billing_and_payment_runs(self):
        "Killed in a billing run and in a SEPA run: rerun completes once"
        company = self.ids['company']
        amounts = in_company(company, self.make_charges_of_yesterday)
        total = sum(amounts.values())
        self.assertEqual(total, Decimal('157.50'))
        db = connect()
        try:
            # Billing: killed at its last write, the cron's log line
            # (bills, their lines and moves made, charges marked)
            in_company(company, prepare_cron, BILL, company)
            self.kill_cron_in_middle(BILL, 'ir_cron_log', [
                    'account_invoice', 'account_invoice_line',
                    'account_move', 'account_move_line', 'hb_charge',
                    'ir_cron'])
            self.assertEqual(db.execute('SELECT count(*) FROM '
                    'account_invoice WHERE hb_bill').fetchone()[0], 0)
            self.assertEqual(db.execute('SELECT count(*) FROM hb_charge '
                    'WHERE id = ANY(%s) AND invoice_line IS NOT NULL',
                    (list(amounts),)).fetchone()[0], 0)
            self.assertReconciled()

            self.rerun_cron(BILL)
            self.assertEqual(in_company(company, hb_bills), sorted([
                        (self.ids['party_a'], 'posted', Decimal('105.00')),
                        (self.ids['party_b'], 'posted', Decimal('52.50'))]))
            # each charge of yesterday linked to a bill line
            billed, = db.execute('SELECT count(*) FROM hb_charge '
                'WHERE id = ANY(%s) AND invoice_line IS NOT NULL',
                (list(amounts),)).fetchone()
            self.assertEqual(billed, len(amounts))
            result = self.assertReconciled()
            self.assertEqual(result['billed'], total)
            self.rerun_cron(BILL)
            self.assertEqual(db.execute('SELECT count(*) FROM '
                    'account_invoice WHERE hb_bill').fetchone()[0], 2)

            # SEPA: killed at its last write (payments, group and the
            # pain.001 message made)
            in_company(company, prepare_cron, PAY, company)
            self.kill_cron_in_middle(PAY, 'ir_cron_log', [
                    'account_payment', 'account_payment_group',
                    'account_payment_sepa_message', 'ir_cron'])
            for table in ['account_payment', 'account_payment_group',
                    'account_payment_sepa_message']:
                self.assertEqual(db.execute(
                        'SELECT count(*) FROM %s' % table).fetchone()[0], 0,
                    table)
            self.assertReconciled()

            self.rerun_cron(PAY)
            payments = db.execute('SELECT party, amount, state '
                'FROM account_payment ORDER BY party').fetchall()
            self.assertEqual(sorted(payments), sorted([
                        (self.ids['party_a'], Decimal('105.00'),
                            'processing'),
                        (self.ids['party_b'], Decimal('52.50'),
                            'processing')]))
            messages = db.execute('SELECT message FROM '
                'account_payment_sepa_message').fetchall()
            self.assertEqual(len(messages), 1)
            xml = bytes(messages[0][0]).decode('utf-8')
            self.assertIn('<CtrlSum>157.50</CtrlSum>', xml)
            self.rerun_cron(PAY)
            self.assertEqual(db.execute(
                    'SELECT count(*) FROM account_payment').fetchone()[0], 2)
            self.assertReconciled()
        finally:
            db.close()
