# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The SEPA payment of the vendor bills (hb.payment.run.pay_vendor_bills)
and its runs: what each run paid and what it skipped (and why), the
amounts providers owe back, and the SEPA character set of the pain.001
files."""
import string
import unicodedata
from decimal import Decimal
from itertools import groupby

from genshi.core import END, START, TEXT
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import BillingError

ZERO = Decimal('0.00')

# The SEPA (EPC) basic Latin character set
SEPA_CHARACTERS = frozenset(
    string.ascii_letters + string.digits + "/-?:().,'+ ")
SEPA_REPLACEMENTS = {
    'ß': 'ss', 'Æ': 'AE', 'æ': 'ae', 'Ø': 'O', 'ø': 'o', 'Œ': 'OE',
    'œ': 'oe', 'Þ': 'TH', 'þ': 'th', 'Ð': 'D', 'ð': 'd', 'Đ': 'D',
    'đ': 'd', 'Ł': 'L', 'ł': 'l', 'ı': 'i',
    '&': '+', '_': '-', '‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-',
    '―': '-', '−': '-', '=': '-', '~': '-',
    '"': "'", '`': "'", '´': "'", '‘': "'", '’': "'", '‚': "'", '‛': "'",
    '“': "'", '”': "'", '„': "'", '«': "'", '»': "'", '‹': "'", '›': "'",
    '[': '(', ']': ')', '{': '(', '}': ')', '<': '(', '>': ')',
    ';': ',', '!': '.', '|': '/', '\\': '/', '#': '', '*': '',
    '@': '(at)', '€': 'EUR', '%': ' pct', '§': '',
    }
# The longest text of the elements (EPC implementation guidelines)
SEPA_LENGTHS = {
    'Nm': 70, 'Ustrd': 140, 'StrtNm': 70, 'BldgNb': 16, 'PstCd': 16,
    'TwnNm': 35, 'CtrySubDvsn': 35, 'AdrLine': 70,
    }


def sepa_text(text):
    """Return text in the SEPA character set: letters with diacritics
    without them (å ä ö → a a o), dashes and quotes as - and ', other
    signs by their nearest allowed one, anything else as ."""
    result = []
    for char in text:
        if char in SEPA_CHARACTERS:
            result.append(char)
        elif char in SEPA_REPLACEMENTS:
            result.append(SEPA_REPLACEMENTS[char])
        elif unicodedata.category(char)[0] in {'Z', 'C'}:
            result.append(' ')
        else:
            plain = ''.join(c for c in unicodedata.normalize('NFKD', char)
                if c in SEPA_CHARACTERS)
            result.append(plain or '.')
    return ' '.join(''.join(result).split())


def sepa_filter(stream):
    """A Genshi filter restricting the text of every element to the SEPA
    character set, within the element's length"""
    names = []
    for kind, data, pos in stream:
        if kind is START:
            names.append(data[0].localname)
        elif kind is END:
            if names:
                names.pop()
        elif kind is TEXT and data.strip():
            text = sepa_text(data)
            length = SEPA_LENGTHS.get(names[-1]) if names else None
            if length:
                text = text[:length].rstrip()
            data = text
        yield kind, data, pos


class _SEPATemplate:
    "A template generating its stream through sepa_filter"

    def __init__(self, template):
        self._template = template

    def generate(self, *args, **kwargs):
        return self._template.generate(*args, **kwargs).filter(sepa_filter)


class PaymentGroup(metaclass=PoolMeta):
    __name__ = 'account.payment.group'

    def get_sepa_template(self):
        template = super().get_sepa_template()
        if template is not None:
            template = _SEPATemplate(template)
        return template


