# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""PostgreSQL stopped and started during a stream of charges.

A terminal (a thread) makes charges through the JSON API of a served
trytond: request with an idempotency key, read the one-time code, confirm;
on any failure it retries the same step with the same key, as a terminal
must. After a few charges the test stops the PostgreSQL server of the test
command (pg_ctl stop -m fast, as a crash or a fail-over does to the open
connections), keeps it down for a few seconds and starts it again with the
same options. While it is down every answer of the API must be a clean
HTTP 503 with the JSON error code "unavailable" given within a few seconds
(no hang, no HTML 500); afterwards the stream must complete, every key
must have made exactly one captured charge, the budget must be charged
exactly once per charge and the reconciliation checks must hold.

Needs the server of scripts/test.sh (PG_DIR, PG_BIN, PG_PORT, which
scripts/pg.sh exports); with another server the test is skipped, saying
so."""
import threading
import time
import unittest
from decimal import Decimal

from trytond.tests.test_tryton import DB_NAME

from tests import test_security_access as world
from tests.faults import (
    Api,
    PostgreSQL,
    TrytondServer,
    connect,
    last_code,
    on_postgresql,
    wait_for,
)
from tests.test_crash import in_company, reconciliation

CHARGES = 16
QUANTITY = '0.5'  # 17.50 a charge
DOWN = 8  # seconds the server stays down (more than the 5 s wait)
MAX_ANSWER = 8  # seconds: slower than this is a hang


class Terminal(threading.Thread):
    "Make CHARGES charges, retrying each step with the same key"

    def __init__(self, api, mobile, product, prefix):
        super().__init__(daemon=True)
        self.api, self.mobile, self.product = api, mobile, product
        self.prefix = prefix
        self.log = []  # (step, status, error code, seconds, at)
        self.done = 0
        self.charges = {}
        self.failure = None

    def _db(self, func, *args):
        "func(connection, *args), retried until the database answers"
        while True:
            try:
                with connect() as db:
                    return func(db, *args)
            except Exception:
                time.sleep(0.2)

    def step(self, name, call, *args):
        while True:
            status, body, seconds = call(*args)
            code = (body.get('error') or {}).get('code') if isinstance(
                body, dict) else None
            self.log.append((name, status, code, seconds, time.monotonic()))
            if status in {200, 201}:
                return body
            if name == 'confirm' and code == 'already_confirmed':
                # the first try was committed but its answer was lost
                return None
            if status is not None and status < 500:
                raise AssertionError('%s: %s %s' % (name, status, body))
            time.sleep(0.2)

    def run(self):
        try:
            for i in range(CHARGES):
                key = '%s-%d' % (self.prefix, i)
                last_sms = self._db(lambda db: db.execute(
                        'SELECT coalesce(max(id), 0) FROM hb_sms_message'
                        ).fetchone()[0])
                charge = self.step('request', self.api.request, key,
                    self.mobile, self.product, QUANTITY)
                code = self._db(last_code, self.mobile, last_sms)
                self.step('confirm', self.api.confirm, charge['id'], code)
                self.charges[key] = charge['id']
                self.done += 1
        except Exception as exception:
            self.failure = exception


@unittest.skipUnless(on_postgresql() and PostgreSQL().available,
    'needs the private PostgreSQL of scripts/test.sh to stop and start it '
    '(PG_DIR, PG_BIN and PG_PORT are not set)')
class PostgreSQLRestartTestCase(world.WorldTestCase):
    "Clients get clear errors while PostgreSQL is down; nothing is lost"

    def test_restart_during_charges(self):
        pg = PostgreSQL()
        db = connect()
        line = self.ids['line1']
        before = db.execute('SELECT reserved, spent FROM hb_budget_line '
            'WHERE id = %s', (line,)).fetchone()
        db.close()
        server = TrytondServer(DB_NAME)
        try:
            terminal = Terminal(Api(server.url, self.ids['key_a'],
                    timeout=60), world.MOBILE_1, self.ids['product_a'],
                'pg')
            terminal.start()
            wait_for(lambda: terminal.done >= 4 or terminal.failure, 60,
                what='4 charges')
            down = time.monotonic()
            pg.stop()
            # Calls made while the server is down (the terminal may be
            # between two calls, waiting for the database itself): each a
            # new charge, none of which may be made later
            probe = Api(server.url, self.ids['key_a'], timeout=60)
            probes = []
            while time.monotonic() - down < DOWN:
                status, body, seconds = probe.request(
                    'down-%d' % len(probes), world.MOBILE_1,
                    self.ids['product_a'], QUANTITY)
                probes.append((status, (body.get('error') or {}).get(
                            'code') if isinstance(body, dict) else None,
                        seconds))
            pg.start()
            up = time.monotonic()
            terminal.join(120)
        finally:
            server.stop()
        self.assertIsNone(terminal.failure)
        self.assertEqual(terminal.done, CHARGES)
        # every call while the server was down is a clean 503
        # "unavailable", given within seconds
        self.assertTrue(probes)
        self.assertEqual({(p[0], p[1]) for p in probes},
            {(503, 'unavailable')}, probes)
        self.assertLess(max(p[2] for p in probes), MAX_ANSWER,
            'an answer hung')
        refused = [e for e in terminal.log
            if e[1] not in {200, 201} and e[2] != 'already_confirmed']
        # so is every refusal the terminal got
        self.assertEqual({(e[1], e[2]) for e in refused},
            {(503, 'unavailable')} if refused else set(), refused)
        slowest = max(e[3] for e in terminal.log)
        self.assertLess(slowest, MAX_ANSWER, 'an answer hung')
        first_ok = min(e[4] for e in terminal.log
            if e[4] > up and e[1] in {200, 201})
        type(self).figures = {
            'calls': len(terminal.log), 'unavailable': len(refused),
            'calls while down': len(probes),
            'slowest while down': round(max(p[2] for p in probes), 2),
            'slowest answer': round(slowest, 2),
            'recovered after start': round(first_ok - up, 2),
            'down': round(up - down, 1)}
        print('\n    %s' % type(self).figures)
        db = connect()
        try:
            rows = db.execute('SELECT idempotency_key, count(*), '
                "min(state), sum(amount) FROM hb_charge "
                "WHERE idempotency_key LIKE 'pg-%%' "
                'GROUP BY idempotency_key').fetchall()
            self.assertEqual(len(rows), CHARGES)
            # a request answered 503 did nothing, even once its
            # transaction could start
            self.assertEqual(db.execute('SELECT count(*) FROM hb_charge '
                    "WHERE idempotency_key LIKE 'down-%%'").fetchone()[0], 0)
            for key, count, state, amount in rows:
                self.assertEqual((count, state, amount),
                    (1, 'captured', Decimal('17.50')), key)
            after = db.execute('SELECT reserved, spent FROM hb_budget_line '
                'WHERE id = %s', (line,)).fetchone()
            self.assertEqual(after, (before[0],
                    before[1] + CHARGES * Decimal('17.50')))
        finally:
            db.close()
        result = in_company(self.ids['company'], reconciliation)
        self.assertEqual(result['checks'], {
                'clearing': True, 'spent': True, 'analytic': True},
            result['mismatches'])
