# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""gunicorn configuration of the benchmark's server: each worker counts
the SQL statements it executes (psycopg's Cursor.execute) and, after each
request, writes its counters (statements, CPU seconds, requests) to
$HB_BENCH_STATS/<pid>, from which the benchmark computes the CPU and the
statements per complete charge (bench.WorkerStats)."""
import os

_counts = {'sql': 0, 'requests': 0}


def post_fork(server, worker):
    import psycopg
    original = psycopg.Cursor.execute

    def execute(cursor, *args, **kwargs):
        _counts['sql'] += 1
        return original(cursor, *args, **kwargs)
    psycopg.Cursor.execute = execute


def post_request(worker, req, environ, resp):
    folder = os.environ.get('HB_BENCH_STATS')
    if not folder:
        return
    _counts['requests'] += 1
    times = os.times()
    with open(os.path.join(folder, str(os.getpid())), 'w') as fp:
        fp.write('%d %.4f %d' % (
                _counts['sql'], times.user + times.system,
                _counts['requests']))
