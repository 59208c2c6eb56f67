# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The throughput of a CSV upload of claims (issue 14): one upload of
--rows rows as POST /provider/claims/upload runs it in its one
transaction: --path bulk (portal_claims.upload_claims, Claim.submit_many,
the default) or --path row (the former path, each row through
Claim.submit: portal_claims.upload_claims_by_row); prints the rows per
second. The target: 10,000 rows in under a minute.

    python -m bench.bench_claims_csv --rows 10000
    python -m bench.bench_claims_csv --rows 1000 --path row

Runs on the database of the test settings (TRYTOND_DATABASE__URI and
DB_NAME, SQLite in memory by default); not part of make test."""
import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def csv_rows(authorisation, product, rows, today):
    lines = ['authorisation;service;date;quantity']
    for index in range(rows):
        date = today - dt.timedelta(days=index % 60)
        quantity = Decimal(1) + Decimal(index // 60) / 100
        lines.append('%d;%d;%s;%s' % (
                authorisation, product, date.isoformat(), quantity))
    return ('\n'.join(lines) + '\n').encode('utf-8')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rows', type=int, default=200)
    parser.add_argument('--path', choices=['bulk', 'row'], default='bulk')
    args = parser.parse_args()
    os.environ.setdefault('TRYTOND_DATABASE__URI', 'sqlite://')
    sys.path.insert(0, ROOT)
    from trytond.modules.company.tests import set_company
    from trytond.pool import Pool
    from trytond.tests.test_tryton import activate_module, with_transaction

    from trytond.modules.hb_voucher.portal_claims import (
        upload_claims,
        upload_claims_by_row,
    )
    from trytond.modules.hb_voucher.tests.test_claim import make_world
    from trytond.modules.hb_voucher.tests.tools import create_wellbeing_area

    upload = upload_claims if args.path == 'bulk' else upload_claims_by_row
    activate_module('hb_voucher')

    @with_transaction()
    def run():
        pool = Pool()
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world(
                amount=Decimal('10000000.00'),
                cap=Decimal('10000000.00'))
            data = csv_rows(authorisation.id, product.id, args.rows,
                Date.today())
            # As a server runs it: the test mode (activate_module sets
            # it) also validates the Function fields of each record
            # written, e.g. computes a budget line's authorised amount on
            # each reservation, which a server never does
            Pool.test = False
            try:
                start = time.perf_counter()
                report = upload(pool, application.party, data)
                elapsed = time.perf_counter() - start
            finally:
                Pool.test = True
        refused = [r for r in report if not r[2]]
        print('claims CSV (%s path): %d rows (%d refused) in %.1f s: '
            '%.0f rows/s' % (args.path, len(report), len(refused), elapsed,
                len(report) / elapsed))
        if refused:
            print('first refusal:', refused[0][3])
    run()


if __name__ == '__main__':
    main()
