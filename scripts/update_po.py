#!/usr/bin/env python3
# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Bring addons/<module>/locale/fi.po up to date with the module's strings.

Activates the module in an in-memory SQLite database, asks Tryton for the
strings it would export for translation and merges them into fi.po: existing
translations are kept, new strings are added with an empty msgstr (fill
them in), strings no longer in the module are dropped.

    .venv/bin/python scripts/update_po.py hb_budget [hb_marketplace ...]
"""
import os
import sys

os.environ.setdefault('TRYTOND_DATABASE__URI', 'sqlite://')
os.environ['DB_NAME'] = ':memory:'

import polib  # noqa: E402
from trytond.tests.test_tryton import (  # noqa: E402
    DB_NAME,
    activate_module,
    drop_db,
)
from trytond.transaction import Transaction  # noqa: E402


def update(module):
    from trytond.modules.hb_budget.tests.tools import (
        module_po_path,
        source_entries,
    )
    activate_module(module)
    with Transaction().start(DB_NAME, 0):
        entries = source_entries(module)
    drop_db()
    path = module_po_path(module)
    old = {}
    if os.path.exists(path):
        for entry in polib.pofile(path):
            old[(entry.msgctxt, entry.msgid)] = entry
    po = polib.POFile(wrapwidth=78)
    po.metadata = {'Content-Type': 'text/plain; charset=utf-8'}
    missing = 0
    for entry in entries:
        previous = old.get((entry.msgctxt, entry.msgid))
        msgstr = previous.msgstr if previous else ''
        missing += not msgstr
        po.append(polib.POEntry(
                msgctxt=entry.msgctxt, msgid=entry.msgid, msgstr=msgstr,
                flags=[f for f in entry.flags if f != 'fuzzy']))
    po.sort()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    po.save(path)
    print('%s: %d strings, %d untranslated' % (path, len(po), missing))
    return missing


if __name__ == '__main__':
    sys.exit(1 if sum(update(m) for m in sys.argv[1:]) else 0)
