# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Load with faults: many charges from concurrent terminals through the
JSON API of a served trytond, with random faults, then the money checks.

    python -m tests.load_faults --charges 3000 --clients 16 [--seed 8]
    make load-faults CHARGES=3000 CLIENTS=16   # on a private PostgreSQL

The command runs tests/test_load_faults.py at the given size (the test
command runs it small). It needs the database environment of the test
runner (TRYTOND_DATABASE__URI, DB_NAME, DB_CACHE, TRYTOND_CONFIG): `make
load-faults` sets it up on a throw-away PostgreSQL like `make test`.

Each terminal (a thread with one provider key at a time) repeatedly picks a
provider, a client and a quantity and requests a charge with a new
idempotency key, then plays one scenario (each terminal plays every scenario
once first, terminal i starting at the i-th, then draws them at random with
the weights of SCENARIOS):

- confirm with the right code (sometimes sending the confirmation twice,
  as a terminal does when the answer is lost: 409 already_confirmed);
- one or two wrong codes first (403 wrong_code), then the right one;
- three wrong codes (409 too_many_attempts: the request is cancelled);
- cancel the request before confirming;
- the code expires before it is confirmed (409 code_expired), or the
  client never confirms and the expiry task releases it;
- confirm, then cancel within the window (a full refund);
- any request is sent again with the same key (200, the same charge).

A 503 "unavailable" answer (the database stayed busy after trytond's
retries, e.g. many charges of one budget at once) is retried by the
terminal with the same key, as the API document says; those are counted.

