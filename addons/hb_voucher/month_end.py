# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The month-end report of captured-but-unbilled charges (issue 18, item
7): the balance of the clearing account "HB charges to be billed" at a
date explained per provider, tied to the general ledger to the cent.

At the date, a charge is in the clearing account when its sale's move is
posted and dated on or before the date and it is not on a bill whose move
is posted and dated on or before the date. Their sum per provider and in
all is compared with the clearing account's balance of posted moves up to
the date, read through account.account's balance (context date, posted);
the difference must be zero."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateView, Wizard

ZERO = Decimal('0.00')


class UnbilledStart(ModelView):
    __name__ = 'hb.charge.unbilled.start'
    __string__ = "Captured, Unbilled Charges"

    date = fields.Date("Date", required=True,
        help="The charges in the clearing account at the end of this day.")

    @classmethod
    def default_date(cls):
        "The last day of the previous month"
        today = Pool().get('ir.date').today()
        return today.replace(day=1) - dt.timedelta(days=1)


class UnbilledLine(ModelView):
    __name__ = 'hb.charge.unbilled.line'
    __string__ = "Captured, Unbilled Charges of a Provider"

    provider = fields.Many2One('party.party', "Provider", readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", readonly=True)
    charges = fields.Integer("Charges", readonly=True)
    first_date = fields.Date("First Date", readonly=True)
    last_date = fields.Date("Last Date", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)


class Unbilled(ModelView):
    __name__ = 'hb.charge.unbilled'
    __string__ = "Captured, Unbilled Charges"

    date = fields.Date("Date", readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", readonly=True)
    account = fields.Many2One(
        'account.account', "Clearing Account", readonly=True)
    lines = fields.One2Many(
        'hb.charge.unbilled.line', None, "Providers", readonly=True)
    total = Monetary(
        "Unbilled Charges", currency='currency', digits='currency',
        readonly=True)
    clearing_balance = Monetary(
        "Clearing Account Balance", currency='currency', digits='currency',
        readonly=True,
        help="The credit balance of the posted moves up to the date.")
    difference = Monetary(
        "Difference", currency='currency', digits='currency', readonly=True,
        help="The clearing account's balance less the unbilled charges: "
        "zero when the general ledger ties.")
    tied = fields.Boolean("Ties to the General Ledger", readonly=True)

    @classmethod
    def _unbilled_domain(cls, date):
        "The domain of the charges in the clearing account at date"
        return [
            ('company', '=', Transaction().context.get('company')),
            ('state', 'in', ['captured', 'cancelled']),
            ('sale.move.state', '=', 'posted'),
            ('sale.move.date', '<=', date),
            ['OR',
                ('invoice_line', '=', None),
                ('invoice_line.invoice.move', '=', None),
                ('invoice_line.invoice.move.state', '!=', 'posted'),
                ('invoice_line.invoice.move.date', '>', date),
                ],
            ]

    @classmethod
    def unbilled(cls, date):
        """Return the captured charges not billed at the end of date in
        the company of the context, per provider, with the clearing
        account's balance of posted moves up to date: a dict of date,
        currency, account, lines (provider, charges, first_date,
        last_date, amount), total, clearing_balance, difference, tied"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Company = pool.get('company.company')
        Account = pool.get('account.account')
        Configuration = pool.get('hb.configuration')
        company = Company(Transaction().context['company'])
        account = Configuration(1).get_multivalue(
            'hb_clearing_account', company=company.id)
        by_provider = defaultdict(list)
        for charge in Charge.search(cls._unbilled_domain(date),
                order=[('provider', 'ASC'), ('date', 'ASC'), ('id', 'ASC')]):
            by_provider[charge.provider].append(charge)
        lines = []
        for provider, charges in sorted(
                by_provider.items(), key=lambda i: i[0].rec_name):
            lines.append({
                    'provider': provider.id,
                    'currency': company.currency.id,
                    'charges': len(charges),
                    'first_date': min(c.date for c in charges),
                    'last_date': max(c.date for c in charges),
                    'amount': sum((c.amount for c in charges), ZERO),
                    })
        total = sum((line['amount'] for line in lines), ZERO)
        balance = ZERO
        if account:
            # the general ledger's balance, which the finance group reads
            # in this report without access to the chart of accounts
            with without_check_access(), Transaction().set_context(
                    company=company.id, date=date, posted=True):
                # + ZERO: no -0.00 on the form
                balance = -Account(account.id).balance + ZERO
        difference = company.currency.round(balance - total) + ZERO
        return {
            'date': date,
            'currency': company.currency.id,
            'account': account.id if account else None,
            'lines': lines,
            'total': total,
            'clearing_balance': balance,
            'difference': difference,
            'tied': not difference,
            }


class UnbilledReport(Wizard):
    __name__ = 'hb.charge.unbilled.report'
    __string__ = "Captured, Unbilled Charges"
    start = StateView('hb.charge.unbilled.start',
        'hb_voucher.charge_unbilled_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Show", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('hb.charge.unbilled',
        'hb_voucher.charge_unbilled_view_form', [
            Button("Change Date", 'start', 'tryton-back'),
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        if getattr(self.start, 'date', None):
            return {'date': self.start.date}
        return {}

    def default_result(self, fields):
        pool = Pool()
        Unbilled = pool.get('hb.charge.unbilled')
        return Unbilled.unbilled(self.start.date)
