# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Benchmarks of the HB modules against Tryton's own point of sale and
PostgreSQL's limit. Run through bench/run.sh (make bench), which starts a
private PostgreSQL and sets TRYTOND_DATABASE__URI.

One run: the HB data set on a database with hb_voucher (clients with
budgets, a provider with an API key), then
1. complete charges through the JSON API on gunicorn from N terminals
   while the posting batch runs beside them (throughput, latency, posting
   rate, capture-to-posted lag);
2. 50 terminals charging one budget at once (no overspend);
3. the balance read (client page, JSON GET charges/<id>) with 10,000
   charges in history, then 1,000,000 (generated in SQL, see bulk.py);
4. the catalogue page with 5,000 services of 500 providers (the first
   page of 50 and page 50);
5. billing of 100,000 unbilled charges of those providers;
6. plain sale_point sales through RPC on a database with sale_point only,
   and pgbench on the same PostgreSQL.
The end prints a table of the figures and of the targets of issue 7
("met" / "NOT MET") and writes it all as JSON (bench/results/latest.json).
"""
import argparse
import base64
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, 'bench', 'results')
# The files of one run (server logs, the posting process's records): its own
# folder, so that two runs at once (make bench and the test command's smoke
# run) never share them
WORK = tempfile.mkdtemp(prefix='hb-bench-')

SIZES = {
    # About two minutes with the databases cached: run by the test command
    # (tests/test_bench_smoke.py) so the benchmark cannot rot
    'smoke': {
        'clients': 2, 'workers': 2, 'seconds': 4, 'pgbench_scale': 1,
        'hb_clients': 6, 'hot_charges': 6, 'post_interval': 2,
        'history_small': 300, 'history_large': 3000, 'reads': 20,
        'providers': 3, 'services': 100, 'billing': 90,
        'billing_seconds': 600,
        # the plain sales on a copy of the HB database the smoke run has
        # made already (a database of sale_point alone is activated for
        # this one benchmark: minutes on a cold test cache)
        'pos_modules': ['hb_voucher'],
        },
    # The figures of docs/performance.md (issue 7's sizes)
    'default': {
        'clients': 16, 'workers': 4, 'seconds': 30, 'pgbench_scale': 10,
        'hb_clients': 100, 'hot_charges': 50, 'post_interval': 15,
        'history_small': 10_000, 'history_large': 1_000_000, 'reads': 300,
        'providers': 500, 'services': 5000, 'billing': 100_000,
        'billing_seconds': 240,
        # stock sale_point, nothing of HB
        'pos_modules': ['sale_point'],
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


def pg_connect(database='postgres', autocommit=True):
    import psycopg
    parsed = urlparse(pg_uri())
    return psycopg.connect(
        host=parsed.hostname, port=parsed.port,
        user=parsed.username or 'postgres', dbname=database,
        autocommit=autocommit)


def create_database(name, modules):
    """Create name with modules activated, as the tests do: restored from
    the test command's database cache (DB_CACHE, keyed on the module
    sources) when it holds them, else activated and then cached"""
    with pg_connect() as connection:
        connection.execute('DROP DATABASE IF EXISTS "%s"' % name)
    env = dict(os.environ, DB_NAME=name)
    env.pop('TRYTOND_CONFIG', None)
    start = time.monotonic()
    subprocess.run([sys.executable, '-c',
            # each HB module's database made on the one below it, under
            # the lock the test processes take (tests/dbcache.py)
            'from tests import dbcache; dbcache.install(); '
            'from trytond.tests import test_tryton; '
            'test_tryton.activate_module(%r)' % list(modules)],
        env=env, check=True, cwd=ROOT)
    log('    database %s: %s activated in %.0f s%s' % (
            name, ', '.join(modules), time.monotonic() - start,
            '' if env.get('DB_CACHE') else ' (no DB_CACHE)'))


def vacuum_analyze(database):
    """VACUUM ANALYZE the whole database once its data set is made: a
    database restored from the test cache has no planner statistics, which
    a database in use has (and autovacuum would gather them during the
    measurements)"""
    start = time.monotonic()
    with pg_connect(database) as connection:
        connection.execute('VACUUM (ANALYZE)')
    log('    database %s: vacuumed and analyzed in %.0f s' % (
            database, time.monotonic() - start))


def set_admin_password(database):
    "Give the admin user the benchmark's password (for JSON-RPC)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database, 0) as transaction:
        User = Pool().get('res.user')
        admin, = User.search([('login', '=', 'admin')])
        admin.password = PASSWORD
        admin.save()
        transaction.commit()


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
        self.workers = workers
        self.url = 'http://127.0.0.1:%d' % self.port
        self.stats = os.path.join(WORK, 'stats-%s' % database)
        os.makedirs(self.stats, exist_ok=True)
        env = dict(os.environ, TRYTOND_DATABASE_NAMES=database,
            HB_BENCH_STATS=self.stats)
        env.pop('TRYTOND_CONFIG', None)
        self.log = open(os.path.join(WORK, 'gunicorn-%s.log' % database),
            'wb')
        # gunicorn of the interpreter running the benchmark (the script's
        # shebang may name another virtualenv's when .venv was copied)
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'gunicorn', '-w', str(workers),
                '-b', '127.0.0.1:%d' % self.port, '--timeout', '120',
                '--keep-alive', '30',
                '-c', os.path.join(ROOT, 'bench', 'gunicorn_stats.py'),
                'trytond.application:app'],
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

    def counters(self):
        """Return the (SQL statements, CPU seconds, requests) of the
        workers so far (see bench/gunicorn_stats.py)"""
        total = [0, 0.0, 0]
        for name in os.listdir(self.stats):
            try:
                with open(os.path.join(self.stats, name)) as fp:
                    sql, cpu, requests = fp.read().split()
            except (OSError, ValueError):
                continue
            total[0] += int(sql)
            total[1] += float(cpu)
            total[2] += int(requests)
        return tuple(total)

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def warm_up(server, workers, request):
    """Make every gunicorn worker load the pool of the database before
    measuring: request(i) from 2 x workers threads at once, 3 times"""
    def loop(i):
        for _ in range(3):
            try:
                request(i)
            except Exception:
                pass
    threads = [threading.Thread(target=loop, args=(i,))
        for i in range(2 * workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


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

    rpcs = [make_client() for _ in range(2 * server.workers)]
    warm_up(server, server.workers, lambda i: rpcs[i].call(
            'model.sale.point.sale.search', [], 0, 1, None, rpcs[i].context))
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


# HB data set ----------------------------------------------------------------

HOT_MOBILE = '+358409990000'
# A terminal answered 503 (the server gave up on lock conflicts after its
# own retries) sends the same request again, up to this many times
HOT_RETRIES = 20
BUDGET_DAYS_BACK = 60


def _run(database, func, *args, user=0, **kwargs):
    """Run func in a new committed transaction of database, retrying as
    Tryton's request handlers do when it needs locks"""
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    while True:
        with Transaction().start(database, user, **extras) as transaction:
            try:
                result = func(*args, **kwargs)
                transaction.commit()
                return result
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)


