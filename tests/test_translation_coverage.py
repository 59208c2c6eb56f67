# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Finnish everywhere an HB user looks in the desktop/web client.

Activates the four HB modules, loads Finnish as ``trytond-admin -l fi`` does
(each module's locale/fi.po and locale/override/fi.po, in dependency order:
HB's overrides of Tryton's own strings come last) and runs
scripts/translation_coverage.py for each demo role and admin (on the menus no
role sees): at least 98 %
of the labels of the menus and views each role opens must be in Finnish."""
import importlib.util
import io
import os
import unittest

from trytond.tests.test_tryton import (
    activate_module,
    drop_db,
    with_transaction,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MINIMUM = 98.0


def coverage_script():
    spec = importlib.util.spec_from_file_location('translation_coverage',
        os.path.join(ROOT, 'scripts', 'translation_coverage.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_language(code):
    "Make code translatable and load every activated module's po files"
    from trytond.modules import create_graph, load_translations
    from trytond.pool import Pool
    pool = Pool()
    Lang = pool.get('ir.lang')
    Module = pool.get('ir.module')
    lang, = Lang.search([('code', '=', code)])
    lang.translatable = True
    lang.save()
    modules = {m.name for m in Module.search([('state', '=', 'activated')])}
    for node in create_graph(modules):
        load_translations(pool, node, [code])


class TranslationCoverageTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # (hb_avain depends on the other three: their database)
        activate_module(['hb_avain'])

    @classmethod
    def tearDownClass(cls):
        # as trytond's own test cases do: the next test class in this
        # process starts from no database
        drop_db()

    @with_transaction()
    def test_finnish_coverage_per_role(self):
        """HB's override files replace Tryton's own Finnish where it had
        none, and each role sees at least 98 % of its labels in Finnish"""
        load_language('fi')
        self.check_override()
        self.check_coverage()

    def check_override(self):
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        pool = Pool()
        Menu = pool.get('ir.ui.menu')
        Translation = pool.get('ir.translation')
        ModelData = pool.get('ir.model.data')
        menu = Menu(ModelData.get_id('party', 'menu_party'))
        with Transaction().set_context(language='fi'):
            self.assertEqual(Menu(menu.id).name, "Osapuolet")
        translation, = Translation.search([
                ('lang', '=', 'fi'), ('type', '=', 'model'),
                ('name', '=', 'ir.ui.menu,name'), ('res_id', '=', menu.id),
                ])
        self.assertEqual(translation.module, 'party')
        self.assertEqual(translation.overriding_module, 'hb_budget')

    def check_coverage(self):
        script = coverage_script()
        result = script.measure(script.role_users(), 'fi')
        out = io.StringIO()
        lowest = script.report(result, MINIMUM, out=out)
        roles = {role for role, *_ in result.values()}
        self.assertTrue({'admin', 'own_worker', 'supervisor',
                'service_manager', 'finance', 'pilot_admin'} <= roles, roles)
        for login, (role, total, _, _) in result.items():
            self.assertGreater(total, 100, (role, login))
        self.assertGreaterEqual(lowest, MINIMUM, out.getvalue())
