# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""A small run of the benchmark (bench/bench.py --size smoke, issue 7) so
that it cannot rot: every benchmark runs and prints its row, the charges
are all captured, posted and billed, and no budget is overspent. The speed
targets are not asserted here: bench/run.sh (make bench) measures them.

It needs PostgreSQL (the test command's server: TRYTOND_DATABASE__URI)
and gunicorn; it makes its own databases bench_hb, bench_pos and
bench_pgbench there, restored from the test command's database cache."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URI = os.environ.get('TRYTOND_DATABASE__URI', '')

ROWS = [
    "HB complete charges (JSON API)",
    "HB batch posting (beside the charges)",
    "Plain POS sales made done (RPC)",
    "Plain POS sales posted (RPC)",
    "pgbench TPC-B-like",
    "Balance read, ",
    "JSON GET charges/<id>, ",
    "Billing",
    "Catalogue page",
    "Charges on one budget at once",
    ]
TARGETS = [
    'complete charges per second',
    'charge errors under concurrency',
    'HB charge (posted) / plain POS sale (done+posted)',
    'HB charge / pgbench transaction',
    'posting lag p99',
    'billing',
    ]


@unittest.skipUnless(URI.startswith('postgresql://'), "needs PostgreSQL")
class BenchSmokeTestCase(unittest.TestCase):

    def test_smoke(self):
        "The smoke size of the benchmark runs and reports every benchmark"
        self.assertTrue(shutil.which('pgbench'), "pgbench not on PATH")
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, 'smoke.json')
            env = dict(os.environ)
            for name in ['DB_NAME', 'TRYTOND_CONFIG']:
                env.pop(name, None)
            start = time.monotonic()
            process = subprocess.run(
                [sys.executable, '-m', 'bench.bench', '--size', 'smoke',
                    '--json', output],
                cwd=ROOT, env=env, capture_output=True, text=True,
                timeout=1200)
            elapsed = time.monotonic() - start
            self.assertEqual(process.returncode, 0,
                process.stdout[-2000:] + process.stderr[-4000:])
            with open(output) as fp:
                results = json.load(fp)
        # the phases and their seconds (the progress bars left out)
        phases = '\n'.join(line.rsplit('\r', 1)[-1]
            for line in process.stderr.splitlines())
        print('\n%s\n%s\n(smoke run: %.0f s)' % (
                phases, process.stdout, elapsed), file=sys.stderr)

        table = process.stdout
        for row in ROWS:
            self.assertIn(row, table)
        for name in TARGETS:
            self.assertIn(name, results['targets'])
        for prefix in ['balance read p99 at ', 'balance read p99 3000 / ',
                'catalogue page p99 (', 'zero overspend (']:
            self.assertTrue(
                any(n.startswith(prefix) for n in results['targets']),
                prefix)
        for target in results['targets'].values():
            self.assertIn('met' if target['met'] else 'NOT MET', table)

        charges = results['hb_charges']
        self.assertGreater(charges['charges'], 0)
        self.assertEqual(charges['errors'], {})
        posting = results['hb_posting']
        self.assertEqual(posting['not_posted'], 0)
        self.assertGreaterEqual(posting['posted'], charges['charges'])

        hot = results['hb_hot_budget']
        self.assertFalse(hot['overspent'])
        self.assertEqual(hot['succeeded'], hot['terminals'] // 2)
        self.assertEqual(hot['captured_count'], hot['terminals'] // 2)
        self.assertEqual(hot['spent'], hot['budget'])

        self.assertEqual(results['balance_small']['history'], 300)
        self.assertEqual(results['balance_large']['history'], 3000)
        billing = results['billing']
        self.assertEqual(billing['billed'], billing['charges'])
        self.assertEqual(billing['not_billed'], 0)
        # a bill per provider and day (10 days)
        self.assertEqual(billing['invoices'],
            results['parameters']['providers'] * 10)
        catalogue = results['catalogue']
        self.assertGreaterEqual(catalogue['shown_on_page'], 1)
        self.assertGreater(results['plain_pos']['sales_done'], 0)
        self.assertGreater(results['pgbench']['tps'], 0)
