#!/usr/bin/env python3
# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Load the demo data of the HB modules into a database (idempotent).

    .venv/bin/python scripts/demo_data.py hb_demo  (TRYTOND_CONFIG set)

Each module may provide a ``demo`` submodule with ``load(config)``; they
are called in dependency order through proteus. Loading twice changes
nothing the second time.
"""
import importlib
import os
import sys
import time

from proteus import config as pconfig

MODULES = ['hb_budget', 'hb_marketplace', 'hb_voucher', 'hb_avain']


def main(database):
    config = pconfig.set_trytond(
        database, config_file=os.environ.get('TRYTOND_CONFIG'))
    for module in MODULES:
        try:
            demo = importlib.import_module('trytond.modules.%s.demo' % module)
        except ModuleNotFoundError as exception:
            if exception.name != 'trytond.modules.%s.demo' % module:
                raise
            continue
        start = time.monotonic()
        print('    %s ...' % module, end=' ', flush=True)
        demo.load(config)
        print('%.1f s' % (time.monotonic() - start), flush=True)


if __name__ == '__main__':
    main(sys.argv[1])
