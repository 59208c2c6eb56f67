# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Settlement runs (issue 18 item 4).

- the schedule: the settings name the days of the month the payment run
  goes (hb_payment_days, e.g. "1,8,16,24"); a daily scheduled task
  (hb.payment.run|run_scheduled) runs it on those days only (a day past
  the month's end: its last day), once a day;
- four eyes: the payment group of a run waits for the approval of a
  finance user other than the one who made it; its SEPA message is not
  released (account.payment.sepa.message "done") before; who made,
  approved and released it, and when, is recorded on the group;
- the bills of a provider whose contract is suspended are held (skipped
  "provider suspended") until the contract is active again or finance
  releases its payments on the contract;
- references: each payment carries an RF creditor reference (ISO 11649)
  made from its bill's number, its remittance information the reference
  and the bill numbers, its EndToEndId the payment's id and the bill
  number; the initiating party is identified by the wellbeing area's
  business ID (the journal's initiator identifier "fi_ytunnus");
- an objection that comes after the run made the payment group: the
  group's file is not released while a bill it pays has an open objection;
  finance clears the objection or withdraws the objected bills (the
  group's payments fail, its file is cancelled and the other bills are
  paid in a new group, again under four eyes). An objection after the file
  was released is recorded as such (payment_sent) and settled by a
  correcting bill."""
import calendar
import datetime as dt
import re

from stdnum import iso7064, iso11649
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import BillingError

MAX_PAYMENT_DAYS = 100
# the longest EndToEndId of pain.001
MAX_END_TO_END = 35


def parse_payment_days(value):
    """Return the sorted days of the month in value ("1, 8,16 24"); raise
    ValueError when one is not a day 1-31"""
    days = set()
    for part in re.split(r'[\s,;]+', (value or '').strip()):
        if not part:
            continue
        day = int(part)
        if not 1 <= day <= 31:
            raise ValueError(part)
        days.add(day)
    return sorted(days)


def is_payment_day(date, days):
    """Tell if date is one of days of the month; a day past the month's
    last day falls on the last day"""
    last = calendar.monthrange(date.year, date.month)[1]
    return date.day in {min(day, last) for day in days}


def _alnum(text):
    return re.sub(r'[^0-9A-Za-z]', '', text or '').upper()


def creditor_reference(base):
    "Return the RF creditor reference (ISO 11649) of the alphanumeric base"
    base = _alnum(base)[-21:]
    check = iso7064.mod_97_10.calc_check_digits(base + 'RF')
    reference = 'RF%s%s' % (check, base)
    iso11649.validate(reference)
    return reference


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    hb_payment_days = fields.Char(
        "Payment Days", size=MAX_PAYMENT_DAYS,
        help="The days of the month the scheduled payment run goes, "
        "e.g. 1,8,16,24 (a day past the month's end: its last day). "
        "Empty: every day.")
    hb_payment_last_run = fields.Date(
        "Last Scheduled Payment Run", readonly=True)

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        if field_names and 'hb_payment_days' not in field_names:
            return
        for record in records:
            try:
                parse_payment_days(record.hb_payment_days)
            except ValueError as exception:
                raise BillingError(gettext(
                        'hb_voucher.msg_payment_days_invalid',
                        days=record.hb_payment_days)) from exception


class Contract(metaclass=PoolMeta):
    __name__ = 'hb.provider.contract'

    hb_payments_released = fields.Boolean(
        "Payments Released",
        states={
            'invisible': Eval('state') != 'suspended',
            },
        help="Pay the provider's bills although its contract is "
        "suspended.")

    @classmethod
    def default_hb_payments_released(cls):
        return False

    @classmethod
    def copy(cls, contracts, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('hb_payments_released')
        return super().copy(contracts, default=default)

    @classmethod
    def do_suspend(cls, contracts, reason):
        super().do_suspend(contracts, reason)
        # a new suspension holds the payments again
        cls.write(contracts, {'hb_payments_released': False})

    @classmethod
    def payments_suspended(cls, providers):
        """Return the ids of the providers whose payments are held: a
        contract of theirs is suspended (and not released) and none is
        active (one search for all)"""
        contracts = cls.search([
                ('provider', 'in', [int(p) for p in providers]),
                ('state', 'in', ['active', 'suspended']),
                ])
        active = {c.provider.id for c in contracts if c.state == 'active'}
        return {c.provider.id for c in contracts
            if c.state == 'suspended' and not c.hb_payments_released
            and c.provider.id not in active}


class PaymentRun(metaclass=PoolMeta):
    __name__ = 'hb.payment.run'

    @classmethod
    def run_scheduled(cls, date=None):
        """Run the payment run if date (today) is a payment day of the
        settings and the scheduled run has not gone that day; return the
        payment group (None when nothing is paid or not run)"""
        pool = Pool()
        Date = pool.get('ir.date')
        Configuration = pool.get('hb.configuration')
        if date is None:
            date = Date.today()
        Configuration.lock()
        config = Configuration(1)
        if config.hb_payment_last_run and config.hb_payment_last_run >= date:
            return None
        days = parse_payment_days(config.hb_payment_days)
        if days and not is_payment_day(date, days):
            return None
        config.hb_payment_last_run = date
        config.save()
        return cls.pay_vendor_bills(date=date)

    @classmethod
    def _hold_reasons(cls, lines):
        pool = Pool()
        Contract = pool.get('hb.provider.contract')
        suspended = Contract.payments_suspended(
            {line.party for line in lines})
        held = {line: 'suspended' for line in lines
            if line.party.id in suspended}
        held.update(super()._hold_reasons(
                [line for line in lines if line not in held]))
        return held

    @classmethod
    def _prepare_payments(cls, payments):
        super()._prepare_payments(payments)
        for payment in payments:
            payment.reference = creditor_reference(
                cls._reference_base(payment.line))
            payment.reference_type = 'creditor_reference'

    @classmethod
    def _reference_base(cls, line):
        """The base of the RF reference of the payment of line: its bill's
        number, or N and the line's id for the netted bills"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        origin = line.move.origin
        if isinstance(origin, Invoice) and _alnum(origin.number):
            return _alnum(origin.number)
        return 'N%d' % line.id

    @classmethod
    def _new_group(cls, company, journal):
        group = super()._new_group(company, journal)
        group.hb_four_eyes = True
        group.hb_made_by = Transaction().user or None
        group.hb_made_at = dt.datetime.now()
        return group


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('hb.payment.run|run_scheduled',
                "Pay Personal Budget Vendor Bills on the Payment Days"))


class PaymentRunSkip(metaclass=PoolMeta):
    __name__ = 'hb.payment.run.skip'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.reason.selection.append(('suspended', "Provider Suspended"))


class PaymentGroup(metaclass=PoolMeta):
    __name__ = 'account.payment.group'

    hb_four_eyes = fields.Boolean(
        "Four Eyes", readonly=True,
        help="The group's SEPA file is released only after a second "
        "finance user has approved it.")
    hb_made_by = fields.Many2One(
        'res.user', "Made By", readonly=True, ondelete='RESTRICT')
    hb_made_at = fields.Timestamp("Made At", readonly=True)
    hb_approved_by = fields.Many2One(
        'res.user', "Approved By", readonly=True, ondelete='RESTRICT')
    hb_approved_at = fields.Timestamp("Approved At", readonly=True)
    hb_sent_by = fields.Many2One(
        'res.user', "File Sent By", readonly=True, ondelete='RESTRICT')
    hb_sent_at = fields.Timestamp("File Sent At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'hb_approve': {
                    'invisible': (~Eval('hb_four_eyes')
                        | Bool(Eval('hb_approved_by'))),
                    'depends': ['hb_four_eyes', 'hb_approved_by'],
                    },
                'hb_withdraw_objected': {
                    'invisible': Bool(Eval('hb_sent_by')),
                    'depends': ['hb_sent_by'],
                    },
                })

    @classmethod
    def default_hb_four_eyes(cls):
        return False

    @classmethod
    def copy(cls, groups, default=None):
        default = default.copy() if default is not None else {}
        for name in ['hb_four_eyes', 'hb_made_by', 'hb_made_at',
                'hb_approved_by', 'hb_approved_at', 'hb_sent_by',
                'hb_sent_at']:
            default.setdefault(name)
        return super().copy(groups, default=default)

    @classmethod
    @ModelView.button
    def hb_approve(cls, groups):
        """Approve the groups as the second pair of eyes: refused to the
        user who made a group"""
        user = Transaction().user
        for group in groups:
            if not group.hb_four_eyes or group.hb_approved_by:
                continue
            if group.hb_made_by and group.hb_made_by.id == user:
                raise BillingError(gettext(
                        'hb_voucher.msg_payment_group_same_user',
                        group=group.rec_name))
        cls.write([g for g in groups
                if g.hb_four_eyes and not g.hb_approved_by], {
                'hb_approved_by': user or None,
                'hb_approved_at': dt.datetime.now(),
                })

    def hb_check_release(self):
        "Raise when the group's file may not be released yet"
        if self.hb_four_eyes and not self.hb_approved_by:
            raise BillingError(gettext(
                    'hb_voucher.msg_payment_group_not_approved',
                    group=self.rec_name))
        if bills := self.hb_objected_bills():
            raise BillingError(gettext(
                    'hb_voucher.msg_payment_group_objection',
                    group=self.rec_name,
                    bills=', '.join(b.number or str(b.id) for b in bills)))

    def hb_objected_bills(self):
        "The bills paid by the group's live payments with an open objection"
        bills = []
        for payment in self.payments:
            if payment.state == 'failed':
                continue
            for bill in payment._hb_bills():
                if bill.hb_payment_held and bill not in bills:
                    bills.append(bill)
        return bills

    @classmethod
    @ModelView.button
    def hb_withdraw_objected(cls, groups):
        """Button: withdraw the objected bills (see hb_withdraw); the
        button's access (HB Finance) authorises the payments' failure, the
        files' cancellation and the new group"""
        with without_check_access():
            cls.hb_withdraw(groups)

    @classmethod
    def hb_withdraw(cls, groups):
        """Take the bills with an open objection out of the groups whose
        file is not released: the groups' payments fail, their files are
        cancelled and the bills not objected to are paid in a new group
        (which waits for its own approval); return the new groups"""
        pool = Pool()
        Payment = pool.get('account.payment')
        Message = pool.get('account.payment.sepa.message')
        Run = pool.get('hb.payment.run')
        dates = set()
        for group in groups:
            if group.hb_sent_by or any(
                    m.state == 'done' for m in group.sepa_messages):
                raise BillingError(gettext(
                        'hb_voucher.msg_payment_group_already_sent',
                        group=group.rec_name))
        groups = [g for g in groups if g.hb_objected_bills()]
        for group in groups:
            payments = [p for p in group.payments if p.state != 'failed']
            dates.update(p.date for p in payments)
            Payment.fail(payments)
            Message.cancel([m for m in group.sepa_messages
                    if m.state in {'draft', 'waiting'}])
        new = []
        for date in sorted(d for d in dates if d):
            if group := Run.pay_vendor_bills(date=date):
                new.append(group)
        return new

    @classmethod
    def hb_record_sent(cls, groups):
        "Record who released the groups' files and when"
        cls.write(list(groups), {
                'hb_sent_by': Transaction().user or None,
                'hb_sent_at': dt.datetime.now(),
                })


