# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Cost of one request of the measured paths, in one process: complete
charges (request + confirm), the terminal's GET charges/<id> and the
client page, through trytond's WSGI application (werkzeug's test client,
the code gunicorn runs, without HTTP), on the benchmark's data set
(a small one). Prints the wall and CPU time per request; with --queries
the SQL queries per request by the code that made them; with --profile
a pyinstrument profile of each (pyinstrument is not in the requirements:
pip install --target /tmp/prof pyinstrument, then PYTHONPATH=/tmp/prof).

Run through bench/profile.sh (it starts PostgreSQL as bench/run.sh does):
    bash bench/profile.sh [--charges 50] [--queries] [--profile DIR]
"""
import argparse
import collections
import json
import os
import re
import resource
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from trytond.application import app  # noqa: E402 (before the pool)

from bench import bench  # noqa: E402

DATABASE = 'bench_profile'


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Queries:
    "Count the SQL queries by the innermost lines of the HB modules"

    def __init__(self):
        import psycopg
        self.cursor = psycopg.Cursor
        self.original = psycopg.Cursor.execute
        self.counts = collections.Counter()
        self.slowest = []

    def __enter__(self):
        counts, original = self.counts, self.original
        slowest = self.slowest

        def execute(cursor, query, *args, **kwargs):
            ours = [f for f in traceback.extract_stack(limit=40)
                if '/addons/' in f.filename]
            where = ' < '.join('%s:%d %s' % (
                    f.filename.split('/addons/')[1], f.lineno, f.name)
                for f in reversed(ours[-2:])) or 'trytond'
            counts[where] += 1
            start = time.perf_counter()
            try:
                return original(cursor, query, *args, **kwargs)
            finally:
                slowest.append((time.perf_counter() - start, where,
                        str(query)[:300]))
                slowest.sort(reverse=True)
                del slowest[5:]
        self.cursor.execute = execute
        return self

    def __exit__(self, *exc):
        self.cursor.execute = self.original

    def report(self, requests):
        total = sum(self.counts.values())
        print('    %.1f queries per call; the most frequent:' % (
                total / requests))
        for key, count in self.counts.most_common(
                int(os.environ.get('HB_PROFILE_LINES', 12))):
            print('    %6.2f  %s' % (count / requests, key))
        print('    the slowest:')
        for duration, where, query in self.slowest:
            print('    %6.2f ms  %s\n              %s' % (
                    duration * 1000, where, query))


def measure(label, func, count, args):
    "Call func count times; print the time per call (and queries, profile)"
    func(-1)  # warm
    profiler = queries = None
    if args.profile:
        import pyinstrument
        profiler = pyinstrument.Profiler(interval=0.0005)
        profiler.start()
    if args.queries:
        queries = Queries().__enter__()
    cprofile = None
    if args.cprofile:
        import cProfile
        # (CPU time: the wall time is mostly waiting for PostgreSQL)
        cprofile = cProfile.Profile(time.process_time)
        cprofile.enable()
    wall, start_cpu = time.perf_counter(), cpu()
    for i in range(count):
        func(i)
    wall, used = time.perf_counter() - wall, cpu() - start_cpu
    if queries:
        queries.__exit__()
    if cprofile:
        cprofile.disable()
        report_cprofile(cprofile, label, count, args.cprofile)
    if profiler:
        profiler.stop()
        os.makedirs(args.profile, exist_ok=True)
        path = os.path.join(args.profile, label.split()[0] + '.txt')
        with open(path, 'w') as fp:
            fp.write(profiler.output_text(unicode=True, color=False))
    print('%-32s %6.1f ms wall, %6.1f ms CPU of this process each (%d)' % (
            label, wall / count * 1000, used / count * 1000, count))
    if queries:
        queries.report(count)
    if profiler:
        print('    profile: %s' % path)


def report_cprofile(cprofile, label, count, folder):
    """Write the cProfile of label to folder and print the functions
    taking the most time of their own and in all (ms per call)"""
    import io
    import pstats
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, label.split()[0] + '.prof')
    cprofile.dump_stats(path)
    lines = int(os.environ.get('HB_PROFILE_LINES', 12))
    for sort in ['tottime', 'cumulative']:
        out = io.StringIO()
        stats = pstats.Stats(cprofile, stream=out)
        stats.sort_stats(sort).print_stats(lines)
        print('    cProfile by %s (seconds for %d calls):' % (sort, count))
        text = out.getvalue()
        print('\n'.join('    ' + line for line in text[
                    text.index('ncalls'):].splitlines()))
    print('    cProfile: %s' % path)


def grow(dataset, total, providers=0, spread=0):
    """Post the charges, then grow the history to total charges as bench
    does; with providers, add that many providers (one service each) and
    spread charges of every client over them, as the billing benchmark
    does before the balance read at 1 M (spread charges in all)"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    def post():
        with Transaction().set_context(company=dataset['company']):
            while Pool().get('hb.charge').post_sales():
                pass
    bench._run(DATABASE, post, user=1)
    bulk = bench.bulk_session(DATABASE)
    bulk.set_clients(dataset['clients'])
    bulk.set_main_provider(dataset['provider'], dataset['contract'],
        dataset['sale_point'], dataset['product'])
    template = bench.template_charge(DATABASE, dataset)
    bench.grow_history(bulk, DATABASE, dataset, total, template)
    if providers:
        import datetime as dt

        from bench.bulk import days_ago_sql
        bulk.add_providers(providers, providers, {
                'party': dataset['provider'],
                'contract': dataset['contract'],
                'sale_point': dataset['sale_point'],
                'template': dataset['template'],
                })
        bulk.add_charges(spread or 10 * providers, template,
            days_ago_sql(dt.date.today(), 1, bench.BILLING_DAYS,
                per=bulk.n_providers - 1),
            providers=(1, bulk.n_providers), label='spread')
    bulk.db.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--charges', type=int, default=50)
    parser.add_argument('--queries', action='store_true')
    parser.add_argument('--profile', metavar='DIR')
    parser.add_argument('--cprofile', metavar='DIR',
        help="cProfile each measure into DIR (with [hb_voucher] "
        "database_wait = 0: the API's requests run in the calling thread)")
    parser.add_argument('--history', type=int, default=0,
        help="grow the charge history to this many charges (bulk.py) "
        "before the reads")
    parser.add_argument('--providers', type=int, default=0,
        help="add this many providers with a service each and spread "
        "charges of every client over them (as the billing benchmark "
        "does before the balance read at 1 M)")
    parser.add_argument('--spread', type=int, default=0,
        help="the charges spread over those providers (10 each by default)")
    args = parser.parse_args()
    if args.cprofile:
        from trytond.config import config
        if not config.has_section('hb_voucher'):
            config.add_section('hb_voucher')
        config.set('hb_voucher', 'database_wait', '0')
    os.rmdir(bench.WORK)  # (the benchmark's folder of server logs: unused)
    from werkzeug.test import Client

    bench.create_database(DATABASE, ['hb_voucher'])
    dataset = bench.setup_hb_dataset(DATABASE, 10, 2)
    client = Client(app)
    base = '/%s/hb/api/v1' % DATABASE
    headers = {'Authorization': 'Bearer ' + dataset['key'],
        'Content-Type': 'application/json', 'Accept-Language': 'en'}
    outbox = bench.pg_connect(DATABASE)

    def code(mobile):
        row = outbox.execute('SELECT text FROM hb_sms_message '
            'WHERE "to" = %s ORDER BY id DESC LIMIT 1', (mobile,)).fetchone()
        return re.search(r'\b(\d{6})\b', row[0]).group(1)

    charges = []

    def charge(i):
        mobile = dataset['mobiles'][i % len(dataset['mobiles'])]
        response = client.post(base + '/charges', headers=headers,
            data=json.dumps({'mobile': mobile,
                    'idempotency_key': 'profile-%d-%f' % (i, time.time()),
                    'lines': [{'service': dataset['product'],
                            'quantity': '0.1'}]}))
        assert response.status_code == 201, response.get_data(as_text=True)
        charge_id = response.json['id']
        response = client.post(base + '/charges/%d/confirm' % charge_id,
            headers=headers, data=json.dumps({'code': code(mobile)}))
        assert response.json['state'] == 'captured', response.json
        charges.append(charge_id)

    def read(i):
        response = client.get(base + '/charges/%d' % charges[i % len(
                    charges)], headers=headers)
        assert response.status_code == 200

    measure('complete charge (2 requests)', charge, args.charges, args)
    if args.history or args.providers:
        grow(dataset, args.history, args.providers, args.spread)
    measure('GET charges/<id>', read, args.charges, args)

    page = Client(app)
    path = '/%s/hb/client' % DATABASE
    text = page.get(path + '/login').get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]*)"', text).group(1)
    mobile = dataset['mobiles'][0]
    page.post(path + '/login', data={'mobile': mobile, 'csrf_token': token})
    page.post(path + '/login', data={
            'mobile': mobile, 'code': code(mobile), 'csrf_token': token})

    def client_page(i):
        response = page.get(path)
        assert response.status_code == 200, response.status_code
    measure('client page', client_page, args.charges, args)
    outbox.close()
    if os.environ.get('HB_PROFILE_HOLD'):
        print('holding', flush=True)
        time.sleep(int(os.environ['HB_PROFILE_HOLD']))


if __name__ == '__main__':
    main()
