# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The layered test databases (tests/dbcache.py): which database each is
made on, and the lock that keeps two processes from making one twice
without making a process wait for itself."""
import multiprocessing
import os
import tempfile
import time
import unittest
from unittest import mock

from tests import dbcache


def _hold(name, started, path):
    with dbcache._locked(name):
        started.set()
        time.sleep(0.5)
        with open(path, 'a') as file:
            file.write('first\n')


class DbCacheTestCase(unittest.TestCase):

    def test_base_of_each_module(self):
        "Each HB module starts from the database of the one below it"
        self.assertIsNone(dbcache._base(['hb_budget']))
        self.assertEqual(dbcache._base(['hb_marketplace']), 'hb_budget')
        self.assertEqual(dbcache._base(['hb_voucher']), 'hb_marketplace')
        self.assertEqual(dbcache._base(['hb_avain']), 'hb_voucher')
        self.assertEqual(dbcache._base(['hb_budget', 'hb_avain']),
            'hb_voucher')
        # another module than HB's: trytond's own way, from nothing
        self.assertIsNone(dbcache._base(['hb_voucher', 'sale_point']))

    def test_lock_is_taken_again_by_its_holder(self):
        "activate_modules('hb_avain') takes the lock activate_module takes"
        with tempfile.TemporaryDirectory() as folder, \
                mock.patch.object(dbcache.tempfile, 'gettempdir',
                    return_value=folder):
            with dbcache._locked('hb_avain'):
                with dbcache._locked('hb_avain'):
                    self.assertIn('hb_avain', dbcache._held)
            self.assertNotIn('hb_avain', dbcache._held)

    def test_lock_excludes_another_process(self):
        "A second process waits until the first one has made the database"
        with tempfile.TemporaryDirectory() as folder, \
                mock.patch.object(dbcache.tempfile, 'gettempdir',
                    return_value=folder):
            path = os.path.join(folder, 'order')
            context = multiprocessing.get_context('fork')
            started = context.Event()
            process = context.Process(target=_hold,
                args=('hb_voucher', started, path))
            process.start()
            self.assertTrue(started.wait(30))
            with dbcache._locked('hb_voucher'):
                with open(path, 'a') as file:
                    file.write('second\n')
            process.join(30)
            with open(path) as file:
                self.assertEqual(file.read().split(), ['first', 'second'])

    def test_scenario_after_a_class_that_left_its_database_open(self):
        """A scenario's activate_modules restores its database even when a
        test class before it in the process left the database with open
        connections (CI: the claims scenario after the translation coverage
        failed with 'database is being accessed by other users')"""
        from trytond.tests import test_tryton, tools
        from trytond.tests.test_tryton import DB_NAME
        from trytond.transaction import Transaction

        # what tests.runner does before importing the test modules
        dbcache.install()
        self.addCleanup(test_tryton.drop_db)
        test_tryton.activate_module(['hb_budget'])
        # a test class's transaction leaves its connection in the pool
        with Transaction().start(DB_NAME, 0):
            pass
        tools.activate_modules('hb_budget')
        with Transaction().start(DB_NAME, 0) as transaction:
            cursor = transaction.connection.cursor()
            cursor.execute("SELECT state FROM ir_module "
                "WHERE name = 'hb_budget'")
            self.assertEqual(cursor.fetchone(), ('activated',))
