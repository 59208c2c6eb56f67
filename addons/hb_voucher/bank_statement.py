# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Bank confirmation of the provider payments (issue 18 item 5).

- camt.054 (debit/credit notification) through Tryton's SEPA message
  (account.payment.sepa.message, type IN): each transaction is matched to
  its payment by the InstrId or the EndToEndId HB wrote into the pain.001
  (``<payment id>-<bill number>``, settlement.py); a booked one succeeds
  the payment (its bill is paid through the clearing account), a returned
  or rejected one (RtrInf) fails it with the bank's reason: Tryton cancels
  the clearing move and the bill is open again. The bank's entry side
  (DBIT for our payment, CRDT for its return) does not hide an HB payment:
  an HB EndToEndId or InstrId finds it whatever the side. References that
  match no payment are named in a warning before anything is changed.
- camt.053 (and .052/.054) through Tryton's statement import
  (account_statement_sepa): the imported statement's origins whose
  InstrId or EndToEndId is an HB payment's get a statement line related
  to the payment on the clearing account (and the bank's return reason
  onto the payment), so that posting the statement succeeds the paid
  ones and fails the returned ones (account_payment,
  account_payment_clearing).
- every HB payment that fails with a bank's return reason is listed for
  finance (hb.payment.return, "Returned Payments") with the provider, the
  bill, the amount, the date and the reason with its meaning; its bill is
  held from the next payment runs (skipped "returned") until finance
  releases it (e.g. once the provider's IBAN is fixed). A payment failed by
  hand (no return reason) is not held: finance decided already."""
import datetime as dt
from io import BytesIO

from lxml import etree
from trytond.exceptions import UserWarning
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.account_payment_sepa.sepa_handler import CAMT054
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import BankFileError

# The ISO 20022 return reason codes a bank most often gives for a SEPA
# credit transfer (ExternalReturnReason1Code), their meaning in the label
RETURN_REASONS = [
    ('AC01', "AC01 Account number incorrect"),
    ('AC03', "AC03 Creditor account number invalid"),
    ('AC04', "AC04 Account closed"),
    ('AC06', "AC06 Account blocked"),
    ('AG01', "AG01 Transaction forbidden on this account"),
    ('AM04', "AM04 Insufficient funds"),
    ('AM05', "AM05 Duplicate payment"),
    ('BE04', "BE04 Creditor address missing or incorrect"),
    ('MD07', "MD07 Account holder deceased"),
    ('MS02', "MS02 Refused by the payee, no reason given"),
    ('MS03', "MS03 Refused by the bank, no reason given"),
    ('RC01', "RC01 Bank identifier (BIC) incorrect"),
    ('RR01', "RR01 Payer's account or identification missing"),
    ('RR02', "RR02 Payer's name or address missing"),
    ('RR03', "RR03 Payee's name or address missing"),
    ('RR04', "RR04 Regulatory reason"),
    ('FF01', "FF01 Invalid file format"),
    ('CUST', "CUST Cancelled at the payer's request"),
    ('other', "Other reason"),
    ]
REASON_CODES = {code for code, _ in RETURN_REASONS if code != 'other'}
# the longest reason code of ISO 20022 (Max4Text) or a proprietary one
REASON_CODE_SIZE = 35
REASON_INFORMATION_SIZE = 500
INFORMATION_RETURN_CODE = 'camt_return_reason_code'
INFORMATION_RETURN_INFORMATION = 'camt_return_reason_information'


def reason_of(code):
    "The key of RETURN_REASONS of the bank's return reason code"
    code = (code or '').strip().upper()
    return code if code in REASON_CODES else 'other'


class PaymentReturn(ModelSQL, ModelView):
    __name__ = 'hb.payment.return'
    __string__ = "Returned Payment"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    payment = fields.Many2One(
        'account.payment', "Payment", required=True, readonly=True,
        ondelete='RESTRICT')
    party = fields.Many2One(
        'party.party', "Provider", required=True, readonly=True)
    invoice = fields.Many2One(
        'account.invoice', "Bill", readonly=True,
        help="The bill the payment paid (the first one when it paid "
        "several netted bills).")
    line = fields.Many2One(
        'account.move.line', "Payable Line", readonly=True,
        help="The provider's open line the payment paid: held from the "
        "payment runs until released.")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)
    date = fields.Date("Returned On", readonly=True)
    reason_code = fields.Char(
        "Reason Code", size=REASON_CODE_SIZE, readonly=True,
        help="The bank's return reason code (ISO 20022).")
    reason = fields.Selection(
        RETURN_REASONS, "Reason", readonly=True, sort=False)
    reason_string = reason.translated('reason')
    reason_information = fields.Char(
        "Bank's Information", size=REASON_INFORMATION_SIZE, readonly=True)
    released_by = fields.Many2One(
        'res.user', "Released By", readonly=True, ondelete='RESTRICT')
    released_at = fields.Timestamp("Released At", readonly=True)
    state = fields.Function(fields.Selection([
                ('held', "Held"),
                ('released', "Released"),
                ('paid', "Paid Again"),
                ], "State"), 'get_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))
        cls._buttons.update({
                'release': {
                    'invisible': Eval('state') != 'held',
                    'depends': ['state'],
                    },
                })

    def get_currency(self, name):
        return self.company.currency.id

    def get_state(self, name):
        line = self.line
        if line and (line.reconciliation or any(
                    p.state in {'processing', 'succeeded'}
                    and p != self.payment for p in line.payments)):
            return 'paid'
        return 'released' if self.released_at else 'held'

    def get_rec_name(self, name):
        return '%s %s' % (self.party.rec_name, self.reason_string)

    @classmethod
    @ModelView.button
    def release(cls, returns):
        """Release the returned payments' bills to the next payment runs
        (the provider's bank account fixed)"""
        cls.write([r for r in returns if not r.released_at], {
                'released_by': Transaction().user or None,
                'released_at': dt.datetime.now(),
                })

    @classmethod
    def record(cls, payments):
        """Record the HB payments of payments that failed with a bank's
        return reason (once each); return the records"""
        pool = Pool()
        Date = pool.get('ir.date')
        Invoice = pool.get('account.invoice')
        payments = [p for p in payments
            if p.state == 'failed' and p.sepa_return_reason_code
            and p._hb_payment()]
        if not payments:
            return []
        known = {r.payment for r in cls.search([
                    ('payment', 'in', [p.id for p in payments])])}
        context = Transaction().context
        date = (context.get('date_value') or context.get('clearing_date')
            or Date.today())
        returns = []
        for payment in payments:
            if payment in known:
                continue
            numbers = payment._hb_bill_numbers()
            invoices = Invoice.search([
                    ('number', '=', numbers[0]),
                    ('company', '=', payment.company.id),
                    ], limit=1) if numbers else []
            information = payment.sepa_return_reason_information or ''
            returns.append(cls(
                    company=payment.company, payment=payment,
                    party=payment.party,
                    invoice=invoices[0] if invoices else None,
                    line=payment.line, amount=payment.amount, date=date,
                    reason_code=payment.sepa_return_reason_code[
                        :REASON_CODE_SIZE],
                    reason=reason_of(payment.sepa_return_reason_code),
                    reason_information=information[
                        :REASON_INFORMATION_SIZE] or None))
        cls.save(returns)
        return returns

    @classmethod
    def held_lines(cls, lines):
        "Return the ids of lines held by a returned payment not released"
        if not lines:
            return set()
        returns = cls.search([
                ('line', 'in', [int(line) for line in lines]),
                ('released_at', '=', None),
                ])
        return {r.line.id for r in returns}


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    @classmethod
    @ModelView.button
    @Workflow.transition('failed')
    def fail(cls, payments):
        pool = Pool()
        Return = pool.get('hb.payment.return')
        super().fail(payments)
        Return.record(cls.browse([p.id for p in payments]))


class PaymentRun(metaclass=PoolMeta):
    __name__ = 'hb.payment.run'

    @classmethod
    def _hold_reasons(cls, lines):
        pool = Pool()
        Return = pool.get('hb.payment.return')
        returned = Return.held_lines(lines)
        held = {line: 'returned' for line in lines if line.id in returned}
        held.update(super()._hold_reasons(
                [line for line in lines if line not in held]))
        return held


class PaymentRunSkip(metaclass=PoolMeta):
    __name__ = 'hb.payment.run.skip'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.reason.selection.append(
            ('returned', "Payment Returned by the Bank"))


class HBCAMT054(CAMT054):
    """Tryton's camt.054 handler that finds an HB payment by its InstrId
    or EndToEndId whatever the entry's side, and notes the references that
    match no payment"""

    def __init__(self, source, Payment):
        self.unknown = []
        super().__init__(source, Payment)

    def get_payments(self, transaction):
        payments = super().get_payments(transaction)
        if payments:
            return payments
        ns = etree.QName(transaction).namespace
        instr_id = transaction.findtext('.//{%s}InstrId' % ns)
        end_to_end_id = transaction.findtext('.//{%s}EndToEndId' % ns)
        payments = []
        if instr_id:
            payments = self.Payment.search([
                    ('sepa_instruction_id', '=', instr_id),
                    ])
        elif end_to_end_id:
            payments = self.Payment.search([
                    ('sepa_end_to_end_id', '=', end_to_end_id),
                    ])
        # only HB's payable payments are found on the other side
        payments = [p for p in payments
            if p.kind == 'payable' and p._hb_payment()]
        if not payments:
            self.unknown.append(instr_id or end_to_end_id or '?')
        return payments


class SEPAMessage(metaclass=PoolMeta):
    __name__ = 'account.payment.sepa.message'

    def parse(self):
        hb_check_bank_file(self.message)
        namespace = self.get_namespace(self.message)
        if not (namespace or '').startswith(
                'urn:iso:std:iso:20022:tech:xsd:camt.054.'):
            return super().parse()
        pool = Pool()
        Payment = pool.get('account.payment')
        Warning = pool.get('res.user.warning')
        handler = HBCAMT054(BytesIO(self.message), Payment)
        if handler.unknown:
            key = Warning.format('hb_camt054_unknown', [self])
            if Warning.check(key):
                raise UnknownPaymentWarning(key, gettext(
                        'hb_voucher.msg_camt_unknown_payments',
                        references=', '.join(handler.unknown)))


def hb_check_bank_file(data):
    """Raise a translated error when data (a bank's file) is not XML,
    before Tryton's readers parse it"""
    try:
        etree.fromstring(data or b'')
    except etree.XMLSyntaxError as exception:
        raise BankFileError(gettext(
                'hb_voucher.msg_bank_file_invalid',
                error=str(exception)[:200])) from exception


class UnknownPaymentWarning(UserWarning):
    "A bank's message names payments that are not found"


class StatementImport(metaclass=PoolMeta):
    __name__ = 'account.statement.import'

    def camt_information(self, camt_statement, entry, detail):
        information = super().camt_information(camt_statement, entry, detail)
        code = detail.findtext('./{*}RtrInf/{*}Rsn/{*}Cd')
        if not code:
            code = detail.findtext('./{*}RtrInf/{*}Rsn/{*}Prtry')
        if code:
            information[INFORMATION_RETURN_CODE] = code
            text = ' '.join(
                e.text for e in detail.iterfind('./{*}RtrInf/{*}AddtlInf')
                if e.text)
            if text:
                information[INFORMATION_RETURN_INFORMATION] = text
        return information

    def do_import_(self, action):
        pool = Pool()
        Statement = pool.get('account.statement')
        if (self.start.file_format or '').startswith('camt'):
            hb_check_bank_file(self.start.file_)
        action, data = super().do_import_(action)
        Statement.hb_match_payments(Statement.browse(data['res_id']))
        return action, data


class Statement(metaclass=PoolMeta):
    __name__ = 'account.statement'

    @classmethod
    def hb_match_payments(cls, statements):
        """Add to the draft statements a line for each origin that is the
        bank's entry of an HB payment (by its InstrId or EndToEndId), on
        the payment journal's clearing account: a booked one related to
        the payment (posting succeeds it), a returned one (money back with
        the bank's return reason) failing it when posted. Return the lines
        made."""
        pool = Pool()
        Line = pool.get('account.statement.line')
        lines = []
        for statement in statements:
            if statement.state != 'draft':
                continue
            for origin in statement.origins:
                if origin.lines:
                    continue
                payment = cls._hb_origin_payment(origin)
                if not payment or not payment.journal.clearing_account:
                    continue
                line = Line(
                    statement=statement, origin=origin,
                    number=origin.number, date=origin.date,
                    amount=origin.amount, party=payment.party,
                    account=payment.journal.clearing_account,
                    description=origin.description)
                if not cls._hb_origin_return(origin):
                    line.related_to = payment
                lines.append(line)
        Line.save(lines)
        return lines

    @classmethod
    def create_move(cls, statements):
        pool = Pool()
        Payment = pool.get('account.payment')
        moves = super().create_move(statements)
        failed = {}
        for _, _, lines in moves:
            for line in lines:
                origin = line.origin
                code = cls._hb_origin_return(origin) if origin else None
                if not code:
                    continue
                payment = cls._hb_origin_payment(origin)
                if not payment:
                    continue
                information = origin.information or {}
                payment.sepa_return_reason_code = code[:35]
                payment.sepa_return_reason_information = information.get(
                    INFORMATION_RETURN_INFORMATION)
                failed.setdefault(line.date, []).append(payment)
        for date, payments in failed.items():
            Payment.save(payments)
            with Transaction().set_context(clearing_date=date):
                Payment.fail(payments)
        return moves

    @classmethod
    def _hb_origin_return(cls, origin):
        """The bank's return reason code of origin when it is the return
        of a payment (money back), else None"""
        code = (origin.information or {}).get(INFORMATION_RETURN_CODE)
        if code and origin.amount > 0:
            return code

    @classmethod
    def _hb_origin_payment(cls, origin):
        "The HB payment of which origin is the bank's entry (or None)"
        pool = Pool()
        Payment = pool.get('account.payment')
        information = origin.information or {}
        for field, key in [
                ('sepa_instruction_id', 'camt_instruction_identification'),
                ('sepa_end_to_end_id', 'camt_end_to_end_identification'),
                ]:
            value = information.get(key)
            if not value:
                continue
            payments = [p for p in Payment.search([
                        (field, '=', value),
                        ('company', '=', origin.company.id),
                        ('state', 'in', ['processing', 'succeeded']),
                        ])
                if p.kind == 'payable' and p._hb_payment()]
            if len(payments) == 1:
                return payments[0]