class SEPAMessage(metaclass=PoolMeta):
    __name__ = 'account.payment.sepa.message'

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, messages):
        pool = Pool()
        Group = pool.get('account.payment.group')
        groups = []
        for message in messages:
            if message.type == 'out' and isinstance(message.origin, Group):
                message.origin.hb_check_release()
                groups.append(message.origin)
        super().do(messages)
        if groups:
            Group.hb_record_sent(groups)
            cls._hb_sent(groups)

    @classmethod
    def _hb_sent(cls, groups):
        "Send the providers the remittance advice of their payments"
        from .settlement_advice import send_advices
        send_advices(groups)


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    def _hb_bill_numbers(self):
        "The numbers of the HB bills the payment pays"
        return sorted(b.number for b in self._hb_bills() if b.number)

    def _hb_bills(self):
        "The HB bills the payment pays"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        bills = []

        def collect(line):
            origin = line.move.origin
            if isinstance(origin, Invoice):
                if origin.hb_bill and origin not in bills:
                    bills.append(origin)
            for reconciliation in line.reconciliations_delegated:
                for other in reconciliation.lines:
                    if other.move != line.move:
                        collect(other)
        if self.line:
            collect(self.line)
        return bills

    def _hb_payment(self):
        return (self.kind == 'payable'
            and self.reference_type == 'creditor_reference'
            and bool(self._hb_bill_numbers()))

    @property
    def sepa_remittance_information(self):
        information = super().sepa_remittance_information
        if not self._hb_payment():
            return information
        pool = Pool()
        Run = pool.get('hb.payment.run')
        text = Run._payment_reference(self.line)
        lang = self.party.lang.code if self.party.lang else 'fi'
        with Transaction().set_context(language=lang):
            return gettext('hb_voucher.msg_payment_remittance',
                reference=iso11649.format(self.reference),
                numbers=', '.join(self._hb_bill_numbers()),
                text=text or '').strip()

    def get_sepa_end_to_end_id(self, name):
        if not self._hb_payment():
            return super().get_sepa_end_to_end_id(name)
        base = _alnum(self._hb_bill_numbers()[0])
        return ('%s-%s' % (self.id, base))[:MAX_END_TO_END]

    @classmethod
    def search_end_to_end_id(cls, name, domain):
        # the HB EndToEndId: the payment's id, a dash and its bill
        _, operator, value = domain
        values = None
        if operator == '=' and isinstance(value, str) and '-' in value:
            values = [value]
        elif (operator == 'in' and value
                and all(isinstance(v, str) and '-' in v for v in value)):
            values = value
        if values is None:
            return super().search_end_to_end_id(name, domain)
        ids = []
        for value in values:
            head = value.split('-', 1)[0]
            if head.isdigit():
                ids.append(int(head))
        payments = cls.search([('id', 'in', ids)]) if ids else []
        return [('id', 'in', [p.id for p in payments
                    if p.sepa_end_to_end_id in values] or [-1])]


class Journal(metaclass=PoolMeta):
    __name__ = 'account.payment.journal'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        option = ('fi_ytunnus', "Finnish Business Identifier")
        for field in [cls.sepa_payable_initiator_id,
                cls.sepa_receivable_initiator_id]:
            if option not in field.selection:
                field.selection.append(option)
