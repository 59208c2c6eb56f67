# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Run every test of the HB modules and of tests/, then print the totals.

    python -m tests.runner [--quick] [NAME ...]

Loads each module's tests/test_*.py through unittest's loader, which
honours ``load_tests`` (so the .rst scenarios really run, unlike plain
pytest), then the test_*.py files of this folder. --quick leaves out the
slow ones: test_browser*.py (a browser and a served web client) and
test_demo*.py (the demo command).
NAME limits the run to test modules whose dotted name contains NAME.
The last line is "N passed, N failed, N skipped"; the exit code is 1 on
any failure or error, or when no test ran.
"""
import argparse
import glob
import os
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ['hb_budget', 'hb_marketplace', 'hb_voucher', 'hb_avain']


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('-v', '--verbosity', type=int, default=2)
    parser.add_argument('names', nargs='*')
    args = parser.parse_args()

    sys.path.insert(0, ROOT)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in test_module_names(args.quick):
        if args.names and not any(n in name for n in args.names):
            continue
        suite.addTests(loader.loadTestsFromName(name))

    runner = unittest.TextTestRunner(
        verbosity=args.verbosity, resultclass=TimedResult, buffer=False)
    start = time.monotonic()
    result = runner.run(suite)
    elapsed = time.monotonic() - start

    times = sorted(result.class_times.items(), key=lambda i: -i[1])
    print('\nSlowest test classes (with their set-up):')
    for key, seconds in times[:15]:
        print('  %7.1f s  %s' % (seconds, key))
    artifacts = os.environ.get('HB_ARTIFACTS')
    if artifacts and os.path.isdir(artifacts):
        with open(os.path.join(artifacts, 'test-times.txt'), 'w') as file:
            for key, seconds in times:
                file.write('%7.1f s  %s\n' % (seconds, key))
    failed = len(result.failures) + len(result.errors) + len(
        result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - failed - skipped)
    print('\nRan %d tests in %.1f s' % (result.testsRun, elapsed))
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or not result.testsRun else 0


if __name__ == '__main__':
    sys.exit(main())
