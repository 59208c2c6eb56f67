# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"Helpers shared by the test suites of the HB modules."
import functools
import importlib
import os

import polib
from trytond.pool import Pool
from trytond.tests import test_tryton

# The tables that Tryton's accounting and HB lock in the middle of a
# transaction (Model.lock(): the accounting configuration when a sequence is
# taken, the journal periods when a move is posted, HB's settings). trytond
# 8 then restarts the transaction with the lock taken from its start; in a
# test that reruns the whole test function, its set-up included (a test of
# the payment run ran four times). Locked first, the restarts cost nothing.
PRELOCKED = [
    'account.configuration', 'account.journal.period', 'hb.configuration']


def prelock():
    "Lock the tables of PRELOCKED whose models the pool has (see above)"
    pool = Pool()
    for name in PRELOCKED:
        try:
            Model = pool.get(name)
        except KeyError:
            continue
        Model.lock()


def with_transaction(user=1, context=None):
    """trytond's with_transaction, the tables of PRELOCKED locked at the
    start of the test's transaction"""
    def decorator(func):
        @functools.wraps(func)
        def prelocked(*args, **kwargs):
            prelock()
            return func(*args, **kwargs)
        return test_tryton.with_transaction(
            user=user, context=context)(prelocked)
    return decorator


def module_po_path(module, lang='fi'):
    package = importlib.import_module('trytond.modules.%s' % module)
    return os.path.join(
        os.path.dirname(package.__file__), 'locale', '%s.po' % lang)


def source_entries(module):
    """Return the POEntry list Tryton would export for translating module.

    Runs Tryton's own "Set Translations" step (which extracts the strings
    of views and reports) and exports the English sources, so the entries
    carry the same context (msgctxt) as Tryton's import expects.
    Must run inside a transaction."""
    pool = Pool()
    Translation = pool.get('ir.translation')
    TranslationSet = pool.get('ir.translation.set', type='wizard')
    session_id, _, _ = TranslationSet.create()
    try:
        wizard = TranslationSet(session_id)
        wizard.set_report()
        wizard.set_view()
    finally:
        TranslationSet.delete(session_id)
    content = Translation.translation_export('en', module)
    if not content:
        return []
    return [e for e in polib.pofile(content.decode('utf-8'))
        if e.msgid.strip()]


def missing_translations(module, lang='fi'):
    "Return the (msgctxt, msgid) of module's strings not translated in lang"
    path = module_po_path(module, lang)
    translated = set()
    if os.path.exists(path):
        for entry in polib.pofile(path):
            if entry.msgstr and not entry.obsolete and not entry.fuzzy:
                translated.add((entry.msgctxt, entry.msgid))
    return [(e.msgctxt, e.msgid) for e in source_entries(module)
        if (e.msgctxt, e.msgid) not in translated]


def sao_unsupported_list_fields(module):
    """Return the (view, field) of module's list views whose field is a
    datetime or timestamp shown without a widget"""
    from lxml import etree
    pool = Pool()
    View = pool.get('ir.ui.view')
    wrong = []
    for view in View.search([
                ('module', '=', module), ('type', '=', 'tree')]):
        Model = pool.get(view.model)
        for element in etree.fromstring(view.arch).iter('field'):
            field = Model._fields.get(element.get('name'))
            if field is None or element.get('widget'):
                continue
            if getattr(field, '_field', field)._type in {
                    'datetime', 'timestamp'}:
                wrong.append((view.rec_name, element.get('name')))
    return wrong


class TranslationTestMixin:
    "Check that locale/fi.po translates every string of the module."

    @with_transaction()
    def test_list_views_sao_widgets(self):
        """Date-time fields in list views have a date or time widget: the
        web client (sao) has no list column for them otherwise"""
        wrong = sao_unsupported_list_fields(self.module)
        self.assertFalse(wrong, "list view fields sao cannot show "
            "(add widget=\"date\" and widget=\"time\"):\n%s" % (
                '\n'.join('%s %s' % w for w in wrong)))

    @with_transaction()
    def test_finnish_translation_complete(self):
        "Every translatable string of the module has a Finnish translation"
        missing = missing_translations(self.module)
        self.assertFalse(missing,
            "%d strings lack a Finnish translation in %s/locale/fi.po "
            "(run scripts/update-po %s):\n%s" % (
                len(missing), self.module, self.module,
                '\n'.join('%s %r' % m for m in missing)))


HETU_CHECK = '0123456789ABCDEFHJKLMNPRSTUVWXY'


def temporary_hetu(day=1, month=1, year=1980, individual=900):
    """Return a valid temporary HETU (individual number 900-999):
    such codes are never issued to real people"""
    assert 900 <= individual <= 999
    if 1800 <= year < 1900:
        sign = '+'
    elif 1900 <= year < 2000:
        sign = '-'
    else:
        sign = 'A'
    digits = '%02d%02d%02d%03d' % (day, month, year % 100, individual)
    return '%02d%02d%02d%s%03d%s' % (
        day, month, year % 100, sign, individual,
        HETU_CHECK[int(digits) % 31])