def create_clients(data, specs, amount, start):
    """Create in batches the HB clients of specs [(name, mobile, hetu)],
    each with an approved budget of amount on home help from start.
    Return their active budgets (in the order of specs)"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from trytond.modules.hb_budget.plan import CRITERIA
    pool = Pool()
    Party = pool.get('party.party')
    Plan = pool.get('hb.plan')
    Decision = pool.get('hb.decision')
    end = (start + dt.timedelta(days=400)).replace(day=1) - (
        dt.timedelta(days=1))
    clients = Party.create([{
                'name': name,
                'hb_client': True,
                'hb_hetu': hetu,
                'hb_municipality': data['kajaani'].id,
                'hb_customer_groups': [('add', [data['avain'].id])],
                'hb_mobile': mobile,
                } for name, mobile, hetu in specs])
    plans = Plan.create([{
                'company': data['company'].id,
                'client': client.id,
                'valid_from': start,
                'valid_to': end,
                'next_review': end,
                'needs': "Help at home",
                'goals': "Living at home",
                'services': [('create', [{
                                'category': data['home_help'].id,
                                'quantity': Decimal('4.00'),
                                'unit_cost': Decimal('40.00'),
                                }])],
                'checklist': [('create', [{
                                'criterion': c, 'answer': 'yes',
                                'note': "Assessed with the client",
                                } for c, _ in CRITERIA])],
                } for client in clients])
    Plan.agree(plans)
    decisions = Decision.create([{
                'company': data['company'].id,
                'client': client.id,
                'plan': plan.id,
                'start_date': start,
                'end_date': end,
                'value_method': 'manual',
                'justification': "Agreed with the client",
                'amount': amount,
                'lines': [('create', [{
                                'category': data['home_help'].id,
                                'amount': amount,
                                }])],
                } for client, plan in zip(clients, plans)])
    with Transaction().set_user(0):
        Decision.propose(decisions)
        Decision.approve(decisions)
    return clients, [d.budget for d in Decision.browse(decisions)]


def setup_hb_dataset(database, n_clients, hot_charges):
    """In-process: the wellbeing area with accounting, one approved
    provider selling cleaning at 35.00/h with an API key, n_clients
    clients with a budget of 5,000.00 each (from BUDGET_DAYS_BACK days
    ago), and a "hot" client whose budget pays exactly hot_charges / 2
    charges, with hot_charges representatives (one phone each) who may
    confirm charges."""
    os.environ['DB_NAME'] = database
    from trytond.modules.company.tests import set_company
    from trytond.pool import Pool

    from trytond.modules.hb_budget.tests.tools import temporary_hetu
    from trytond.modules.hb_marketplace.tests.tools import no_email
    from trytond.modules.hb_voucher.tests import tools

    Pool(database).init()
    set_admin_password(database)
    result = {}

    def build():
        pool = Pool()
        Representative = pool.get('hb.client.representative')
        Party = pool.get('party.party')
        Date = pool.get('ir.date')
        with no_email(), set_company(tools.create_wellbeing_area()):
            data = tools.setup_hb()
            # The benchmark logs the same numbers in to the client page
            # again and again from one address, and measures reads, not
            # logins: no interval, no padding of the code answers
            Configuration = pool.get('hb.configuration')
            Configuration.write([Configuration(1)], {
                    'hb_login_code_interval': 0,
                    'hb_login_code_limit': 1000,
                    'hb_login_ip_limit': 1000,
                    'hb_login_answer_time': 0,
                    })
            application = tools.create_provider_with_service(data)
            product = tools.provider_product(application)
            result['product'] = product.id
            result['template'] = product.template.id
            result['provider'] = application.party.id
            result['contract'] = application.contract.id
            result['sale_point'], = [p.id for p in pool.get('sale.point')
                .search([('hb_contract', '=', application.contract.id)])]
            result['key'] = tools.create_api_key(application)
            result['municipality'] = data['kajaani'].id
            result['customer_group'] = data['avain'].id
            result['company'] = data['company'].id
            start = Date.today() - dt.timedelta(days=BUDGET_DAYS_BACK)
            result['mobiles'], result['clients'] = [], []
            batch = 25
            for first in range(0, n_clients, batch):
                specs = []
                for i in range(first, min(n_clients, first + batch)):
                    # a distinct birth date keeps every HETU unique
                    specs.append(("Bench Client %d" % i,
                            '+35840%07d' % (1000 + i),
                            temporary_hetu(day=1 + (i // 100) % 28,
                                month=1 + (i // 2800) % 12,
                                year=1950 + (i // 33600) % 50,
                                individual=900 + i % 100)))
                clients, budgets = create_clients(
                    data, specs, Decimal('5000.00'), start)
                for (_, mobile, _), client, budget in zip(
                        specs, clients, budgets):
                    line, = budget.lines
                    result['mobiles'].append(mobile)
                    result['clients'].append(
                        (client.id, budget.id, line.id, mobile))
                progress('clients with budgets', len(result['mobiles']),
                    n_clients)
            (hot,), (budget,) = create_clients(data, [("Bench Hot Client",
                        HOT_MOBILE, temporary_hetu(day=2, month=2,
                            year=1970, individual=999))],
                Decimal('35.00') * (hot_charges // 2), start)
            result['hot_budget'] = budget.id
            representatives = Party.create([{'name': 'Bench Rep %d' % i}
                    for i in range(hot_charges)])
            Representative.create([{
                        'client': hot.id, 'party': rep.id,
                        'role': 'relative',
                        'mobile': '+35850%07d' % (2000 + i),
                        'may_view_balance': True,
                        'may_confirm_charges': True,
                        } for i, rep in enumerate(representatives)])
            result['hot_mobiles'] = [
                '+35850%07d' % (2000 + i) for i in range(hot_charges)]

    start = time.monotonic()
    _run(database, build, user=1)
    log('    data set: %d clients with budgets in %.0f s' % (
            n_clients, time.monotonic() - start))
    return result


# HB charges -----------------------------------------------------------------

class ChargeClient:
    """A provider terminal: charges through the JSON API; reads the code
    the client received from the SMS outbox (as the client would tell it)"""

    def __init__(self, url, database, key):
        parsed = urlparse(url)
        self.connection = http.client.HTTPConnection(
            parsed.hostname, parsed.port, timeout=120)
        self.base = '/%s/hb/api/v1' % database
        self.headers = {
            'Authorization': 'Bearer ' + key,
            'Content-Type': 'application/json',
            'Accept-Language': 'en',
            }
        self.db = pg_connect(database)
        self.retries = 0

    def call(self, method, path, data=None):
        body = json.dumps(data) if data is not None else None
        try:
            self.connection.request(
                method, self.base + path, body, self.headers)
            response = self.connection.getresponse()
            payload = json.loads(response.read() or b'null')
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        if response.status >= 400:
            error = (payload or {}).get('error', {})
            raise RPCError('%s %s' % (response.status, error.get('code')))
        return payload

    def code(self, mobile):
        row = self.db.execute(
            'SELECT text FROM hb_sms_message WHERE "to" = %s '
            'ORDER BY id DESC LIMIT 1', (mobile,)).fetchone()
        return re.search(r'\b(\d{6})\b', row[0]).group(1)

    def call_retrying(self, method, path, data, retries):
        "call, again on 503 (busy: lock conflicts) up to retries times"
        for attempt in range(retries + 1):
            try:
                return self.call(method, path, data)
            except RPCError as exception:
                if not str(exception).startswith('503') or attempt == retries:
                    raise
                self.retries += 1
                time.sleep(0.1 + random.random() * 0.4)

    def charge(self, mobile, product, key, retries=0):
        """Request and confirm a charge; with retries, a request or
        confirmation answered 503 is sent again (the same idempotency key:
        never twice), as a terminal would"""
        charge = self.call_retrying('POST', '/charges', {
                'mobile': mobile, 'idempotency_key': key,
                'lines': [{'service': product, 'quantity': '1'}],
                }, retries)
        confirmed = self.call_retrying(
            'POST', '/charges/%d/confirm' % charge['id'],
            {'code': self.code(mobile)}, retries)
        if confirmed['state'] != 'captured':
            raise RPCError('not captured: %s' % confirmed['state'])
        return confirmed

    def close(self):
        self.connection.close()
        self.db.close()


class Poster:
    """The posting batch in its own process, as the scheduler would run
    it: every interval seconds it posts the done HB sales in batches of
    500 until none is left, and records when each batch committed"""

    def __init__(self, database, company, interval):
        self.out = os.path.join(WORK, 'poster-%s.jsonl' % database)
        for path in [self.out, self.out + '.stop']:
            if os.path.exists(path):
                os.remove(path)
        self.process = subprocess.Popen([sys.executable, '-m', 'bench.bench',
                '--poster', database, '--company', str(company),
                '--interval', str(interval), '--out', self.out], cwd=ROOT)

    def stop(self, timeout):
        "Ask it to stop once nothing is left to post; return its records"
        open(self.out + '.stop', 'w').close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(30)
        batches, busy = [], 0.0
        if os.path.exists(self.out):
            with open(self.out) as fp:
                for line in fp:
                    record = json.loads(line)
                    if 'sales' in record:
                        batches.append(record)
                    busy += record.get('busy', 0)
        return batches, busy


def poster_main(database, company, interval, out):
    "The loop of the posting process (bench.bench --poster)"
    os.environ['DB_NAME'] = database
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool(database).init()

    def post_batch():
        Charge = Pool().get('hb.charge')
        with Transaction().set_context(company=company):
            return [s.id for s in Charge.post_sales()]

    with open(out, 'a') as fp:
        while True:
            start = time.time()
            posted = 0
            while True:
                sales = _run(database, post_batch, user=1)
                if not sales:
                    break
                posted += len(sales)
                fp.write(json.dumps({'t': time.time(), 'sales': sales})
                    + '\n')
                fp.flush()
            busy = time.time() - start
            fp.write(json.dumps({'busy': busy if posted else 0}) + '\n')
            fp.flush()
            if not posted and os.path.exists(out + '.stop'):
                return
            time.sleep(max(0, start + interval - time.time()))


def bench_hb_charges(server, database, dataset, clients, seconds, interval):
    """Complete charges (request + confirm) through the JSON API from
    terminals on loopback while the posting batch runs beside them"""
    mobiles = list(dataset['mobiles'])
    per_client = [mobiles[i::clients] for i in range(clients)]
    counter = iter(range(10 ** 9))
    lock = threading.Lock()
    captured = {}

    def make_client():
        with lock:
            index = next(counter)
        client = ChargeClient(server.url, database, dataset['key'])
        client.mobiles = per_client[index % len(per_client)] or mobiles
        client.turn = 0
        client.index = index
        return client

    def work(client):
        mobile = client.mobiles[client.turn % len(client.mobiles)]
        client.turn += 1
        key = 'bench-%d-%d' % (client.index, client.turn)
        charge = client.charge(mobile, dataset['product'], key)
        with lock:
            captured[charge['id']] = time.time()

    terminals = [ChargeClient(server.url, database, dataset['key'])
        for _ in range(2 * server.workers)]
    warm_up(server, server.workers,
        lambda i: terminals[i].call('GET', '/charges'))
    for terminal in terminals:
        terminal.close()
    poster = Poster(database, dataset['company'], interval)
    log('    HB charges: %d terminals for %d s, posting every %d s' % (
            clients, seconds, interval))
    started = time.time()
    before = server.counters()
    latencies, errors, elapsed = run_clients(
        clients, seconds, make_client, work)
    after = server.counters()
    sql, cpu = after[0] - before[0], after[1] - before[1]
    log('    HB charges: %d captured; waiting for the posting batch' % (
            len(captured)))
    batches, busy = poster.stop(timeout=max(600, 4 * len(captured)))
    with pg_connect(database) as db:
        sale_of = dict(db.execute(
                'SELECT id, sale FROM hb_charge WHERE id = ANY(%s)',
                (list(captured),)).fetchall())
    posted_at = {}
    for batch in batches:
        for sale in batch['sales']:
            posted_at[sale] = batch['t']
    lags = [posted_at[sale_of[c]] - t for c, t in captured.items()
        if sale_of.get(c) in posted_at]
    posted = sum(len(b['sales']) for b in batches)
    last = max((b['t'] for b in batches), default=started)
    charges = {
        'charges': len(captured),
        'charges_per_s': len(captured) / elapsed,
        'p50_ms': _ms(percentile(latencies, .5)),
        'p99_ms': _ms(percentile(latencies, .99)),
        'errors': errors,
        # the gunicorn workers' own (Python) CPU and SQL statements per
        # complete charge (request + confirm; PostgreSQL's CPU not in it)
        'cpu_ms_per_charge': round(cpu / len(captured) * 1000, 1)
        if captured else None,
        'sql_per_charge': round(sql / len(captured), 1)
        if captured else None,
        }
    posting = {
        'interval_s': interval,
        'posted': posted,
        'posted_per_s': posted / busy if busy else None,
        'busy_s': round(busy, 1),
        'posted_end_to_end_per_s': posted / (last - started)
        if last > started else None,
        'lag_p50_s': percentile(lags, .5),
        'lag_p99_s': percentile(lags, .99),
        'lag_max_s': max(lags) if lags else None,
        'not_posted': len(captured) - len(lags),
        }
    return charges, posting


def bench_hot_budget(server, database, dataset):
    """As many terminals as the hot client has representatives charge its
    budget at once; the budget pays exactly half of them"""
    mobiles = list(dataset['hot_mobiles'])
    results, errors, retries = [], {}, []
    lock = threading.Lock()
    barrier = threading.Barrier(len(mobiles))

    def terminal(index, mobile):
        client = ChargeClient(server.url, database, dataset['key'])
        barrier.wait()
        start = time.monotonic()
        try:
            client.charge(mobile, dataset['product'], 'hot-%d' % index,
                retries=HOT_RETRIES)
        except Exception as exception:
            kind = str(exception)[:80]
            with lock:
                errors[kind] = errors.get(kind, 0) + 1
        else:
            with lock:
                results.append(time.monotonic() - start)
        finally:
            with lock:
                retries.append(client.retries)
            client.close()

    log('    %d charges on one budget at once' % len(mobiles))
    threads = [threading.Thread(target=terminal, args=(i, m))
        for i, m in enumerate(mobiles)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    with pg_connect(database) as db:
        amount, reserved, spent = db.execute(
            'SELECT SUM(amount), SUM(reserved), SUM(spent) '
            'FROM hb_budget_line WHERE budget = %s',
            (dataset['hot_budget'],)).fetchone()
        captured_sum, captured_count = db.execute(
            "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM hb_charge "
            "WHERE state = 'captured' AND budget = %s",
            (dataset['hot_budget'],)).fetchone()
    return {
        'terminals': len(mobiles),
        'succeeded': len(results),
        'refused': errors,
        'retries_503': sum(retries),
        'charges_per_s': len(results) / elapsed,
        'p99_ms': _ms(percentile(results, .99)),
        'budget': str(amount), 'spent': str(spent),
        'reserved': str(reserved), 'captured_sum': str(captured_sum),
        'captured_count': captured_count,
        'overspent': bool(spent + reserved > amount
            or captured_sum > amount or captured_sum != spent),
        }


# Bulk history, catalogue, billing --------------------------------------------

def bulk_session(database):
    from bench.bulk import Bulk
    return Bulk(pg_connect(database, autocommit=False), progress=progress)


def template_charge(database, dataset):
    "A captured and posted charge of the data set (the clones' model)"
    with pg_connect(database) as db:
        row = db.execute(
            "SELECT c.id FROM hb_charge AS c "
            "JOIN sale_point_sale AS s ON s.id = c.sale "
            "WHERE c.state = 'captured' AND c.kind = 'charge' "
            "AND s.state = 'posted' AND c.provider = %s "
            "AND c.budget <> %s ORDER BY c.id LIMIT 1",
            (dataset['provider'], dataset['hot_budget'])).fetchone()
    if not row:
        raise RuntimeError('no captured and posted charge to clone')
    return row[0]


def count_charges(database):
    with pg_connect(database) as db:
        return db.execute('SELECT COUNT(*) FROM hb_charge').fetchone()[0]


# The measured client's own history: a heavy user's year of charges. The
# rest of the history belongs to the other clients: the balance read must
# not grow with everybody's history (one client's is bounded by the budget
# period).
OWN_HISTORY = 200


def grow_history(bulk, database, dataset, total, template):
    """Add captured charges (dated in the budget period before the billing
    days) until the charge table holds total rows; the first call gives
    the measured client (the first) OWN_HISTORY of them"""
    from bench.bulk import days_ago_sql
    before = count_charges(database)
    missing = total - before
    if missing <= 0:
        return 0
    start = time.monotonic()
    # dated before the billing benchmark's days: never billed by it
    dates = days_ago_sql(dt.date.today(), BILLING_DAYS + 2,
        BUDGET_DAYS_BACK - BILLING_DAYS - 5)
    if not getattr(bulk, 'own_history', False) and bulk.n_clients > 1:
        own = min(OWN_HISTORY, missing)
        bulk.add_charges(own, template, dates, clients=(0, 1),
            label='history of the measured client')
        bulk.own_history = True
        missing -= own
    if missing > 0:
        bulk.add_charges(missing, template, dates,
            clients=(1, bulk.n_clients), label='history')
    added = count_charges(database) - before
    log('    history: %d charges added in %.0f s (%.0f charges/s)' % (
            added, time.monotonic() - start,
            added / (time.monotonic() - start)))
    return added


class WebClient:
    "An HTTP client with cookies, over one keep-alive connection"

    def __init__(self, url):
        parsed = urlparse(url)
        self.connection = http.client.HTTPConnection(
            parsed.hostname, parsed.port, timeout=120)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers['Cookie'] = '; '.join(
                '%s=%s' % i for i in self.cookies.items())
        if isinstance(body, dict):
            from urllib.parse import urlencode
            body = urlencode(body)
            headers['Content-Type'] = 'application/x-www-form-urlencoded'
        try:
            self.connection.request(method, path, body, headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        for header in response.headers.get_all('Set-Cookie') or []:
            name, _, rest = header.partition('=')
            self.cookies[name.strip()] = rest.split(';', 1)[0]
        return response.status, data.decode('utf-8', 'replace')


def client_page_login(server, database, mobile):
    """Log in to the client page (/hb/client) by mobile and one-time code;
    return the logged-in WebClient or None when there is no client page"""
    web = WebClient(server.url)
    base = '/%s/hb/client' % database
    status, text = web.request('GET', base + '/login')
    if status == 404:
        return None
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', text)
    token = csrf.group(1) if csrf else ''
    web.request('POST', base + '/login',
        {'mobile': mobile, 'csrf_token': token})
    with pg_connect(database) as db:
        row = db.execute('SELECT text FROM hb_sms_message WHERE "to" = %s '
            'ORDER BY id DESC LIMIT 1', (mobile,)).fetchone()
    code = re.search(r'\b(\d{6})\b', row[0]).group(1) if row else ''
    status, _ = web.request('POST', base + '/login',
        {'mobile': mobile, 'code': code, 'csrf_token': token})
    status, text = web.request('GET', base)
    if status != 200:
        raise RuntimeError('client page login failed: %s' % status)
    return web


def timed(func, count, seconds):
    "Call func up to count times within seconds; return the latencies"
    latencies = []
    deadline = time.monotonic() + seconds
    for _ in range(count):
        start = time.monotonic()
        func()
        latencies.append(time.monotonic() - start)
        if time.monotonic() > deadline:
            break
    return latencies


def bench_balance(server, database, dataset, reads, seconds):
    """The balance read one client at a time: the client page (or, when
    there is none yet, the budget's balance through JSON-RPC as the web
    client reads it) and the JSON GET charges/<id> of the provider"""
    client, budget, _, mobile = dataset['clients'][0]
    result = {'history': count_charges(database)}
    web = client_page_login(server, database, mobile)
    if web is not None:
        path = '/%s/hb/client' % database

        def page():
            status, text = web.request('GET', path)
            if status != 200 or 'Bench Client 0' not in text:
                raise RuntimeError('client page: %s' % status)
        result['balance_source'] = 'client page GET /hb/client'
    else:
        rpc = RPC(server.url, database).login('admin', PASSWORD)

        def page():
            rpc.call('model.hb.budget.read', [budget],
                ['amount', 'reserved', 'spent', 'available'], rpc.context)
        result['balance_source'] = (
            'no client page: hb.budget balance read through JSON-RPC')
    page()
    latencies = timed(page, reads, seconds)
    result['page_reads'] = len(latencies)
    result['page_p50_ms'] = _ms(percentile(latencies, .5))
    result['page_p99_ms'] = _ms(percentile(latencies, .99))

    with pg_connect(database) as db:
        ids = [r[0] for r in db.execute(
                'SELECT id FROM hb_charge WHERE provider = %s '
                'ORDER BY random() LIMIT 200', (dataset['provider'],))]
    terminal = ChargeClient(server.url, database, dataset['key'])
    turn = iter(range(10 ** 9))

    def get_charge():
        terminal.call('GET', '/charges/%d' % ids[next(turn) % len(ids)])
    get_charge()
    latencies = timed(get_charge, reads, seconds)
    terminal.close()
    result['json_reads'] = len(latencies)
    result['json_p50_ms'] = _ms(percentile(latencies, .5))
    result['json_p99_ms'] = _ms(percentile(latencies, .99))
    log('    balance at %d charges: page p99 %s ms, JSON p99 %s ms' % (
            result['history'], result['page_p99_ms'], result['json_p99_ms']))
    return result


CATALOGUE_PAGE = 50
CATALOGUE_DEEP_PAGE = 50


def bench_catalogue(server, database, dataset, reads, seconds):
    """The public catalogue page of every service (50 a page), one read at
    a time: the first page, then a deep one (page 50, the middle of 5,000
    services; the last page when there are fewer)"""
    web = WebClient(server.url)
    path = '/%s/hb/catalogue?municipality=%d&group=%d' % (
        database, dataset['municipality'], dataset['customer_group'])
    with pg_connect(database) as db:
        services, = db.execute('SELECT COUNT(*) FROM product_template '
            "WHERE hb_state = 'approved'").fetchone()
    pages = max(1, -(-services // CATALOGUE_PAGE))
    result = {'services': services, 'pages': pages}
    measured = [('', 1), ('deep_', min(CATALOGUE_DEEP_PAGE, pages))]

    def load(i):
        client = WebClient(server.url)
        for _, page in measured:
            client.request('GET', path + '&page=%d' % page)
    warm_up(server, server.workers, load)
    for prefix, page in measured:
        shown, found = [], []

        def get(url=path + ('&page=%d' % page if page > 1 else ''),
                shown=shown, found=found):
            status, text = web.request('GET', url)
            if status != 200:
                raise RuntimeError('catalogue: %s' % status)
            shown.append(text.count('<tr class="service">'))
            match = re.search(r'<p role="status">\D*(\d+)', text)
            found.append(int(match.group(1)) if match else None)
        get()
        latencies = timed(get, reads, seconds)
        result.update({
                prefix + 'page': page,
                prefix + 'shown_on_page': shown[-1],
                prefix + 'reads': len(latencies),
                prefix + 'p50_ms': _ms(percentile(latencies, .5)),
                prefix + 'p99_ms': _ms(percentile(latencies, .99)),
                })
        result['found'] = found[-1]
        log('    catalogue: %d services (%s found), page %d of %d: %d on '
            'the page, p50 %s ms, p99 %s ms' % (
                services, found[-1], page, pages, shown[-1],
                result[prefix + 'p50_ms'], result[prefix + 'p99_ms']))
    return result


BILLING_DAYS = 10


def _profiled(name, func, *args, **kwargs):
    """Call func; with HB_BENCH_CPROFILE=folder, under cProfile (CPU
    time) written to folder/name.prof"""
    folder = os.environ.get('HB_BENCH_CPROFILE')
    if not folder:
        return func(*args, **kwargs)
    import cProfile
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        return func(*args, **kwargs)
    finally:
        profiler.disable()
        os.makedirs(folder, exist_ok=True)
        profiler.dump_stats(os.path.join(folder, name + '.prof'))


def _bill_days(database, bill, post, seconds):
    """Bill and post the BILLING_DAYS days before today, oldest first, until
    seconds have passed; return (bills, days, billing s, posting s)"""
    today = dt.date.today()
    invoices, days, busy, posting = 0, 0, 0.0, 0.0
    for age in range(BILLING_DAYS, 0, -1):
        day = today - dt.timedelta(days=age)
        start = time.monotonic()
        # (the first day profiled with HB_BENCH_CPROFILE)
        ids = _profiled('billing-bill', _run, database, bill, day, user=1) \
            if not days else _run(database, bill, day, user=1)
        busy += time.monotonic() - start
        invoices += len(ids)
        start = time.monotonic()
        if not days:
            _profiled('billing-post', _run, database, post, ids, user=1)
        else:
            _run(database, post, ids, user=1)
        posting += time.monotonic() - start
        days += 1
        progress('billing days', days, BILLING_DAYS)
        if busy + posting > seconds and age > 1:
            progress('billing days', BILLING_DAYS, BILLING_DAYS)
            log('    billing stopped after %.0f s (time budget %d s)' % (
                    busy + posting, seconds))
            break
    return invoices, days, busy, posting


def bench_billing(database, dataset, count, seconds):
    """The billing run over count unbilled charges of the cloned providers,
    dated over the BILLING_DAYS days before today: one run per day (as the
    daily task would), oldest first, until all are billed or seconds
    have passed; the bills of each day are then posted (Invoice.post, in a
    transaction of their own); charges billed per second and charges on
    posted bills per second, each by its own time"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    today = dt.date.today()

    def bill(day):
        Billing = Pool().get('hb.billing')
        with Transaction().set_context(
                company=dataset['company'], _skip_warnings=True):
            return [i.id for i in Billing.bill_providers(
                    start_date=day, end_date=day, post=False)]

    def post(ids):
        Billing = Pool().get('hb.billing')
        with Transaction().set_context(
                company=dataset['company'], _skip_warnings=True):
            Billing.post_bills(ids)

    first = today - dt.timedelta(days=BILLING_DAYS)
    last = today - dt.timedelta(days=1)
    # As a server runs it: importing trytond's test tools (the data set
    # does) sets the pool's test mode, in which trytond also validates the
    # Function fields of every record written (each charge's refunded
    # amount, read back for its digits), which a server never does
    test_mode, Pool.test = Pool.test, False
    try:
        invoices, days, busy, posting = _bill_days(
            database, bill, post, seconds)
    finally:
        Pool.test = test_mode
    with pg_connect(database) as db:
        billed, unbilled = db.execute('SELECT '
            'COUNT(*) FILTER (WHERE invoice_line IS NOT NULL), '
            'COUNT(*) FILTER (WHERE invoice_line IS NULL) '
            'FROM hb_charge WHERE date BETWEEN %s AND %s AND provider <> %s',
            (first, last, dataset['provider'])).fetchone()
        posted, = db.execute('SELECT COUNT(*) FROM hb_charge AS c '
            'JOIN account_invoice_line AS l ON l.id = c.invoice_line '
            'JOIN account_invoice AS i ON i.id = l.invoice '
            "WHERE c.date BETWEEN %s AND %s AND i.state = 'posted'",
            (first, last)).fetchone()
        lines, = db.execute('SELECT COUNT(*) FROM account_invoice_line AS l '
            'JOIN account_invoice AS i ON i.id = l.invoice '
            'WHERE i.hb_bill').fetchone()
    load = os.getloadavg()
    result = {
        'charges': count,
        'days_billed': days,
        'billed': billed,
        'not_billed': unbilled,
        'invoices': invoices,
        'invoice_lines': lines,
        'seconds': round(busy, 1),
        'billed_per_s': billed / busy if busy else None,
        'posted': posted,
        'posting_seconds': round(posting, 1),
        'posted_per_s': posted / posting if posting else None,
        'load_average': [round(x, 2) for x in load],
        }
    log('    billing: %d of %d charges in %d bills (%d lines) in %.1f s: '
        '%.0f charges/s' % (billed, count, invoices, lines, busy,
            result['billed_per_s'] or 0))
    log('    bill posting: %d charges on posted bills in %.1f s: '
        '%.0f charges/s' % (posted, posting, result['posted_per_s'] or 0))
    log('    load average: %.2f %.2f %.2f' % load)
    return result


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


