# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The provider portal's self-billing pages (issue 18, item 2):

- self-billing: the agreement in force and its acceptance (POST);
- bills/<id>: a bill with its lines and taxes, the "Itselaskutus" mark,
  its objections and the objection form (POST bills/<id>/object);
- bills/<id>/document: the bill as printed by account_invoice's invoice
  report;
- bills/<id>/einvoice: the self-billed bill as an EN 16931 UBL e-invoice
  (Peppol BIS 3, einvoice.py): the attachment kept when it was posted, or
  made now.

Routes run as user 0: every record is filtered by the session's party."""
from trytond.exceptions import UserError
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    with_pool,
    with_transaction,
)
from trytond.wsgi import app

from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.portal import Translator, provider_page
from trytond.modules.hb_marketplace.tools import ID_CONVERTER

from .exceptions import EinvoiceError
from .portal_pages import (
    PROVIDER,
    _not_found,
    _page,
    _redirect,
    bill_payment,
    voucher_page,
)
from .self_billing import MAX_OBJECTION

CONTENT_TYPES = {
    'pdf': 'application/pdf',
    'odt': 'application/vnd.oasis.opendocument.text',
    'html': 'text/html; charset=utf-8',
    'xml': 'application/xml',
    }

portal.add_navigation(
    'self-billing', 'hb_voucher.msg_portal_self_billing', 45,
    model='hb.bill.objection')


def _own_bill(pool, session, invoice_id):
    "Return the HB bill of the session's provider with invoice_id or None"
    Invoice = pool.get('account.invoice')
    invoices = Invoice.search([
            ('id', '=', invoice_id),
            ('type', '=', 'in'),
            ('hb_bill', '=', True),
            ('party', '=', session.party.id),
            ], limit=1)
    return invoices[0] if invoices else None


@app.route(PROVIDER + '/self-billing', methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def self_billing(request, pool, session, language):
    Contract = pool.get('hb.provider.contract')
    config = pool.get('hb.configuration')(1)
    message = None
    if request.method == 'POST':
        if not Contract.accept_self_billing(session.party, session.user):
            return _page(request, 'portal_self_billing.html', language,
                session, status=HTTPStatus.CONFLICT,
                error=Translator(language)(
                    'hb_voucher.msg_portal_self_billing_none'),
                version=config.hb_self_billing_version, contracts=[])
        return _redirect(
            request, 'provider/self-billing', language, done='accepted')
    if request.args.get('done') == 'accepted':
        message = Translator(language)(
            'hb_voucher.msg_portal_self_billing_thanks')
    contracts = Contract.get_active(session.party)
    return _page(request, 'portal_self_billing.html', language, session,
        message=message, version=config.hb_self_billing_version,
        objection_days=config.hb_self_billing_objection_days,
        contracts=contracts,
        accepted=Contract.self_billing_accepted(session.party))


def _bill_page(request, pool, session, language, invoice, error=None,
        status=HTTPStatus.OK, message=None, form=None):
    return _page(request, 'portal_bill.html', language, session,
        status=status, error=error, message=message, invoice=invoice,
        payment=bill_payment(invoice), may_object=invoice.hb_may_object(),
        max_objection=MAX_OBJECTION, form=form or {})


@app.route(
    PROVIDER + '/bills/<%s:invoice_id>' % ID_CONVERTER, methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def bill(request, pool, session, language, invoice_id):
    invoice = _own_bill(pool, session, invoice_id)
    if not invoice:
        return _not_found(request, language, session)
    message = None
    if request.args.get('done') == 'objected':
        message = Translator(language)(
            'hb_voucher.msg_portal_objection_saved_paid'
            if invoice.hb_payment_sent()
            else 'hb_voucher.msg_portal_objection_saved')
    return _bill_page(request, pool, session, language, invoice,
        message=message)


@app.route(
    PROVIDER + '/bills/<%s:invoice_id>/object' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def bill_object(request, pool, session, language, invoice_id):
    Objection = pool.get('hb.bill.objection')
    invoice = _own_bill(pool, session, invoice_id)
    if not invoice:
        return _not_found(request, language, session)
    try:
        Objection.object(invoice, session.user, request.form.get('text'))
    except UserError as exception:
        portal.rollback()
        return _bill_page(request, pool, session, language, invoice,
            error=exception.message, status=HTTPStatus.BAD_REQUEST,
            form=request.form)
    return _redirect(request, 'provider/bills/%d' % invoice.id, language,
        done='objected')


@app.route(
    PROVIDER + '/bills/<%s:invoice_id>/document' % ID_CONVERTER,
    methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def bill_document(request, pool, session, language, invoice_id):
    InvoiceReport = pool.get('account.invoice', type='report')
    invoice = _own_bill(pool, session, invoice_id)
    if not invoice or invoice.state not in {'posted', 'paid'}:
        return _not_found(request, language, session)
    ext, content, _, name = InvoiceReport.execute([invoice.id], {})
    if isinstance(content, str):
        content = content.encode('utf-8')
    response = Response(bytes(content), status=HTTPStatus.OK,
        content_type=CONTENT_TYPES.get(ext, 'application/octet-stream'))
    response.headers['Content-Disposition'] = (
        'attachment; filename="%s.%s"' % (
            ''.join(c for c in (invoice.number or str(invoice.id))
                if c.isalnum() or c in '-_') or 'bill', ext))
    return portal.secure(response, private=True)


@app.route(
    PROVIDER + '/bills/<%s:invoice_id>/einvoice' % ID_CONVERTER,
    methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def bill_einvoice(request, pool, session, language, invoice_id):
    invoice = _own_bill(pool, session, invoice_id)
    if (not invoice or not invoice.hb_self_billing
            or invoice.state not in {'posted', 'paid'}):
        return _not_found(request, language, session)
    attachment = invoice.hb_einvoice_attachment()
    if attachment:
        content = attachment.data
    else:
        try:
            content, _ = invoice.hb_einvoice()
        except EinvoiceError:
            return _not_found(request, language, session)
    response = Response(bytes(content), status=HTTPStatus.OK,
        content_type=CONTENT_TYPES['xml'])
    response.headers['Content-Disposition'] = (
        'attachment; filename="%s"' % invoice.hb_einvoice_name)
    return portal.secure(response, private=True)
