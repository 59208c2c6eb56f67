# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The reconciliation of the money path: what was captured, refunded,
billed and paid, and the checks that the clearing account, the budgets and
their analytic accounts agree with the charges."""
from collections import defaultdict
from decimal import Decimal

from sql.aggregate import Sum
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateView, Wizard

from trytond.modules.hb_budget.budget import round_sum

ZERO = Decimal('0.00')


class ReconciliationStart(ModelView):
    __name__ = 'hb.charge.reconciliation.start'
    __string__ = "Reconcile Charges"

    start_date = fields.Date("Start Date")
    end_date = fields.Date("End Date")


class Reconciliation(ModelView):
    __name__ = 'hb.charge.reconciliation'
    __string__ = "Charge Reconciliation"

    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    start_date = fields.Date("Start Date", readonly=True)
    end_date = fields.Date("End Date", readonly=True)
    captured = Monetary(
        "Captured", currency='currency', digits='currency', readonly=True)
    refunded = Monetary(
        "Refunded", currency='currency', digits='currency', readonly=True)
    billed = Monetary(
        "Billed", currency='currency', digits='currency', readonly=True)
    unbilled = Monetary(
        "Unbilled", currency='currency', digits='currency', readonly=True)
    paid = Monetary(
        "Paid", currency='currency', digits='currency', readonly=True)
    not_posted = Monetary(
        "Captured, Not Yet Posted", currency='currency', digits='currency',
        readonly=True)
    clearing_balance = Monetary(
        "Clearing Account Balance", currency='currency', digits='currency',
        readonly=True)
    clearing_expected = Monetary(
        "Posted Charges Not on a Posted Bill", currency='currency',
        digits='currency', readonly=True)
    check_clearing = fields.Boolean(
        "Clearing Balance = Unbilled Charges", readonly=True)
    check_spent = fields.Boolean(
        "Budget Spent = Captured − Refunded", readonly=True)
    check_analytic = fields.Boolean(
        "Analytic Balance = Spent", readonly=True)
    mismatches = fields.Text("Mismatches", size=1000000, readonly=True)

    @classmethod
    def reconcile(cls, start_date=None, end_date=None):
        """Return the reconciliation of charges: figures of the period and
        the checks of the whole money path (with their mismatches)"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Budget = pool.get('hb.budget')
        MoveLine = pool.get('account.move.line')
        Move = pool.get('account.move')
        config = pool.get('hb.configuration')(1)
        domain = [
            ('state', 'in', ['captured', 'cancelled']),
            ('captured_at', '!=', None),
            ]
        period = list(domain)
        if start_date:
            period.append(('date', '>=', start_date))
        if end_date:
            period.append(('date', '<=', end_date))
        figures = defaultdict(lambda: ZERO)
        for charge in Charge.search(period):
            amount = charge.amount
            if charge.kind == 'charge':
                figures['captured'] += amount
            else:
                figures['refunded'] -= amount
            if not charge.posted:
                figures['not_posted'] += amount
            invoice = charge.invoice
            if charge.invoice_line:
                figures['billed'] += amount
                if invoice.state == 'paid':
                    figures['paid'] += amount
            else:
                figures['unbilled'] += amount

        checks, mismatches = {}, []
        # 1. The clearing account holds the posted charges not yet on a
        # posted vendor bill
        charges = Charge.search(domain)
        expected = sum((c.amount for c in charges if c.posted and not (
                        c.invoice_line
                        and c.invoice.state in {'posted', 'paid'})),
            ZERO)
        clearing = ZERO
        if config.hb_clearing_account:
            line = MoveLine.__table__()
            move = Move.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*line.join(move,
                    condition=line.move == move.id).select(
                    Sum(line.credit - line.debit),
                    where=(line.account == config.hb_clearing_account.id)
                    & (move.state == 'posted')))
            value, = cursor.fetchone()
            clearing = round_sum(value)  # SQLite sums as floats
        checks['clearing'] = clearing == expected
        if not checks['clearing']:
            mismatches.append(gettext('hb_voucher.msg_reconcile_clearing',
                    balance=clearing, expected=expected))

        # 2. and 3. per budget
        by_budget = defaultdict(lambda: [ZERO, ZERO])
        for charge in charges:
            by_budget[charge.budget][0] += charge.amount
            if charge.posted:
                by_budget[charge.budget][1] += charge.amount
        checks['spent'] = checks['analytic'] = True
        with without_check_access():
            budgets = Budget.search([])
        for budget in budgets:
            captured, posted = by_budget.get(budget, (ZERO, ZERO))
            if budget.spent != captured:
                checks['spent'] = False
                mismatches.append(gettext('hb_voucher.msg_reconcile_spent',
                        budget=budget.rec_name, spent=budget.spent,
                        expected=captured))
            if budget.analytic_account:
                balance = -budget.analytic_account.balance
                if balance != posted:
                    checks['analytic'] = False
                    mismatches.append(gettext(
                            'hb_voucher.msg_reconcile_analytic',
                            budget=budget.rec_name, balance=balance,
                            expected=posted))
        return {
            'captured': figures['captured'],
            'refunded': figures['refunded'],
            'billed': figures['billed'],
            'unbilled': figures['unbilled'],
            'paid': figures['paid'],
            'not_posted': figures['not_posted'],
            'clearing_balance': clearing,
            'clearing_expected': expected,
            'checks': checks,
            'mismatches': mismatches,
            }


class Reconcile(Wizard):
    __name__ = 'hb.charge.reconcile'
    __string__ = "Reconcile Charges"
    start = StateView('hb.charge.reconciliation.start',
        'hb_voucher.charge_reconciliation_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reconcile", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('hb.charge.reconciliation',
        'hb_voucher.charge_reconciliation_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        pool = Pool()
        Reconciliation = pool.get('hb.charge.reconciliation')
        Company = pool.get('company.company')
        result = Reconciliation.reconcile(
            self.start.start_date, self.start.end_date)
        company = Transaction().context.get('company')
        values = {k: v for k, v in result.items()
            if k not in {'checks', 'mismatches'}}
        values.update({
                'currency': (Company(company).currency.id
                    if company else None),
                'start_date': self.start.start_date,
                'end_date': self.start.end_date,
                'check_clearing': result['checks']['clearing'],
                'check_spent': result['checks']['spent'],
                'check_analytic': result['checks']['analytic'],
                'mismatches': '\n'.join(result['mismatches']),
                })
        return values