def _ratio(a, b):
    return a / b if a is not None and b else None


# Report ---------------------------------------------------------------------

HEADER = ("benchmark", "figure", "detail", "target")


def rows(results):
    "The measured figures, one row per benchmark"
    found = []
    hb = results.get('hb_charges')
    if hb:
        found.append(("HB complete charges (JSON API)",
                '%.1f /s' % hb['charges_per_s'],
                'p50 %s ms, p99 %s ms, %d charges, '
                '%s ms CPU, %s SQL each' % (
                    hb['p50_ms'], hb['p99_ms'], hb['charges'],
                    hb.get('cpu_ms_per_charge'), hb.get('sql_per_charge')),
                'errors: %d' % sum(hb['errors'].values())))
    posting = results.get('hb_posting')
    if posting:
        found.append(("HB batch posting (beside the charges)",
                '%.1f /s' % (posting['posted_per_s'] or 0),
                'lag p50 %s s, p99 %s s' % tuple(
                    None if v is None else round(v, 1) for v in (
                        posting['lag_p50_s'], posting['lag_p99_s'])),
                'not posted: %d' % posting['not_posted']))
    pos = results.get('plain_pos')
    if pos:
        found.append(("Plain POS sales made done (RPC)",
                '%.1f /s' % pos['done_per_s'],
                'p99 %s ms' % pos['done_p99_ms'],
                'errors: %d' % sum(pos['done_errors'].values())))
        found.append(("Plain POS sales posted (RPC)",
                '%.1f /s' % pos['posted_per_s'],
                'p99 %s ms' % pos['post_p99_ms'],
                'errors: %d' % sum(pos['post_errors'].values())))
        found.append(("Plain POS done + posted",
                '%.1f /s' % pos['done_and_posted_per_s'], '', ''))
    pgbench = results.get('pgbench')
    if pgbench:
        found.append(("pgbench TPC-B-like", '%.0f tps' % pgbench['tps'],
                'avg %s ms' % pgbench['latency_avg_ms'], ''))
    for key in ['balance_small', 'balance_large']:
        balance = results.get(key)
        if balance:
            found.append(("Balance read, %d charges" % balance['history'],
                    'p50 %s / p99 %s ms' % (
                        balance['page_p50_ms'], balance['page_p99_ms']),
                    balance['balance_source'], ''))
            found.append(("JSON GET charges/<id>, %d charges"
                    % balance['history'],
                    'p50 %s / p99 %s ms' % (
                        balance['json_p50_ms'], balance['json_p99_ms']),
                    '%d reads' % balance['json_reads'], ''))
    billing = results.get('billing')
    if billing:
        found.append(("Billing", '%.0f charges/s' % (
                    billing['billed_per_s'] or 0),
                '%d of %d charges, %d bills, %s s' % (billing['billed'],
                    billing['charges'], billing['invoices'],
                    billing['seconds']),
                'not billed: %d' % billing['not_billed']))
    catalogue = results.get('catalogue')
    if catalogue:
        found.append(("Catalogue page 1", 'p50 %s / p99 %s ms' % (
                    catalogue['p50_ms'], catalogue['p99_ms']),
                '%d services, %d on the page' % (
                    catalogue['services'], catalogue['shown_on_page']),
                ''))
        if 'deep_page' in catalogue:
            found.append(("Catalogue page %d of %d" % (
                        catalogue['deep_page'], catalogue['pages']),
                    'p50 %s / p99 %s ms' % (
                        catalogue['deep_p50_ms'], catalogue['deep_p99_ms']),
                    '%d services, %d on the page' % (
                        catalogue['services'],
                        catalogue['deep_shown_on_page']),
                    ''))
    hot = results.get('hb_hot_budget')
    if hot:
        found.append(("Charges on one budget at once",
                '%.1f /s' % hot['charges_per_s'],
                '%d of %d paid, spent %s of %s, %d retries after 503' % (
                    hot['succeeded'], hot['terminals'], hot['spent'],
                    hot['budget'], hot['retries_503']),
                'refused: %s' % ', '.join(
                    '%s x%d' % i for i in hot['refused'].items())))
    return found


