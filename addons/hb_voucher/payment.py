# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The SEPA payment runs of the vendor bills: what each run paid and what
it skipped (and why), the amounts providers owe back, and the SEPA
character set of the pain.001 files."""
import string
import unicodedata

from genshi.core import END, START, TEXT
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

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
        pool = Pool()
        Charge = pool.get('hb.charge')
        if company is None:
            company = Transaction().context.get('company')
        return [line for line in Charge._hb_payable_lines(company)
            if line.debit - line.credit > 0]


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
            ], "Reason", required=True, readonly=True)
    reason_string = reason.translated('reason')

    def get_currency(self, name):
        return self.run.company.currency.id

