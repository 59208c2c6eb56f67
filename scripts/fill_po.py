#!/usr/bin/env python3
# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Fill empty msgstr in a fi.po from a tab-separated glossary.

    scripts/fill_po.py addons/hb_budget/locale/fi.po < glossary.tsv

Each glossary line is "English<TAB>Finnish", or
"msgctxt<TAB>English<TAB>Finnish" to translate one context only.
Only empty translations are filled; untranslated strings are listed.
"""
import sys

import polib


def main(path):
    by_id, by_ctxt = {}, {}
    for line in sys.stdin:
        parts = line.rstrip('\n').split('\t')
        if len(parts) == 2:
            by_id[parts[0]] = parts[1]
        elif len(parts) == 3:
            by_ctxt[(parts[0], parts[1])] = parts[2]
    po = polib.pofile(path, wrapwidth=78)
    left = []
    for entry in po:
        if entry.msgstr:
            continue
        entry.msgstr = by_ctxt.get(
            (entry.msgctxt, entry.msgid), by_id.get(entry.msgid, ''))
        if not entry.msgstr:
            left.append(entry.msgid)
    po.save(path)
    for msgid in sorted(set(left)):
        print('untranslated: %r' % msgid)
    return 1 if left else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