def targets(results):
    "The targets of issue 7 that this run measured"
    found = {}
    hb = results.get('hb_charges')
    posting = results.get('hb_posting')
    pos = results.get('plain_pos')
    hot = results.get('hb_hot_budget')
    pgbench = results.get('pgbench')

    def add(name, value, target, met):
        found[name] = {'value': value, 'target': target, 'met': bool(met)}

    if hb:
        # issue 16: at 16 terminals, p99 under a second
        add('complete charges per second', '%.1f /s, p99 %s ms' % (
                hb['charges_per_s'], hb['p99_ms']),
            '>= 50 /s, p99 < 1 s',
            hb['charges_per_s'] >= 50 and hb['p99_ms'] < 1000)
        add('charge errors under concurrency',
            str(sum(hb['errors'].values())), '0', not hb['errors'])
    if hb and posting and pos and pos['done_and_posted_per_s']:
        # HB charges complete and posted by the batch: the slower of the two
        rate = min(hb['charges_per_s'], posting['posted_per_s'] or 0)
        ratio = rate / pos['done_and_posted_per_s']
        add('HB charge (posted) / plain POS sale (done+posted)',
            '%.1f x' % ratio, '>= 5 x', ratio >= 5)
    if hb and pgbench:
        add('HB charge / pgbench transaction',
            '%.3f' % (hb['charges_per_s'] / pgbench['tps']), '(ratio)', True)
    if posting:
        lag = posting['lag_p99_s']
        add('posting lag p99', 'n/a' if lag is None else '%.1f s' % lag,
            '< 60 s', lag is not None and lag < 60
            and not posting['not_posted'])
    small = results.get('balance_small')
    large = results.get('balance_large')
    for balance in [small, large]:
        if balance:
            worst = max(balance['page_p99_ms'], balance['json_p99_ms'])
            add('balance read p99 at %d charges' % balance['history'],
                '%s ms' % worst, '< 20 ms', worst < 20)
    if small and large:
        ratios = [_ratio(large[k], small[k])
            for k in ['page_p99_ms', 'json_p99_ms']]
        worst = max(r for r in ratios if r is not None)
        add('balance read p99 %d / %d charges' % (
                large['history'], small['history']),
            'page %.2f x, JSON %.2f x' % tuple(ratios), '<= 1.5 x',
            worst <= 1.5)
    billing = results.get('billing')
    if billing:
        add('billing', '%.0f charges/s' % (billing['billed_per_s'] or 0),
            '>= 1000 /s', (billing['billed_per_s'] or 0) >= 1000)
    catalogue = results.get('catalogue')
    if catalogue:
        add('catalogue page p99 (%d services)' % catalogue['services'],
            '%s ms' % catalogue['p99_ms'], '< 100 ms',
            catalogue['p99_ms'] < 100)
        if 'deep_page' in catalogue:
            add('catalogue page %d p99 (%d services)' % (
                    catalogue['deep_page'], catalogue['services']),
                '%s ms' % catalogue['deep_p99_ms'], '< 100 ms',
                catalogue['deep_p99_ms'] < 100)
    if hot:
        add('zero overspend (%d at once)' % hot['terminals'],
            '%s spent of %s' % (hot['spent'], hot['budget']),
            'spent <= budget', not hot['overspent'])
    return found


