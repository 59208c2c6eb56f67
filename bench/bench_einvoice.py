# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The time to make the UBL e-invoice of a self-billed bill (issue 18,
item 3; einvoice.py): a posted self-billed bill of --lines lines (a
month of services: one line per service and day, as billing groups the
charges) is rendered --repeat times; prints the milliseconds per
document and its size. Posting a self-billed bill renders it once (the
attachment).

    python -m bench.bench_einvoice --lines 10 100 1000

Runs on the database of the test settings (TRYTOND_DATABASE__URI and
DB_NAME, SQLite in memory by default); not part of make test."""
import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--lines', type=int, nargs='+', default=[10, 100])
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault('TRYTOND_DATABASE__URI', 'sqlite://')
    sys.path.insert(0, ROOT)
    from trytond.modules.company.tests import set_company
    from trytond.pool import Pool
    from trytond.tests.test_tryton import activate_module, with_transaction
    from trytond.transaction import Transaction

    from trytond.modules.hb_voucher.tests.finance_tools import (
        require_self_billing,
        setup_vat,
    )
    from trytond.modules.hb_voucher.tests.test_einvoice import (
        set_unece_codes,
        setup_area,
    )
    from trytond.modules.hb_voucher.tests.tools import (
        create_provider_with_service,
        create_wellbeing_area,
        setup_hb,
    )

    activate_module('hb_voucher')

    @with_transaction()
    def run():
        pool = Pool()
        Billing = pool.get('hb.billing')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Configuration = pool.get('hb.configuration')
        Date = pool.get('ir.date')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            setup_area()
            taxes = setup_vat(data)
            set_unece_codes(taxes)
            require_self_billing('2026-1')
            provider = create_provider_with_service(data).party
            config = Configuration(1)
            company = data['company']
            today = Date.today()
            for count in args.lines:
                start = today - dt.timedelta(days=30)
                invoice = Billing._get_vendor_bill_header(company, provider,
                    start, start, today, today)
                invoice.lines = [InvoiceLine(
                        company=company, type='line',
                        currency=company.currency,
                        account=config.hb_clearing_account,
                        quantity=float(1 + index % 3),
                        taxes=[taxes['general']],
                        unit_price=Decimal('27.8884'),
                        description='%s Kotisiivous %d' % (
                            (start + dt.timedelta(days=index % 30))
                            .isoformat(), index))
                    for index in range(count)]
                invoice.save()
                Invoice.update_taxes([invoice])
                begin = time.perf_counter()
                with Transaction().set_context(_skip_warnings=True):
                    Invoice.post([invoice])
                posted = time.perf_counter() - begin
                assert invoice.hb_einvoice_attachment()
                times = []
                for _ in range(args.repeat):
                    invoice = Invoice(invoice.id)
                    begin = time.perf_counter()
                    data_, _ = invoice.hb_einvoice()
                    times.append(time.perf_counter() - begin)
                print('%5d lines: UBL %7.1f ms (best of %d), %7d bytes; '
                    'post with the attachment %7.1f ms' % (
                        count, min(times) * 1000, args.repeat, len(data_),
                        posted * 1000))
    run()


if __name__ == '__main__':
    main()
