# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The remittance advice (maksuerittely, issue 18 item 4) of a payment to a
provider: the bills it pays, their charges and claims with their amounts,
and the total, which is the transfer. Shown on the provider portal
(/hb/provider/payments, the provider's own payments only) and sent by
e-mail in the provider's language when the payment's file is released."""
from collections import namedtuple

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from trytond.modules.hb_marketplace import mail, portal
from trytond.modules.hb_marketplace.portal import provider_page
from trytond.modules.hb_marketplace.tools import ID_CONVERTER

from .portal_pages import PROVIDER, _not_found, _page, voucher_page

MAX_PAYMENTS = 100

Advice = namedtuple('Advice', ['payment', 'bills', 'total'])
AdviceBill = namedtuple('AdviceBill', ['invoice', 'charges'])
AdviceCharge = namedtuple('AdviceCharge', ['charge', 'claim'])

portal.add_navigation(
    'payments', 'hb_voucher.msg_portal_payments', 45, model='hb.charge')


def _bills(payment):
    "The HB bills paid by payment (netted ones included)"
    pool = Pool()
    Invoice = pool.get('account.invoice')
    bills = []

    def collect(line):
        origin = line.move.origin
        if isinstance(origin, Invoice) and origin.hb_bill:
            bills.append(origin)
        for reconciliation in line.reconciliations_delegated:
            for other in reconciliation.lines:
                if other.move != line.move:
                    collect(other)
    if payment.line:
        collect(payment.line)
    return sorted(set(bills), key=lambda i: (i.number or '', i.id))


def remittance_advice(payment):
    """Return the advice of payment: its bills, each with its charges (and
    the claim a charge was captured from), and the total paid"""
    pool = Pool()
    Charge = pool.get('hb.charge')
    Claim = pool.get('hb.claim')
    bills = _bills(payment)
    charges = Charge.search([
            ('invoice_line.invoice', 'in', [b.id for b in bills]),
            ], order=[('date', 'ASC'), ('id', 'ASC')])
    claims = {c.charge.id: c for c in Claim.search([
                ('charge', 'in', [c.id for c in charges]),
                ])}
    by_bill = {b.id: [] for b in bills}
    for charge in charges:
        by_bill[charge.invoice_line.invoice.id].append(
            AdviceCharge(charge, claims.get(charge.id)))
    return Advice(payment,
        [AdviceBill(b, by_bill[b.id]) for b in bills], payment.amount)


def provider_payments(party):
    "The HB payments to party whose file is released, latest first"
    pool = Pool()
    Payment = pool.get('account.payment')
    return Payment.search([
            ('party', '=', party.id),
            ('kind', '=', 'payable'),
            ('group.hb_four_eyes', '=', True),
            ('group.hb_sent_at', '!=', None),
            ], order=[('date', 'DESC'), ('id', 'DESC')], limit=MAX_PAYMENTS)


def advice_text(advice):
    "The plain text of the advice in the context's language"
    payment = advice.payment
    lines = [gettext('hb_voucher.msg_advice_header',
            date=payment.date.isoformat(), reference=payment.reference or '',
            total=_money(advice.total)), '']
    for bill in advice.bills:
        invoice = bill.invoice
        lines.append(gettext('hb_voucher.msg_advice_bill',
                number=invoice.number or '', reference=invoice.reference or '',
                total=_money(invoice.total_amount)))
        for item in bill.charges:
            charge = item.charge
            key = ('hb_voucher.msg_advice_claim' if item.claim
                else 'hb_voucher.msg_advice_charge')
            lines.append('  ' + gettext(key,
                    number=charge.number or str(charge.id),
                    date=charge.date.isoformat(),
                    amount=_money(charge.amount)))
        lines.append('')
    lines.append(gettext('hb_voucher.msg_advice_total',
            total=_money(advice.total)))
    return '\n'.join(lines)


def _money(amount):
    return '%s EUR' % format(amount, '.2f')


def send_advices(groups):
    """Send each provider paid by groups the advice of its payment by
    e-mail, in its language (fi or sv); return the ir.email records"""
    emails = []
    for group in groups:
        for payment in group.payments:
            party = payment.party
            addresses = [m.value for m in party.contact_mechanisms
                if m.type == 'email' and m.value]
            if not addresses:
                continue
            lang = party.lang.code if party.lang else 'fi'
            language = lang if lang in {'fi', 'sv'} else 'fi'
            with Transaction().set_context(language=language):
                advice = remittance_advice(payment)
                subject = gettext('hb_voucher.msg_advice_subject',
                    date=payment.date.isoformat(),
                    total=_money(advice.total))
                body = advice_text(advice)
            emails.append(mail.send_email(
                    addresses[0], subject, body, payment))
    return emails


@app.route(PROVIDER + '/payments', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def payments(request, pool, session, language):
    return _page(request, 'portal_payments.html', language, session,
        payments=provider_payments(session.party))


@app.route(
    PROVIDER + '/payments/<%s:payment_id>' % ID_CONVERTER, methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def payment(request, pool, session, language, payment_id):
    Payment = pool.get('account.payment')
    found = Payment.search([
            ('id', '=', payment_id),
            ('party', '=', session.party.id),
            ('kind', '=', 'payable'),
            ('group.hb_four_eyes', '=', True),
            ('group.hb_sent_at', '!=', None),
            ], limit=1)
    if not found:
        return _not_found(request, language, session)
    return _page(request, 'portal_payment.html', language, session,
        advice=remittance_advice(found[0]))