def table(results):
    lines = []
    for title, body in [
            ("Measured", rows(results)),
            ("Targets of issue 7", [
                    (name, t['value'], t['target'],
                        'met' if t['met'] else 'NOT MET')
                    for name, t in results.get('targets', {}).items()]),
            ]:
        widths = [max(len(str(r[i])) for r in body + [HEADER])
            for i in range(4)]
        lines.append('')
        lines.append(title)
        lines.append(' | '.join(
                str(c).ljust(w) for c, w in zip(HEADER, widths)).rstrip())
        lines.append('-+-'.join('-' * w for w in widths))
        for row in body:
            lines.append(' | '.join(
                    str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return '\n'.join(lines)


# Main -----------------------------------------------------------------------

BENCHMARKS = ['charges', 'hot', 'balance', 'catalogue', 'billing', 'pos',
    'pgbench']
# Those of the HB data set; balance and billing clone the charges made by
# the charges benchmark, which they run first
HB_BENCHMARKS = {'charges', 'hot', 'balance', 'catalogue', 'billing'}


def run_hb(results, size, only):
    database = 'bench_hb'
    log('==> HB data set')
    create_database(database, ['hb_voucher'])
    dataset = setup_hb_dataset(
        database, size['hb_clients'], size['hot_charges'])
    vacuum_analyze(database)
    server = Gunicorn(database, size['workers'])
    try:
        if {'charges', 'balance', 'billing'} & only:
            log('==> HB charges through the JSON API')
            results['hb_charges'], results['hb_posting'] = bench_hb_charges(
                server, database, dataset, size['clients'], size['seconds'],
                size['post_interval'])
        if 'hot' in only:
            log('==> Concurrency on one budget')
            results['hb_hot_budget'] = bench_hot_budget(
                server, database, dataset)
        if not {'balance', 'catalogue', 'billing'} & only:
            return
        bulk = bulk_session(database)
        bulk.set_clients(dataset['clients'])
        bulk.set_main_provider(dataset['provider'], dataset['contract'],
            dataset['sale_point'], dataset['product'])
        if {'balance', 'billing'} & only:
            template = template_charge(database, dataset)
        if 'balance' in only:
            log('==> Balance read at %d charges' % size['history_small'])
            grow_history(bulk, database, dataset, size['history_small'],
                template)
            results['balance_small'] = bench_balance(
                server, database, dataset, size['reads'], size['seconds'])
        if {'catalogue', 'billing'} & only:
            log('==> %d providers with %d catalogue services' % (
                    size['providers'], size['services']))
            start = time.monotonic()
            bulk.add_providers(size['providers'], size['services'], {
                    'party': dataset['provider'],
                    'contract': dataset['contract'],
                    'sale_point': dataset['sale_point'],
                    'template': dataset['template'],
                    })
            log('    generated in %.0f s' % (time.monotonic() - start))
        if 'catalogue' in only:
            log('==> Catalogue page')
            results['catalogue'] = bench_catalogue(
                server, database, dataset, size['reads'], size['seconds'])
        if 'billing' in only:
            from bench.bulk import days_ago_sql
            log('==> Billing %d charges of %d providers' % (
                    size['billing'], size['providers']))
            bulk.add_charges(size['billing'], template,
                days_ago_sql(dt.date.today(), 1, BILLING_DAYS,
                    per=bulk.n_providers - 1),
                providers=(1, bulk.n_providers), label='unbilled')
            results['billing'] = bench_billing(
                database, dataset, size['billing'], size['billing_seconds'])
        if 'balance' in only:
            log('==> Balance read at %d charges' % size['history_large'])
            grow_history(bulk, database, dataset, size['history_large'],
                template)
            results['balance_large'] = bench_balance(
                server, database, dataset, size['reads'], size['seconds'])
        bulk.db.close()
    finally:
        server.stop()


def run_pos(results, size):
    log('==> Plain sale_point baseline')
    database = 'bench_pos'
    create_database(database, size['pos_modules'])
    pos = setup_point_of_sale(database)
    vacuum_analyze(database)
    server = Gunicorn(database, size['workers'])
    try:
        results['plain_pos'] = bench_plain_pos(
            server, database, pos, size['clients'], size['seconds'])
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', choices=sorted(SIZES), default='default')
    for key in ['clients', 'workers', 'seconds', 'history_large', 'billing',
            'billing_seconds', 'services', 'providers', 'hb_clients']:
        parser.add_argument('--' + key.replace('_', '-'), type=int,
            dest=key)
    parser.add_argument('--only', default=','.join(BENCHMARKS),
        help="comma-separated benchmarks to run (%(default)s)")
    parser.add_argument('--json', default=os.path.join(RESULTS, 'latest.json'))
    parser.add_argument('--poster', help=argparse.SUPPRESS)
    parser.add_argument('--company', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--interval', type=float, help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    if args.poster:
        os.rmdir(WORK)
        return poster_main(args.poster, args.company, args.interval, args.out)
    size = dict(SIZES[args.size])
    for key in size:
        if getattr(args, key, None):
            size[key] = getattr(args, key)
    only = set(args.only.split(','))
    unknown = only - set(BENCHMARKS)
    if unknown:
        parser.error('unknown benchmarks: %s' % ', '.join(sorted(unknown)))
    os.makedirs(RESULTS, exist_ok=True)

    results = {
        'date': dt.datetime.now().isoformat(timespec='seconds'),
        'size': args.size, 'parameters': size,
        'machine': {'cpus': os.cpu_count(),
            'load_before': os.getloadavg()},
        'command': ' '.join(['bash bench/run.sh'] + sys.argv[1:]),
        }
    started = time.monotonic()
    try:
        if HB_BENCHMARKS & only:
            run_hb(results, size, only)
        if 'pos' in only:
            run_pos(results, size)
    except BaseException:
        log('bench: failed; the server logs are in %s' % WORK)
        raise
    shutil.rmtree(WORK, ignore_errors=True)
    if 'pgbench' in only:
        log('==> pgbench')
        results['pgbench'] = bench_pgbench(
            size['clients'], size['seconds'], size['pgbench_scale'])

    results['targets'] = targets(results)
    results['elapsed_s'] = round(time.monotonic() - started, 1)
    results['machine']['load_after'] = os.getloadavg()
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as fp:
        json.dump(results, fp, indent=2, default=str)
    print(table(results))
    print('\nResults written to %s (%.0f s)' % (args.json,
            results['elapsed_s']))


if __name__ == '__main__':
    main()