Budgets are sized so that many run out during the run (400
insufficient_funds). Every answer is recorded in a ledger of what the
terminals believe happened. Afterwards: exactly one charge per key, the
database agrees with the ledger, nothing is still reserved once expired
requests are released, every budget's spent equals its captured minus
refunded charges (and the reconciliation check), and no budget line is
overspent. The expiry is made by moving the charge's expires_at into the
past in the database (the clock of a test cannot wait ten minutes)."""
import argparse
import datetime as dt
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from decimal import Decimal

QUANTITIES = ['0.5', '1', '1.5', '2', '3']
# scenario: weight
SCENARIOS = {
    'confirm': 46,
    'confirm_twice': 8,
    'wrong_then_right': 12,
    'too_many_wrong': 4,
    'cancel_request': 10,
    'expire_then_confirm': 6,
    'abandon': 4,
    'confirm_then_cancel': 10,
    }
RETRY_REQUEST = 0.15  # chance to send a request again with the same key
BUSY_RETRIES = 10  # a terminal retries a 503 (the same key) this often


class Ledger:
    "What the terminals saw, shared by all terminals"

    def __init__(self):
        self.lock = threading.Lock()
        self.charges = {}  # key -> dict(id, amount, state, budget mobile)
        self.refused = Counter()  # error code of refused requests
        self.answers = Counter()  # (step, status, code)
        self.faults = Counter()  # injected faults
        self.busy = Counter()  # 503 answers retried, per step
        self.latencies = []
        self.violations = []  # answers that should not have happened

    def answer(self, step, status, body, seconds):
        code = (body.get('error') or {}).get('code') if isinstance(
            body, dict) else None
        with self.lock:
            self.answers[(step, status, code)] += 1
            self.latencies.append(seconds)
        return code

    def violation(self, text):
        with self.lock:
            self.violations.append(text)


class Terminal(threading.Thread):

    def __init__(self, index, url, world, ledger, counter, rng):
        from tests.faults import Api
        super().__init__(daemon=True, name='terminal-%d' % index)
        self.apis = [Api(url, key, timeout=60) for key in world['keys']]
        self.products = world['products']
        self.mobiles = world['mobiles']
        self.ledger = ledger
        self.counter = counter
        self.rng = rng
        self.db = None
        self.accepted = 0  # requests answered 201
        self.index = index

    def next_index(self):
        with self.counter['lock']:
            if self.counter['next'] >= self.counter['total']:
                return None
            self.counter['next'] += 1
            return self.counter['next']

    def call(self, step, func, *args, expect):
        """Call func(*args) as the step, again while the answer is 503
        (busy: the retry of the same request); record an unexpected
        answer as a violation"""
        for _ in range(BUSY_RETRIES):
            status, body, seconds = func(*args)
            code = self.ledger.answer(step, status, body, seconds)
            if status != 503:
                break
            with self.ledger.lock:
                self.ledger.busy[step] += 1
            time.sleep(self.rng.uniform(0.1, 0.5))
        if (status, code) not in expect and status not in expect:
            self.ledger.violation('%s %s: %s %s' % (
                    step, args[:2], status, body))
        return status, body, code

    def code_of(self, charge_id):
        """The one-time code sent in the transaction that made the charge
        (the outbox row was created at the charge row's CURRENT_TIMESTAMP,
        the start of that transaction; its xmin changes when the message
        is sent after the commit)"""
        row = self.db.execute(
            'SELECT s.text FROM hb_sms_message s JOIN hb_charge c '
            'ON s.create_date = c.create_date AND s."to" = c.mobile '
            'WHERE c.id = %s ORDER BY s.id DESC LIMIT 1',
            (charge_id,)).fetchone()
        import re
        return re.search(r'\b(\d{6})\b', row[0]).group(1)

    def run(self):
        from tests.faults import connect
        self.db = connect()
        try:
            while True:
                index = self.next_index()
                if index is None:
                    return
                try:
                    self.charge(index)
                except Exception as exception:
                    self.ledger.violation('charge %s: %r' % (
                            index, exception))
        finally:
            self.db.close()

    def charge(self, index):
        rng = self.rng
        ledger = self.ledger
        provider = rng.randrange(len(self.apis))
        api = self.apis[provider]
        mobile = rng.choice(self.mobiles)
        quantity = rng.choice(QUANTITIES)
        key = 'load-%d' % index
        request = (key, mobile, self.products[provider], quantity)
        status, body, code = self.call('request', api.request, *request,
            expect={201, (400, 'insufficient_funds')})
        if status != 201:
            with ledger.lock:
                ledger.refused[code] += 1
                ledger.charges[key] = None
            return
        charge_id, amount = body['id'], Decimal(body['amount'])
        record = {'id': charge_id, 'amount': amount, 'state': 'requested'}
        with ledger.lock:
            ledger.charges[key] = record
        self.accepted += 1
        # each terminal first plays every scenario once, then draws them
        first = self.accepted <= len(SCENARIOS)
        if self.accepted == 1 or rng.random() < RETRY_REQUEST:
            ledger.faults['same key again'] += 1
            status, again, _ = self.call('request again', api.request,
                *request, expect={200})
            if status == 200 and again['id'] != charge_id:
                ledger.violation('%s charged twice: %s and %s' % (
                        key, charge_id, again['id']))
        code = self.code_of(charge_id)
        wrong = '%06d' % ((int(code) + 1) % 10 ** 6)
        if first:  # terminal i starts at the i-th scenario
            scenario = list(SCENARIOS)[
                (self.index + self.accepted - 1) % len(SCENARIOS)]
        else:
            scenario = rng.choices(
                list(SCENARIOS), weights=list(SCENARIOS.values()))[0]
        ledger.faults[scenario] += 1
        confirm = (charge_id, code)
        if scenario == 'wrong_then_right':
            for _ in range(rng.choice([1, 2])):
                ledger.faults['wrong code'] += 1
                self.call('confirm', api.confirm, charge_id, wrong,
                    expect={(403, 'wrong_code')})
        elif scenario == 'too_many_wrong':
            for attempt in range(3):
                ledger.faults['wrong code'] += 1
                self.call('confirm', api.confirm, charge_id, wrong,
                    expect={(403, 'wrong_code')} if attempt < 2
                    else {(409, 'too_many_attempts')})
            record['state'] = 'cancelled'
            self.call('confirm', api.confirm, *confirm,
                expect={(409, 'not_pending')})
            return
        elif scenario == 'cancel_request':
            status, body, _ = self.call('cancel', api.cancel, charge_id,
                expect={200})
            if status == 200:
                record['state'] = body['state']
            return
        elif scenario in {'expire_then_confirm', 'abandon'}:
            self.db.execute('UPDATE hb_charge SET expires_at = %s '
                'WHERE id = %s', (dt.datetime.now() - dt.timedelta(
                        minutes=1), charge_id))
            record['state'] = 'expired'
            if scenario == 'expire_then_confirm':
                self.call('confirm', api.confirm, *confirm,
                    expect={(409, 'code_expired')})
            return
        status, body, _ = self.call('confirm', api.confirm, *confirm,
            expect={200})
        if status != 200:
            return
        record['state'] = 'captured'
        if scenario == 'confirm_twice':
            self.call('confirm again', api.confirm, *confirm,
                expect={(409, 'already_confirmed')})
        elif scenario == 'confirm_then_cancel':
            status, body, _ = self.call('cancel', api.cancel, charge_id,
                expect={200})
            if status == 200:
                record['state'] = 'refunded'


def run_load(url, world, charges, clients, seed):
    "Run the terminals; return the ledger and the seconds taken"
    ledger = Ledger()
    counter = {'lock': threading.Lock(), 'next': 0, 'total': charges}
    master = random.Random(seed)
    terminals = [Terminal(i, url, world, ledger, counter,
            random.Random(master.random())) for i in range(clients)]
    start = time.monotonic()
    for terminal in terminals:
        terminal.start()
    for terminal in terminals:
        terminal.join()
    return ledger, time.monotonic() - start


def check_database(ledger):
    """Compare the database with the ledger and check the money; return
    (problems, figures)"""
    from tests.faults import connect
    problems = []
    db = connect()
    try:
        rows = db.execute(
            'SELECT c.idempotency_key, count(*), min(c.state), '
            'min(c.amount), min(c.id), '
            "bool_or(EXISTS (SELECT 1 FROM hb_charge r WHERE r.origin = c.id "
            "AND r.kind = 'refund' AND r.state = 'captured')) "
            "FROM hb_charge c WHERE c.idempotency_key LIKE 'load-%%' "
            'GROUP BY c.idempotency_key').fetchall()
        found = {}
        for key, count, state, amount, charge_id, refunded in rows:
            if count != 1:
                problems.append('%s: %s charges' % (key, count))
            found[key] = (charge_id, state, amount, refunded)
        for key, record in ledger.charges.items():
            if record is None:
                if key in found:
                    problems.append('%s refused but charged' % key)
                continue
            if key not in found:
                problems.append('%s lost' % key)
                continue
            charge_id, state, amount, refunded = found[key]
            expected = {
                'requested': ('expired', False),
                'expired': ('expired', False),
                'cancelled': ('cancelled', False),
                'captured': ('captured', False),
                'refunded': ('cancelled', True),
                }[record['state']]
            if (charge_id, amount) != (record['id'], record['amount']) or (
                    (state, bool(refunded)) != expected):
                problems.append('%s: database %s, terminal saw %s' % (
                        key, (charge_id, state, amount, refunded), record))
        unknown = set(found) - set(ledger.charges)
        if unknown:
            problems.append('charges no terminal asked for: %s' % unknown)

        # Budgets: spent = captured - refunded, nothing reserved, no line
        # overspent
        spent = dict(db.execute('SELECT budget, sum(spent) '
                'FROM hb_budget_line GROUP BY budget').fetchall())
        charged = dict(db.execute('SELECT budget, sum(amount) FROM hb_charge '
                'WHERE captured_at IS NOT NULL GROUP BY budget').fetchall())
        for budget in set(spent) | set(charged):
            if spent.get(budget, 0) != charged.get(budget, 0):
                problems.append('budget %s: spent %s, charges %s' % (
                        budget, spent.get(budget), charged.get(budget)))
        for line, amount, reserved, spent_ in db.execute(
                'SELECT id, amount, reserved, spent FROM hb_budget_line'):
            if reserved != 0 or spent_ < 0 or spent_ > amount:
                problems.append('budget line %s: amount %s, reserved %s, '
                    'spent %s' % (line, amount, reserved, spent_))
        exhausted, = db.execute(
            'SELECT count(*) FROM hb_budget_line '
            'WHERE amount - spent < 17.50').fetchone()
        terminal_total = sum(r['amount'] for r in ledger.charges.values()
            if r and r['state'] == 'captured')
        load_total, = db.execute(
            'SELECT coalesce(sum(amount), 0) FROM hb_charge '
            'WHERE captured_at IS NOT NULL '
            "AND (idempotency_key LIKE 'load-%%' "
            "OR origin IN (SELECT id FROM hb_charge "
            "WHERE idempotency_key LIKE 'load-%%'))").fetchone()
        if terminal_total != load_total:
            problems.append('terminals captured %s net, database %s' % (
                    terminal_total, load_total))
        states = Counter(dict(db.execute(
                    "SELECT state, count(*) FROM hb_charge "
                    "WHERE idempotency_key LIKE 'load-%%' GROUP BY state"
                    ).fetchall()))
    finally:
        db.close()
    return problems, {
        'states': dict(states), 'budget lines exhausted': exhausted,
        'net captured': terminal_total}


def figures(ledger, seconds, clients, checked):
    latencies = sorted(ledger.latencies)
    calls = len(latencies)
    result = {
        'terminals': clients,
        'charges requested': len(ledger.charges),
        'HTTP calls': calls,
        'seconds': round(seconds, 1),
        'calls per second': round(calls / seconds, 1) if seconds else 0,
        'latency p50 ms': round(statistics.median(latencies) * 1000)
        if latencies else 0,
        'latency p95 ms': round(latencies[int(calls * 0.95) - 1] * 1000)
        if latencies else 0,
        # each wrong code is counted, not the scenarios sending them
        'faults injected': sum(v for k, v in ledger.faults.items()
            if k not in {'confirm', 'wrong_then_right', 'too_many_wrong'}),
        'faults': dict(ledger.faults),
        'refused requests': dict(ledger.refused),
        'busy (503 unavailable), retried': dict(ledger.busy),
        'server errors (500 or no answer)': sum(v for (_, s, _), v
            in ledger.answers.items() if s is None or s >= 500
            and s != 503),
        }
    result.update(checked)
    return result


def format_figures(result):
    lines = []
    for name, value in result.items():
        if isinstance(value, dict):
            value = ', '.join('%s %s' % (k, v) for k, v in sorted(
                        value.items(), key=lambda i: -i[1]
                        if isinstance(i[1], (int, float)) else 0))
        lines.append('    %-34s %s' % (name, value))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--charges', type=int, default=3000)
    parser.add_argument('--clients', type=int, default=16,
        help="concurrent terminals")
    parser.add_argument('--seed', type=int, default=8)
    args = parser.parse_args(argv)
    missing = [v for v in ['TRYTOND_DATABASE__URI', 'DB_NAME']
        if not os.environ.get(v)]
    if missing:
        parser.exit(2, 'Set %s (a PostgreSQL test server), or run '
            '`make load-faults CHARGES=%d CLIENTS=%d`\n' % (
                ', '.join(missing), args.charges, args.clients))
    os.environ.update({
            'HB_LOAD_CHARGES': str(args.charges),
            'HB_LOAD_CLIENTS': str(args.clients),
            'HB_LOAD_SEED': str(args.seed),
            })
    import unittest
    suite = unittest.TestLoader().loadTestsFromName(
        'tests.test_load_faults')
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() and result.testsRun else 1


__all__ = ['run_load', 'check_database', 'figures', 'format_figures']

if __name__ == '__main__':
    sys.exit(main())
