# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Benchmarks of the HB modules against Tryton's own point of sale and
PostgreSQL's limit. Run through bench/run.sh (make bench), which starts a
private PostgreSQL and sets TRYTOND_DATABASE__URI.

Each benchmark prints its figures; the end prints a table with the targets
("met" / "not met") and writes it as JSON (bench/results/latest.json).
"""
import argparse
import base64
import datetime as dt
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from decimal import Decimal
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)
RESULTS = os.path.join(ROOT, 'bench', 'results')

SIZES = {
    # A few seconds each: run by the test command so the harness cannot rot
    'smoke': {
        'clients': 2, 'workers': 2, 'seconds': 4,
        'pgbench_scale': 1,
        },
    'default': {
        'clients': 16, 'workers': 4, 'seconds': 30,
        'pgbench_scale': 10,
        },
    }
PASSWORD = 'bench-Password-1'


def log(message):
    print(message, file=sys.stderr, flush=True)


def progress(label, done, total, width=30):
    "Draw a progress bar on stderr"
    filled = int(width * done / total) if total else width
    sys.stderr.write('\r    %-28s [%s%s] %d/%d' % (
            label, '#' * filled, '.' * (width - filled), done, total))
    if done >= total:
        sys.stderr.write('\n')
    sys.stderr.flush()


def percentile(values, fraction):
    if not values:
        return None
    values = sorted(values)
    index = min(len(values) - 1, max(0, round(fraction * len(values)) - 1))
    return values[index]


class RPC:
    "A JSON-RPC client over one keep-alive HTTP connection"

    def __init__(self, url, database):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.database = database
        self.connection = http.client.HTTPConnection(
            self.host, self.port, timeout=120)
        self.session = None
        self._id = 0

    def login(self, login, password):
        user_id, token, *_ = self.call(
            'common.db.login', login, {'password': password}, 'en')
        self.session = 'Session ' + base64.b64encode(
            ('%s:%s:%s' % (login, user_id, token)).encode()).decode()
        self.context = self.call('model.res.user.get_preferences', True, {})
        return self

    def call(self, method, *params):
        self._id += 1
        body = json.dumps({
                'id': self._id, 'method': method, 'params': params,
                }, default=_json_default)
        headers = {'Content-Type': 'application/json'}
        if self.session:
            headers['Authorization'] = self.session
        try:
            self.connection.request(
                'POST', '/%s/rpc/' % self.database, body, headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        if response.status != 200:
            raise RPCError('HTTP %s' % response.status)
        result = json.loads(data)
        if result.get('error'):
            error = result['error']
            if isinstance(error, list) and len(error) > 1:
                detail = error[1]
                if isinstance(detail, list) and detail:
                    detail = detail[0]
                raise RPCError('%s: %s' % (error[0], detail))
            raise RPCError(str(error))
        return result['result']


class RPCError(Exception):
    pass


def _json_default(value):
    if isinstance(value, Decimal):
        return {'__class__': 'Decimal', 'decimal': str(value)}
    if isinstance(value, dt.date):
        return {'__class__': 'date', 'year': value.year,
            'month': value.month, 'day': value.day}
    raise TypeError(value)


# Database -------------------------------------------------------------------

def pg_uri():
    uri = os.environ.get('TRYTOND_DATABASE__URI', '')
    if not uri.startswith('postgresql://'):
        sys.exit('bench: run through bench/run.sh (needs PostgreSQL)')
    return uri


def pg_connect(database='postgres'):
    import psycopg
    parsed = urlparse(pg_uri())
    return psycopg.connect(
        host=parsed.hostname, port=parsed.port,
        user=parsed.username or 'postgres', dbname=database, autocommit=True)


def create_database(name, modules):
    "Create name on the server and activate modules with trytond-admin"
    with pg_connect() as connection:
        connection.execute('DROP DATABASE IF EXISTS "%s"' % name)
        connection.execute(
            'CREATE DATABASE "%s" TEMPLATE template0 ENCODING \'UTF8\''
            % name)
    passfile = os.path.join(RESULTS, '.admin-password')
    os.makedirs(RESULTS, exist_ok=True)
    with open(passfile, 'w') as fp:
        fp.write(PASSWORD)
    env = dict(os.environ, TRYTONPASSFILE=passfile)
    env.pop('TRYTOND_CONFIG', None)
    start = time.monotonic()
    subprocess.run(
        [os.path.join(VENV_BIN, 'trytond-admin'), '-d', name, '-u',
            *modules, '--activate-dependencies',
            '--email', 'admin@bench.invalid'],
        env=env, check=True)
    log('    database %s: modules activated in %.0f s' % (
            name, time.monotonic() - start))


def setup_point_of_sale(database):
    """Company, chart, fiscal year, a service product, a sale point with a
    terminal payment method, and a user who may sell and post"""
    from proteus import Model
    from proteus import config as pconfig
    from trytond.modules.account.tests.tools import (
        create_chart,
        create_fiscalyear,
        get_accounts,
    )
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences,
    )
    from trytond.modules.company.tests.tools import create_company, get_company

    pconfig.set_trytond(database)
    create_company()
    company = get_company()
    create_chart(company)
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(company))
    fiscalyear.click('create_period')
    accounts = get_accounts(company)

    Category = Model.get('product.category')
    Template = Model.get('product.template')
    Uom = Model.get('product.uom')
    Journal = Model.get('account.journal')
    Location = Model.get('stock.location')
    POS = Model.get('sale.point')
    Method = Model.get('sale.point.payment.method')
    SequenceStrict = Model.get('ir.sequence.strict')
    SequenceType = Model.get('ir.sequence.type')
    User = Model.get('res.user')
    Group = Model.get('res.group')

    category = Category(name="Services", accounting=True)
    category.account_revenue = accounts['revenue']
    category.save()
    unit, = Uom.find([('name', '=', 'Unit')])
    template = Template(
        name="Cleaning (1 h)", default_uom=unit, type='service',
        salable=True, account_category=category)
    template.list_price = Decimal('40.0000')
    template.gross_price = Decimal('40.0000')
    template.save()
    product, = template.products

    journal, = Journal.find([('type', '=', 'revenue')], limit=1)
    pos = POS(name="Bench POS", journal=journal)
    pos.sequence = SequenceStrict(name="Bench POS", company=pos.company)
    pos.sequence.sequence_type, = SequenceType.find(
        [('name', '=', "POS")], limit=1)
    pos.sequence.save()
    pos.storage_location, = Location.find([('code', '=', 'STO')])
    pos.customer_location, = Location.find([('code', '=', 'CUS')])
    pos.save()
    method = Method(name="Terminal", account=accounts['cash'])
    method.save()

    user = User(name="Bench seller", login='bench', password=PASSWORD)
    user.companies.append(company)
    user.company = company
    user.groups.extend(Group.find([('name', 'in', ["POS", "POS Posting"])]))
    user.save()
    return {
        'point': pos.id, 'product': product.id, 'unit': unit.id,
        'method': method.id, 'login': 'bench',
        }


# Servers --------------------------------------------------------------------

class Gunicorn:
    "trytond served by gunicorn with several worker processes"

    def __init__(self, database, workers):
        from tests.browser import free_port
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        env = dict(os.environ, TRYTOND_DATABASE_NAMES=database)
        env.pop('TRYTOND_CONFIG', None)
        os.makedirs(RESULTS, exist_ok=True)
        self.log = open(os.path.join(RESULTS, 'gunicorn.log'), 'wb')
        self.process = subprocess.Popen(
            [os.path.join(VENV_BIN, 'gunicorn'), '-w', str(workers),
                '-b', '127.0.0.1:%d' % self.port, '--timeout', '120',
                '--keep-alive', '30', 'trytond.application:app'],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection(
                    '127.0.0.1', self.port, timeout=5)
                connection.request('POST', '/rpc/', json.dumps({
                            'id': 0, 'method': 'common.server.version',
                            'params': []}),
                    {'Content-Type': 'application/json'})
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError('gunicorn did not start; see %s' % self.log.name)

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def run_clients(clients, seconds, make_client, work):
    """Run work(client) in a loop from `clients` threads for `seconds`.
    Return the latencies of successful calls and the errors by kind."""
    latencies, errors = [], {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def worker():
        client = make_client()
        barrier.wait()
        mine, mine_errors = [], {}
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                work(client)
            except Exception as exception:
                kind = str(exception).split('\n')[0][:160]
                mine_errors[kind] = mine_errors.get(kind, 0) + 1
            else:
                mine.append(time.monotonic() - start)
        with lock:
            latencies.extend(mine)
            for kind, count in mine_errors.items():
                errors[kind] = errors.get(kind, 0) + count

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.monotonic() - start


# Benchmarks -----------------------------------------------------------------

def bench_plain_pos(server, database, pos, clients, seconds):
    """Stock sale_point through RPC: sales made done, then posted"""
    done_ids = []
    ids_lock = threading.Lock()

    def make_client():
        return RPC(server.url, database).login(pos['login'], PASSWORD)

    def sell(rpc):
        sale_id, = rpc.call('model.sale.point.sale.create', [{
                    'point': pos['point'],
                    'lines': [('create', [{
                                    'product': pos['product'],
                                    'quantity': 1,
                                    'unit_list_price': Decimal('40.0000'),
                                    'unit_gross_price': Decimal('40.0000'),
                                    }])],
                    'payments': [('create', [{
                                    'method': pos['method'],
                                    'amount': Decimal('40.00'),
                                    }])],
                    }], rpc.context)
        rpc.call('model.sale.point.sale.process', [sale_id], rpc.context)
        with ids_lock:
            done_ids.append(sale_id)

    log('    plain POS: %d clients make sales done for %d s' % (
            clients, seconds))
    latencies, errors, elapsed = run_clients(
        clients, seconds, make_client, sell)
    done_rate = len(done_ids) / elapsed

    to_post = list(done_ids)
    posted = []

    def post(rpc):
        with ids_lock:
            if not to_post:
                time.sleep(0.05)
                return
            sale_id = to_post.pop()
        rpc.call('model.sale.point.sale.post', [sale_id], rpc.context)
        with ids_lock:
            posted.append(sale_id)

    log('    plain POS: %d clients post those sales for %d s' % (
            clients, seconds))
    post_latencies, post_errors, post_elapsed = run_clients(
        clients, seconds, make_client, post)
    post_rate = len(posted) / post_elapsed
    done_and_posted = 1 / (1 / done_rate + 1 / post_rate) if (
        done_rate and post_rate) else 0
    return {
        'sales_done': len(done_ids),
        'done_per_s': done_rate,
        'done_p50_ms': _ms(percentile(latencies, .5)),
        'done_p99_ms': _ms(percentile(latencies, .99)),
        'done_errors': errors,
        'posted': len(posted),
        'posted_per_s': post_rate,
        'post_p99_ms': _ms(percentile(post_latencies, .99)),
        'post_errors': post_errors,
        'done_and_posted_per_s': done_and_posted,
        }


def bench_pgbench(clients, seconds, scale):
    "pgbench's built-in TPC-B-like script on the same PostgreSQL"
    parsed = urlparse(pg_uri())
    with pg_connect() as connection:
        connection.execute('DROP DATABASE IF EXISTS bench_pgbench')
        connection.execute('CREATE DATABASE bench_pgbench')
    options = ['-h', parsed.hostname, '-p', str(parsed.port),
        '-U', parsed.username or 'postgres']
    subprocess.run(['pgbench', '-i', '-q', '-s', str(scale), *options,
            'bench_pgbench'], check=True, capture_output=True)
    log('    pgbench: %d clients for %d s' % (clients, seconds))
    output = subprocess.run(['pgbench', '-b', 'tpcb-like', '-c', str(clients),
            '-j', '2', '-T', str(seconds), *options, 'bench_pgbench'],
        check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r'tps = ([0-9.]+)', output).group(1))
    latency = re.search(r'latency average = ([0-9.]+) ms', output)
    return {
        'tps': tps,
        'latency_avg_ms': float(latency.group(1)) if latency else None,
        }


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


# Report ---------------------------------------------------------------------

def table(results):
    rows = []
    pos = results.get('plain_pos')
    pgbench = results.get('pgbench')
    if pos:
        rows.append(("Plain POS sales made done (RPC)",
                '%.1f /s' % pos['done_per_s'],
                'p99 %s ms' % pos['done_p99_ms'], ''))
        rows.append(("Plain POS sales posted (RPC)",
                '%.1f /s' % pos['posted_per_s'],
                'p99 %s ms' % pos['post_p99_ms'], ''))
        rows.append(("Plain POS done + posted",
                '%.1f /s' % pos['done_and_posted_per_s'], '',
                'errors: %d' % (sum(pos['done_errors'].values())
                    + sum(pos['post_errors'].values()))))
    if pgbench:
        rows.append(("pgbench TPC-B-like", '%.0f tps' % pgbench['tps'],
                'avg %s ms' % pgbench['latency_avg_ms'], ''))
    for name, target in results.get('targets', {}).items():
        rows.append((name, target['value'], target['target'],
                'met' if target['met'] else 'not met'))
    widths = [max(len(str(r[i])) for r in rows + [HEADER]) for i in range(4)]
    lines = [' | '.join(str(c).ljust(w) for c, w in zip(HEADER, widths))]
    lines.append('-+-'.join('-' * w for w in widths))
    for row in rows:
        lines.append(' | '.join(str(c).ljust(w) for c, w in zip(row, widths)))
    return '\n'.join(lines)


HEADER = ("benchmark", "figure", "detail", "target")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', choices=sorted(SIZES), default='default')
    parser.add_argument('--clients', type=int)
    parser.add_argument('--workers', type=int)
    parser.add_argument('--seconds', type=int)
    parser.add_argument('--json', default=os.path.join(RESULTS, 'latest.json'))
    args = parser.parse_args()
    size = dict(SIZES[args.size])
    for key in ['clients', 'workers', 'seconds']:
        if getattr(args, key):
            size[key] = getattr(args, key)
    sys.path.insert(0, ROOT)

    results = {
        'date': dt.datetime.now().isoformat(timespec='seconds'),
        'size': args.size, 'parameters': size,
        'machine': {'cpus': os.cpu_count()},
        }
    started = time.monotonic()

    log('==> Plain sale_point baseline')
    database = 'bench_pos'
    create_database(database, ['sale_point'])
    pos = setup_point_of_sale(database)
    server = Gunicorn(database, size['workers'])
    try:
        results['plain_pos'] = bench_plain_pos(
            server, database, pos, size['clients'], size['seconds'])
    finally:
        server.stop()

    log('==> pgbench')
    results['pgbench'] = bench_pgbench(
        size['clients'], size['seconds'], size['pgbench_scale'])

    results['elapsed_s'] = round(time.monotonic() - started, 1)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, 'w') as fp:
        json.dump(results, fp, indent=2, default=str)
    print(table(results))
    print('\nResults written to %s (%.0f s)' % (
            os.path.relpath(args.json, ROOT), results['elapsed_s']))


if __name__ == '__main__':
    main()
