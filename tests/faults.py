# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Fault injection for the reliability tests: a served trytond killed in
the middle of a transaction, a cron worker killed likewise, a PostgreSQL
server stopped and started, and a small client of the JSON API.

"In the middle" is made deterministic without any hook in the modules:
TableLock holds a SHARE lock on a table from its own connection, so the
worker's first write to that table waits *inside its open transaction*
(after everything it wrote before). wait_blocked() returns the worker's
backend once PostgreSQL reports it waiting on the lock; written() lists the
tables that transaction had already written; then the test SIGKILLs the
worker, releases the lock and waits until PostgreSQL has ended the dead
worker's backend (its transaction is rolled back, never committed)."""
import datetime as dt
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from trytond.tests.test_tryton import DB_NAME

from tests.browser import ARTIFACTS, TrytondServer

BIN = os.path.dirname(sys.executable)


def dsn(database=DB_NAME):
    "The libpq URI of database on the server of TRYTOND_DATABASE__URI"
    uri = urllib.parse.urlsplit(os.environ['TRYTOND_DATABASE__URI'])
    return urllib.parse.urlunsplit(uri._replace(path='/' + database))


def connect(autocommit=True):
    import psycopg
    return psycopg.connect(dsn(), autocommit=autocommit, connect_timeout=10)


def on_postgresql():
    return os.environ.get('TRYTOND_DATABASE__URI', '').startswith(
        'postgresql')


def wait_for(predicate, timeout, interval=0.05, what='condition'):
    "Return the first true value of predicate() or fail after timeout"
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError('%s not met within %s s' % (what, timeout))
        time.sleep(interval)


class TableLock:
    """Hold a SHARE lock on tables (or the lock of statement): any
    transaction writing one of them waits at that write, inside its
    transaction, until release()"""

    def __init__(self, *tables, statement=None, params=()):
        self.tables = tables or ('the locked row',)
        self.connection = connect(autocommit=False)
        if statement is None:
            statement = 'LOCK TABLE %s IN SHARE MODE' % ', '.join(
                '"%s"' % t for t in tables)
        self.connection.execute(statement, params)
        self.pid = self.connection.info.backend_pid
        self.monitor = connect()

    def blocked(self):
        "The backends waiting for the lock"
        return [pid for pid, in self.monitor.execute(
                'SELECT DISTINCT pid FROM pg_locks WHERE NOT granted '
                'AND %s = ANY(pg_blocking_pids(pid))', (self.pid,))]

    def wait_blocked(self, timeout=60):
        "Return the backend pid of the (one) transaction waiting"
        pids = wait_for(self.blocked, timeout,
            what='a worker waiting on %s' % ', '.join(self.tables))
        assert len(pids) == 1, pids
        return pids[0]

    def written(self, pid):
        "The tables the transaction of backend pid has written"
        return {name for name, in self.monitor.execute(
                'SELECT c.relname FROM pg_locks l '
                'JOIN pg_class c ON c.oid = l.relation '
                "WHERE l.pid = %s AND l.granted "
                "AND l.mode = 'RowExclusiveLock' AND c.relkind = 'r'",
                (pid,))}

    def alive(self, pid):
        return bool(self.monitor.execute(
                'SELECT 1 FROM pg_stat_activity WHERE pid = %s',
                (pid,)).fetchall())

    def release(self, wait_pid=None, timeout=30):
        """Release the lock; with wait_pid, wait until that backend has
        ended (its client was killed: its transaction is rolled back)"""
        self.connection.rollback()
        self.connection.close()
        if wait_pid:
            wait_for(lambda: not self.alive(wait_pid), timeout,
                what='the end of backend %s' % wait_pid)
        self.monitor.close()


def kill_server(server):
    "SIGKILL the served trytond (no clean-up of any kind)"
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    server._log.close()