class PaymentRun(ModelSQL, ModelView):
    __name__ = 'hb.payment.run'
    __string__ = "Provider Payment Run"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    group = fields.Many2One(
        'account.payment.group', "Payment Group", readonly=True,
        help="The payments of the run and their SEPA file.")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    payment_count = fields.Integer("Payments", readonly=True)
    amount_paid = Monetary(
        "Amount Paid", currency='currency', digits='currency',
        readonly=True)
    skipped = fields.One2Many(
        'hb.payment.run.skip', 'run', "Skipped", readonly=True,
        help="The providers not paid by the run, and why.")
    skipped_count = fields.Function(
        fields.Integer("Skipped"), 'get_skipped_count')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))

    def get_currency(self, name):
        return self.company.currency.id

    def get_skipped_count(self, name):
        return len(self.skipped)

    @classmethod
    def owed_back(cls, company=None):
        """Return the open payable lines of HB bills (or of their netting)
        by which providers owe money back: nothing left to net them
        against, they are to be collected"""
        if company is None:
            company = Transaction().context.get('company')
        return [line for line in cls._hb_payable_lines(company)
            if line.debit - line.credit > 0]


    @classmethod
    def pay_vendor_bills(cls, date=None):
        """Pay by SEPA credit transfer what each provider is owed by its
        posted HB vendor bills due on date (today), net of what it owes
        back, to its verified IBAN; record the run (hb.payment.run) with
        the providers skipped and why; return the payment group (None
        when nothing is paid).

        A provider's credits (a bill below zero, a refund billed after its
        charges) are grouped with its bills to pay (Tryton's grouping of
        move lines) and the net paid; a provider owing more than it is
        owed is skipped: its open balance is listed for collection
        (hb.payment.run.owed_back)."""
        pool = Pool()
        Date = pool.get('ir.date')
        Payment = pool.get('account.payment')
        Run = pool.get('hb.payment.run')
        Skip = pool.get('hb.payment.run.skip')
        config = pool.get('hb.configuration')(1)
        if date is None:
            date = Date.today()
        journal = config.hb_payment_journal
        if not journal:
            raise BillingError(gettext(
                    'hb_voucher.msg_billing_not_configured'))
        if not (journal.clearing_account and journal.clearing_journal):
            raise BillingError(gettext(
                    'hb_voucher.msg_payment_clearing_missing',
                    journal=journal.rec_name))
        company = journal.company
        lines = [line for line in cls._hb_payable_lines(company.id)
            if not line.payment_blocked
            and not any(p.state != 'failed' for p in line.payments)
            and (line.debit - line.credit > 0
                or not line.maturity_date or line.maturity_date <= date)]
        payments, skips = [], []
        # The bills the provider objected to wait for finance's clearance
        # and the bills of a provider whose contract is suspended
        held = cls._hold_reasons(lines)
        for line in lines:
            if reason := held.get(line):
                skips.append(Skip(party=line.party,
                        amount=line.credit - line.debit, reason=reason))
        lines = [line for line in lines if line not in held]
        lines.sort(key=lambda line: (line.party.id, line.id))
        for party, party_lines in groupby(
                lines, key=lambda line: line.party):
            party_lines = list(party_lines)
            balance = sum(
                (line.credit - line.debit for line in party_lines), ZERO)
            number = party.hb_iban_number
            reason = None
            if balance < 0:
                reason = 'owed'
            elif balance > 0 and not number:
                reason = 'no_account'
            elif balance > 0 and not number.account.bank:
                reason = 'no_bank'
            elif 0 < balance < (config.hb_minimum_payout or 0):
                # carried forward: the lines stay open for the next run
                reason = 'below_minimum'
            if reason:
                skips.append(Skip(party=party, amount=balance, reason=reason))
            if (len(party_lines) > 1
                    and any(line.debit - line.credit > 0
                        for line in party_lines)
                    and any(line.credit - line.debit > 0
                        for line in party_lines)):
                # Net the credits against the bills to pay
                line = cls._group_payable_lines(party_lines, date)
                party_lines = [line] if line else []
            if reason:
                continue
            for line in party_lines:
                payments.append(Payment(
                        company=company, journal=journal,
                        kind='payable', party=party, line=line,
                        amount=line.payment_amount, date=date,
                        sepa_payable_bank_account_number=number,
                        reference=cls._payment_reference(line),
                        state='approved'))
        group = None
        if payments:
            cls._prepare_payments(payments)
            Payment.save(payments)
            group = cls._new_group(company, journal)
            group.save()
            Payment.process(payments, lambda: group)
        if payments or skips:
            Run.save([Run(company=company, date=date, group=group,
                        payment_count=len(payments),
                        amount_paid=sum(
                            (p.amount for p in payments), ZERO),
                        skipped=skips)])
        return group

    @classmethod
    def _hold_reasons(cls, lines):
        "Return {line: why its payment is held (a skip reason)} of lines"
        return {line: reason for line in lines
            if (reason := cls._hold_reason(line))}

    @classmethod
    def _hold_reason(cls, line):
        "Return why the payment of line is held (a skip reason) or None"
        if cls._payment_held(line):
            return 'objection'

    @classmethod
    def _prepare_payments(cls, payments):
        "Complete the unsaved payments of a run (references)"

    @classmethod
    def _new_group(cls, company, journal):
        "Return the unsaved payment group of a run"
        pool = Pool()
        Group = pool.get('account.payment.group')
        return Group(company=company, journal=journal, kind='payable')

    @classmethod
    def _payment_held(cls, line):
        """Tell if the payment of line is held (its bill has an open
        objection of the provider)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        origin = line.move.origin
        return isinstance(origin, Invoice) and bool(origin.hb_payment_held)

    @classmethod
    def _hb_payable_lines(cls, company):
        """Return the open posted payable lines of the HB vendor bills of
        company, and of the groupings netting them"""
        pool = Pool()
        Line = pool.get('account.move.line')
        lines = Line.search([
                ('move.company', '=', company),
                ('account.type.payable', '=', True),
                ('reconciliation', '=', None),
                ('move_state', '=', 'posted'),
                ('party', '!=', None),
                ['OR',
                    ('move.origin', 'like', 'account.invoice,%'),
                    ('reconciliations_delegated.id', '!=', None),
                    ],
                ], order=[('party', 'ASC'), ('id', 'ASC')])
        return [line for line in lines if cls._is_hb_payable(line)]

    @classmethod
    def _is_hb_payable(cls, line):
        """Whether line is the payable line of an HB vendor bill or the
        balance of a grouping of such lines only"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        origin = line.move.origin
        if isinstance(origin, Invoice):
            return bool(origin.hb_bill)
        grouped = [other for reconciliation in line.reconciliations_delegated
            for other in reconciliation.lines if other.move != line.move]
        return bool(grouped) and all(
            cls._is_hb_payable(other) for other in grouped)

    @classmethod
    def _group_payable_lines(cls, lines, date):
        """Group the payable lines of a provider into one (posted) line of
        their balance with Tryton's grouping of lines; return it (None when
        they balance out)"""
        pool = Pool()
        GroupLines = pool.get('account.move.line.group', type='wizard')
        Move = pool.get('account.move')
        ModelData = pool.get('ir.model.data')
        Journal = pool.get('account.journal')
        journal = Journal(ModelData.get_id('account', 'journal_miscellaneous'))
        move, balance_line = GroupLines.group_lines(lines, journal, date)
        move.description = gettext('hb_voucher.msg_payment_netting')
        move.save()
        Move.post([move])
        return balance_line

    @classmethod
    def _payment_reference(cls, line):
        """The reference of the payment of line: the bill's own, or the
        numbers of the bills netted in it"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        origin = line.move.origin
        if isinstance(origin, Invoice):
            return origin.reference
        numbers = []

        def collect(line):
            origin = line.move.origin
            if isinstance(origin, Invoice):
                numbers.append(origin.number)
            for reconciliation in line.reconciliations_delegated:
                for other in reconciliation.lines:
                    if other.move != line.move:
                        collect(other)
        collect(line)
        lang = line.party.lang.code if line.party.lang else 'fi'
        with Transaction().set_context(language=lang):
            return gettext('hb_voucher.msg_payment_reference_netted',
                numbers=', '.join(sorted(numbers)))


class PaymentRunSkip(ModelSQL, ModelView):
    __name__ = 'hb.payment.run.skip'
    __string__ = "Provider Payment Skipped"

    run = fields.Many2One(
        'hb.payment.run', "Run", required=True, readonly=True,
        ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Provider", required=True, readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    amount = Monetary(
        "Balance", currency='currency', digits='currency', readonly=True,
        help="What the run would pay the provider (negative: what the "
        "provider owes back).")
    reason = fields.Selection([
            ('owed', "Provider Owes Money Back"),
            ('no_account', "No Verified Bank Account"),
            ('no_bank', "Bank Account Without Bank"),
            ('objection', "Objection to the Self-Billed Invoice"),
            ('below_minimum', "Below the Minimum Payout"),
            ], "Reason", required=True, readonly=True)
    reason_string = reason.translated('reason')

    def get_currency(self, name):
        return self.run.company.currency.id

