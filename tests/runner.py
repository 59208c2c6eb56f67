# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Run every test of the HB modules and of tests/, then print the totals.

    python -m tests.runner [--quick] [--jobs N] [NAME ...]

Loads each module's tests/test_*.py through unittest's loader, which
honours ``load_tests`` (so the .rst scenarios really run, unlike plain
pytest), then the test_*.py files of this folder. --quick leaves out the
slow ones: test_browser*.py (a browser and a served web client) and
test_demo*.py (the demo command).
NAME limits the run to test modules whose dotted name contains NAME.
The last line is "N passed, N failed, N skipped"; the exit code is 1 on
any failure or error, or when no test ran.

--jobs N (PostgreSQL only) runs the test modules in N processes at once,
each on its own database (DB_NAME_1, ...), sharing the server and its
template databases. The processes take the modules from one queue (a file
under a lock), ordered by their last measured times (tests/test-weights.txt),
the longest first: a process that is done takes the next module, so stale
weights cost little. The modules in ALONE run after, one process:
test_pg_restart restarts the shared server.
"""
import argparse
import fcntl
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ['hb_budget', 'hb_marketplace', 'hb_voucher', 'hb_avain']
# Run after the parallel part, alone: restarts the shared PostgreSQL server
ALONE = {'tests.test_pg_restart'}
WEIGHTS = os.path.join(ROOT, 'tests', 'test-weights.txt')
DEFAULT_WEIGHT = 30.0
# lines of each failure's report repeated at the end of the run
TRACE_LINES = 40
UNIT_TIMES = {}


def test_module_names(quick=False):
    names = []
    for module in MODULES:
        pattern = os.path.join(ROOT, 'addons', module, 'tests', 'test_*.py')
        for path in sorted(glob.glob(pattern)):
            name = os.path.splitext(os.path.basename(path))[0]
            names.append('trytond.modules.%s.tests.%s' % (module, name))
    for path in sorted(glob.glob(os.path.join(ROOT, 'tests', 'test_*.py'))):
        name = os.path.splitext(os.path.basename(path))[0]
        if quick and name.startswith(('test_browser', 'test_demo')):
            continue
        names.append('tests.%s' % name)
    return names


class TimedResult(unittest.TextTestResult):
    "Also record how long each test class took."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_times = {}
        self._class_start = {}
        # a class's time starts when the previous test stopped, so that
        # its setUpClass (activating or restoring the database) counts
        self._last_stop = time.monotonic()

    def startTest(self, test):
        if isinstance(test, unittest.FunctionTestCase) or hasattr(
                test, '_dt_test'):
            key = test.id()  # each doctest scenario on its own
        else:
            key = type(test).__module__ + '.' + type(test).__qualname__
        self._class_start.setdefault(key, self._last_stop)
        self._current = key
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        key = self._current
        self._last_stop = time.monotonic()
        self.class_times[key] = self._last_stop - self._class_start[key]


class UnitSuite(unittest.TestSuite):
    "The tests of one test module, timed as a whole."

    name = None

    def run(self, result, debug=False):
        start = time.monotonic()
        try:
            return super().run(result, debug)
        finally:
            UNIT_TIMES[self.name] = (
                UNIT_TIMES.get(self.name, 0) + time.monotonic() - start)


def read_weights(path=WEIGHTS):
    weights = {}
    if os.path.exists(path):
        with open(path) as file:
            for line in file:
                parts = line.split()
                if len(parts) == 2:
                    weights[parts[1]] = float(parts[0])
    return weights


def by_weight(names, weights):
    "names, the longest first (unknown ones as DEFAULT_WEIGHT)"
    return sorted(names, key=lambda n: (-weights.get(n, DEFAULT_WEIGHT), n))


def take(queue):
    "Take the first name off the queue file (under a lock); None when empty"
    with open(queue, 'r+') as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            names = file.read().split()
            if not names:
                return None
            file.seek(0)
            file.truncate()
            file.write('\n'.join(names[1:]))
            return names[0]
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


class QueueSuite(unittest.TestSuite):
    "The test modules of a queue, each loaded when it is taken"

    _cleanup = False

    def __init__(self, queue):
        super().__init__()
        self.queue = queue
        self.taken = []

    def __iter__(self):
        loader = unittest.TestLoader()
        while True:
            name = take(self.queue)
            if name is None:
                return
            self.taken.append(name)
            print('[taken] %s' % name, file=sys.stderr, flush=True)
            try:
                tests = loader.loadTestsFromName(name)
            except Exception as exception:
                tests = unittest.FunctionTestCase(
                    _raiser(exception), description='load %s' % name)
            unit = UnitSuite([tests])
            unit.name = name
            yield unit


def _raiser(exception):
    "A test function that fails with exception (a module that cannot load)"
    def test():
        raise exception
    return test


def _tolerate_shared_templates():
    """Two processes may finish activating the same modules at once: the
    second one's copy to the shared template database then fails because
    the first one made it. The template is there either way."""
    from trytond.tests import test_tryton
    backup = test_tryton.backup_db_cache

    def backup_db_cache(name):
        try:
            backup(name)
        except Exception as exception:
            if 'already exists' not in str(exception):
                raise
    test_tryton.backup_db_cache = backup_db_cache


def cpu_times():
    "(busy, total) jiffies of all the machine's CPUs (Linux), or None"
    try:
        with open('/proc/stat') as file:
            values = [int(v) for v in file.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def _stream(process, prefix, out):
    for line in process.stdout:
        out.write(prefix + line)
        out.flush()


def run_parallel(args, names):
    """Run names in args.jobs child runners, then the ALONE ones; print
    their output as it comes, each line prefixed with its shard"""
    weights = read_weights()
    alone = [n for n in names if n in ALONE]
    queued = by_weight([n for n in names if n not in ALONE], weights)
    jobs = min(args.jobs, len(queued))
    base_db = os.environ.get('DB_NAME', 'test_hb')
    artifacts = os.environ.get('HB_ARTIFACTS')
    start = time.monotonic()
    cpu_start = cpu_times()
    queue_dir = tempfile.mkdtemp(prefix='hb-test-queue-')
    queue = os.path.join(queue_dir, 'queue')
    with open(queue, 'w') as file:
        file.write('\n'.join(queued))
    print('Queue, the longest first: %s' % ' '.join(queued), flush=True)

    def child(index, units):
        env = dict(os.environ)
        env['DB_NAME'] = '%s_%d' % (base_db, index)
        env['HB_TEST_SHARD'] = str(index)
        command = [sys.executable, '-u', '-m', 'tests.runner', '--exact',
            '-v', str(args.verbosity)]
        if units is None:
            command += ['--queue', queue]
        else:
            command += units
        return subprocess.Popen(command, cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1)

    statuses = []
    first = 1
    for phase in [[None] * jobs, [alone] if alone else []]:
        if not phase:
            continue
        numbers = range(first, first + len(phase))
        first += len(phase)
        for i, units in zip(numbers, phase):
            print('[%d] %s' % (i, 'the queue' if units is None
                    else ' '.join(units)), flush=True)
        processes = [child(i, units) for i, units in zip(numbers, phase)]
        threads = [threading.Thread(target=_stream,
                args=(p, '[%d] ' % i, sys.stdout))
            for i, p in zip(numbers, processes)]
        for thread in threads:
            thread.start()
        for process, thread in zip(processes, threads):
            statuses.append(process.wait())
            thread.join()

    # the children left their times in HB_ARTIFACTS/times-<shard>.txt
    totals = {'passed': 0, 'failed': 0, 'skipped': 0, 'run': 0}
    class_times, unit_times, failures, orders = {}, {}, [], []
    for index in range(1, first):
        path = artifacts and os.path.join(
            artifacts, 'shard-%d.txt' % index)
        if not path or not os.path.exists(path):
            continue
        with open(path) as file:
            for line in file:
                kind, rest = line.rstrip('\n').split(' ', 1)
                if kind in totals:
                    totals[kind] += int(rest)
                elif kind == 'class':
                    seconds, key = rest.split(' ', 1)
                    class_times[key] = float(seconds)
                elif kind == 'unit':
                    seconds, key = rest.split(' ', 1)
                    unit_times[key] = float(seconds)
                elif kind == 'fail':
                    failures.append([rest, ''])
                elif kind == 'trace' and failures:
                    failures[-1][1] = json.loads(rest)
                elif kind == 'order':
                    orders.append('[%d] %s' % (index, rest))
        os.remove(path)
    shutil.rmtree(queue_dir, ignore_errors=True)
    elapsed = time.monotonic() - start
    cpu_end = cpu_times()
    if cpu_start and cpu_end and cpu_end[1] > cpu_start[1]:
        # whether more processes could use the machine
        print('\nThe CPUs were busy %.0f %% of the run (%d CPUs, %d '
            'processes)' % (100.0 * (cpu_end[0] - cpu_start[0])
                / (cpu_end[1] - cpu_start[1]), os.cpu_count(), jobs))
    if totals['failed']:
        # the whole log may be cut: the failures' ends and what ran before
        print('\nThe test modules each process ran, in order:')
        for line in orders:
            print('  ' + line)
    report(class_times, unit_times, elapsed, totals['run'],
        totals['passed'], totals['failed'], totals['skipped'], failures)
    if len(statuses) != jobs + bool(alone) or any(statuses):
        return 1
    return 1 if totals['failed'] or not totals['run'] else 0


def report(class_times, unit_times, elapsed, run, passed, failed, skipped,
        failures=()):
    times = sorted(class_times.items(), key=lambda i: -i[1])
    print('\nSlowest test classes (with their set-up):')
    for key, seconds in times[:15]:
        print('  %7.1f s  %s' % (seconds, key))
    artifacts = os.environ.get('HB_ARTIFACTS')
    if artifacts and os.path.isdir(artifacts):
        with open(os.path.join(artifacts, 'test-times.txt'), 'w') as file:
            for key, seconds in times:
                file.write('%7.1f s  %s\n' % (seconds, key))
        # what tests/test-weights.txt is refreshed from
        with open(os.path.join(artifacts, 'test-weights.txt'), 'w') as file:
            for key, seconds in sorted(unit_times.items(),
                    key=lambda i: -i[1]):
                file.write('%.1f %s\n' % (seconds, key))
    if failures:
        print('\nFailed or in error:')
        for name, trace in failures:
            print('  FAIL: %s' % name)
            # the start (a doctest's failed example) and the end (the
            # exception) of the report
            lines = trace.rstrip('\n').splitlines()
            if len(lines) > TRACE_LINES:
                lines = (lines[:TRACE_LINES // 4] + ['    [...]']
                    + lines[-(TRACE_LINES - TRACE_LINES // 4):])
            for line in lines:
                print('    ' + line)
    print('\nRan %d tests in %.1f s' % (run, elapsed))
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('-v', '--verbosity', type=int, default=2)
    parser.add_argument('-j', '--jobs', type=int, default=1)
    parser.add_argument('--exact', action='store_true',
        help="names are test modules' full dotted names")
    parser.add_argument('--queue',
        help="take the test modules' names from this queue file")
    parser.add_argument('names', nargs='*')
    args = parser.parse_args()

    sys.path.insert(0, ROOT)
    if args.exact:
        names = args.names
    else:
        names = [name for name in test_module_names(args.quick)
            if not args.names or any(n in name for n in args.names)]
    if args.jobs > 1 and len(names) > 1:
        return run_parallel(args, names)
    shard = os.environ.get('HB_TEST_SHARD')
    if shard:
        _tolerate_shared_templates()
    # each HB module's database made on the one below it (tests/dbcache.py)
    from tests import dbcache
    dbcache.install()

    loader = unittest.TestLoader()
    if args.queue:
        suite = QueueSuite(args.queue)
    else:
        suite = unittest.TestSuite()
        for name in names:
            unit = UnitSuite(loader.loadTestsFromName(name))
            unit.name = name
            suite.addTest(unit)

    runner = unittest.TextTestRunner(
        verbosity=args.verbosity, resultclass=TimedResult, buffer=False)
    start = time.monotonic()
    result = runner.run(suite)
    elapsed = time.monotonic() - start

    failed = len(result.failures) + len(result.errors) + len(
        result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - failed - skipped)
    artifacts = os.environ.get('HB_ARTIFACTS')
    if shard and artifacts:
        # for the parent runner (run_parallel)
        with open(os.path.join(artifacts, 'shard-%s.txt' % shard),
                'w') as file:
            file.write('run %d\npassed %d\nfailed %d\nskipped %d\n' % (
                    result.testsRun, passed, failed, skipped))
            for key, seconds in result.class_times.items():
                file.write('class %.1f %s\n' % (seconds, key))
            for key, seconds in UNIT_TIMES.items():
                file.write('unit %.1f %s\n' % (seconds, key))
            # the order the shard ran its test modules in, to run a
            # failure again after the same ones
            file.write('order %s\n' % ' '.join(UNIT_TIMES))
            for test, trace in (result.failures + result.errors):
                file.write('fail %s\n' % test.id())
                file.write('trace %s\n' % json.dumps(trace))
    report(result.class_times, UNIT_TIMES, elapsed, result.testsRun,
        passed, failed, skipped)
    # a process of the queue may find it empty (the parent counts the tests)
    return 1 if failed or not (result.testsRun or args.queue) else 0


if __name__ == '__main__':
    sys.exit(main())