class Api:
    "A client of the provider JSON API of a served trytond"

    def __init__(self, url, key, timeout=30, language='en'):
        self.base = '%s/%s/hb/api/v1/' % (url, DB_NAME)
        self.key = key
        self.timeout = timeout
        self.language = language

    def call(self, method, path, data=None):
        """Return (status, body, seconds): status None when the server
        gave no HTTP answer (connection refused or reset, timeout)"""
        request = urllib.request.Request(
            self.base + path, method=method,
            data=None if data is None else json.dumps(data).encode(),
            headers={
                'Authorization': 'Bearer %s' % self.key,
                'Content-Type': 'application/json',
                'Accept-Language': self.language,
                })
        start = time.monotonic()
        try:
            with urllib.request.urlopen(
                    request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
                content_type = response.headers.get('Content-Type', '')
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
            content_type = error.headers.get('Content-Type', '')
        except (OSError, urllib.error.URLError) as error:
            return None, {'exception': repr(error)}, (
                time.monotonic() - start)
        seconds = time.monotonic() - start
        if content_type.startswith('application/json'):
            body = json.loads(raw)
        else:
            body = {'raw': raw.decode('utf-8', 'replace')[:500],
                'content_type': content_type}
        return status, body, seconds

    def request(self, key, mobile, service, quantity):
        return self.call('POST', 'charges', {
                'idempotency_key': key, 'mobile': mobile,
                'lines': [{'service': service, 'quantity': quantity}]})

    def confirm(self, charge_id, code):
        return self.call('POST', 'charges/%d/confirm' % charge_id,
            {'code': code})

    def cancel(self, charge_id):
        return self.call('POST', 'charges/%d/cancel' % charge_id, {})


def last_code(connection, mobile, after_id=0):
    "The one-time code of the last SMS to mobile (read from the outbox)"
    import re
    for text, in connection.execute(
            'SELECT text FROM hb_sms_message WHERE "to" = %s AND id > %s '
            'ORDER BY id DESC', (mobile, after_id)):
        match = re.search(r'\b(\d{6})\b', text)
        if match:
            return match.group(1)


def run_cron(method, wait=True, timeout=120):
    """Run the scheduled task method ('model|method') once in a real
    trytond-cron worker; the task must be prepared due (prepare_cron).
    Return the process (waited for when wait)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    log = open(os.path.join(ARTIFACTS, 'trytond-cron-%s.log' % (
                method.split('|')[1])), 'ab')
    process = subprocess.Popen(
        [os.path.join(BIN, 'trytond-cron'), '-d', DB_NAME, '--once',
            '-n', '1', '-v'],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    if wait:
        process.wait(timeout)
        log.close()
    return process


def kill_group(process):
    "SIGKILL the process and its children (the cron worker pool)"
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(10)
    process.log.close()


def prepare_cron(method, company):
    """Make method the only due scheduled task, run for company (in the
    current transaction, to be committed)"""
    from trytond.pool import Pool
    Cron = Pool().get('ir.cron')
    now = dt.datetime.now()
    others = Cron.search([('method', '!=', method)])
    Cron.write(others, {'next_call': now + dt.timedelta(days=1)})
    crons = Cron.search([('method', '=', method)])
    if not crons:
        crons = Cron.create([{
                    'method': method, 'interval_number': 1,
                    'interval_type': 'days'}])
    Cron.write(crons, {
            'next_call': now - dt.timedelta(minutes=1), 'active': True,
            'companies': [('add', [company])],
            })


class PostgreSQL:
    """Stop and start the private PostgreSQL of the test command
    (scripts/pg.sh exports PG_DIR, PG_BIN and PG_PORT). start() uses the
    options of the previous start, kept by PostgreSQL in postmaster.opts."""

    def __init__(self):
        self.dir = os.environ.get('PG_DIR')
        self.bin = os.environ.get('PG_BIN')
        self.port = os.environ.get('PG_PORT')

    @property
    def available(self):
        return bool(self.dir and self.bin and self.port
            and os.path.isdir(os.path.join(self.dir, 'data')))

    def _ctl(self, *args):
        command = [os.path.join(self.bin, 'pg_ctl'),
            '-D', os.path.join(self.dir, 'data'), *args]
        if os.getuid() == 0:
            command = ['runuser', '-u', 'hbpg', '--'] + command
        subprocess.run(command, check=True, timeout=90,
            stdout=subprocess.DEVNULL)

    def options(self):
        with open(os.path.join(self.dir, 'data', 'postmaster.opts')) as fp:
            words = shlex.split(fp.read())[1:]
        options, skip = [], False
        for word in words:
            if skip:
                skip = False
            elif word == '-D':
                skip = True
            else:
                options.append(word)
        return ' '.join(shlex.quote(w) for w in options)

    def stop(self):
        self._options = self.options()
        self._ctl('-m', 'fast', '-w', 'stop')

    def start(self):
        self._ctl('-l', os.path.join(self.dir, 'server.log'), '-w',
            '-t', '60', '-o', self._options, 'start')


__all__ = ['TrytondServer', 'TableLock', 'Api', 'PostgreSQL', 'kill_server',
    'run_cron', 'prepare_cron', 'kill_group', 'last_code', 'connect',
    'on_postgresql', 'wait_for']
