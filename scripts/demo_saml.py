#!/usr/bin/env python3
# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Write the fictitious people of the demo's local identity provider
(HB_STRONG_LOGIN=1 make demo): the first demo clients and the persons
representing them, with the mandates to act for them.

    .venv/bin/python scripts/demo_saml.py DATABASE FOLDER
"""
import json
import os
import sys

from trytond.pool import Pool
from trytond.transaction import Transaction


def main(database, folder):
    Pool.start()
    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0, readonly=True):
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        clients = Party.search([
                ('hb_client', '=', True),
                ('hb_hetu', '!=', None),
                ], order=[('id', 'ASC')], limit=5)
        people = [{'hetu': c.hb_hetu, 'name': c.name} for c in clients]
        mandates = {}
        for representative in Representative.search([
                    ('party.hb_hetu', '!=', None),
                    ('client.hb_hetu', '!=', None),
                    ], limit=5):
            person = representative.party
            people.append({'hetu': person.hb_hetu, 'name': person.name})
            mandates.setdefault(person.hb_hetu, []).append(
                representative.client.hb_hetu)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'people.json'), 'w') as file:
        json.dump(people, file, ensure_ascii=False, indent=1)
    with open(os.path.join(folder, 'mandates.json'), 'w') as file:
        json.dump({'persons': mandates, 'companies': {}}, file, indent=1)
    print('    %d fictitious people for the local identity provider'
        % len(people))


if __name__ == '__main__':
    main(*sys.argv[1:3])
