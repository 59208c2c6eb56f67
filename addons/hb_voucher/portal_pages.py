# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The provider portal pages of hb_voucher (built with hb_marketplace's
portal toolkit, see its portal.py):

- terminal: the charge flow of the JSON API in a browser (request with
  the client's mobile number, confirm with the one-time code, receipt);
- charges: the provider's charges with a date filter, cancellable within
  the window;
- bills: the provider's HB vendor bills and their payment status;
- keys: the API keys of the provider's terminals.

Routes run as user 0: every record is filtered by the session's party."""
import datetime as dt
import functools
import math
import os
import secrets

from trytond.exceptions import UserError
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.transaction import without_check_access
from trytond.wsgi import app

from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.portal import (
    Translator,
    provider_page,
    render,
)
from trytond.modules.hb_marketplace.tools import ID_CONVERTER, parse_id

from .api import error_status, request_charge
from .charge import error as charge_error
from .exceptions import ChargeError

PROVIDER = '/<database_name>/hb/provider'
PAGE_SIZE = 50
MAX_BILLS = 100
MAX_KEY_NAME = 100

portal.add_template_folder(os.path.join(os.path.dirname(__file__),
        'templates'))
portal.add_navigation(
    'terminal', 'hb_voucher.msg_portal_terminal', 20, model='hb.charge')
portal.add_navigation(
    'charges', 'hb_voucher.msg_portal_charges', 30, model='hb.charge')
portal.add_navigation(
    'bills', 'hb_voucher.msg_portal_bills', 40, model='hb.charge')
portal.add_navigation(
    'keys', 'hb_voucher.msg_portal_keys', 50, model='hb.charge')


def voucher_page(func):
    """Decorate a portal page of hb_voucher (outside provider_page):
    404 when the database has not activated hb_voucher"""
    @functools.wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        if not portal.module_activated(pool, 'hb.charge'):
            return portal.secure(Response(
                    'Not Found', status=HTTPStatus.NOT_FOUND,
                    content_type='text/plain'))
        with without_check_access():
            return func(request, pool, *args, **kwargs)
    return wrapper


def _int(value):
    "Return the record id (or number from 1) of a parameter, else None"
    return parse_id(value)


def _date(value):
    "Return the ISO date of value, None when empty; raise ValueError"
    value = (value or '').strip()
    return dt.date.fromisoformat(value) if value else None


def _day(language):
    "Return the function formatting a date in language"
    return portal.Formatter(language).day


def _quantity(language):
    "Return the function formatting a quantity in language"
    return portal.Formatter(language).quantity


def _page(request, template, language, session, **context):
    return render(request, template, language, session=session,
        day=_day(language), quantity=_quantity(language), **context)


def _redirect(request, path, language, **params):
    return portal.secure(redirect(portal.url_for(
                request, path, language, **params)), private=True)


def _not_found(request, language, session):
    return portal.render_error(
        request, language, HTTPStatus.NOT_FOUND, 'msg_page_not_found',
        session=session)


def _new_key():
    "Return a new idempotency key of a terminal form"
    return 'portal-' + secrets.token_urlsafe(24)


def _own_charge(pool, session, charge_id, kind=None):
    "Return the charge of the session's provider with charge_id, or None"
    Charge = pool.get('hb.charge')
    domain = [
        ('id', '=', charge_id),
        ('provider', '=', session.party.id),
        ]
    if kind:
        domain.append(('kind', '=', kind))
    charges = Charge.search(domain, limit=1)
    return charges[0] if charges else None


def _cancellable(pool, charge, now=None):
    "Tell if the provider may cancel charge now"
    Charge = pool.get('hb.charge')
    if charge.kind != 'charge':
        return False
    if charge.state == 'requested':
        return True
    if charge.state != 'captured' or charge.refunded_amount:
        return False
    if now is None:
        now = Charge._now()
    delta = Charge._config().get_hb_cancel_delta()
    return bool(charge.captured_at and charge.captured_at + delta >= now)


def _log_reads(pool, session, charges):
    """Record in the access log that the provider read the names of the
    clients of charges on a portal page"""
    AccessLog = pool.get('hb.access.log')
    log_web = getattr(AccessLog, 'log_web', None)
    clients = sorted({c.client.id for c in charges})
    if log_web is not None and clients:
        log_web('portal', session.party, 'party.party',
            [(c, c) for c in clients])


def _services(pool, party):
    "Return the approved catalogue products the provider may charge for"
    Product = pool.get('product.product')
    return Product.search([
            ('template.hb_provider', '=', party.id),
            ('template.hb_state', '=', 'approved'),
            ], order=[('template.name', 'ASC'), ('id', 'ASC')])


# The terminal

def _request_charge(pool, session, form):
    "Request the charge of the terminal form; return (charge, created)"
    quantity = form.get('quantity', '').strip().replace(',', '.')
    return request_charge(pool, session.party, {
            'mobile': form.get('mobile', '').strip(),
            'idempotency_key': form.get('idempotency_key', ''),
            'lines': [{
                    'service': _int(form.get('service')),
                    'quantity': quantity,
                    }],
            })


@app.route(PROVIDER + '/terminal', methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def terminal(request, pool, session, language):
    error, status, form = None, HTTPStatus.OK, {}
    key = _new_key()
    if request.method == 'POST':
        form = request.form
        try:
            charge, _ = _request_charge(pool, session, request.form)
        except ChargeError as exception:
            portal.rollback()
            error, status = exception.message, error_status(exception)
        except UserError as exception:
            portal.rollback()
            error, status = exception.message, HTTPStatus.BAD_REQUEST
        else:
            # The same key (a double submit) returns the same charge
            return _redirect(
                request, 'provider/terminal/%d' % charge.id, language)
        # Nothing was charged with the key: it may be submitted again
        posted = request.form.get('idempotency_key', '')
        if posted and len(posted) <= 255:
            key = posted
    return _page(request, 'portal_terminal.html', language, session,
        status=status, error=error, form=form, idempotency_key=key,
        services=_services(pool, session.party))


def _charge_page(request, pool, session, language, charge, error=None,
        status=HTTPStatus.OK):
    Charge = pool.get('hb.charge')
    charge = Charge(charge.id)
    now = Charge._now()
    minutes = None
    if charge.state == 'requested' and charge.expires_at:
        minutes = max(0, math.ceil(
                (charge.expires_at - now).total_seconds() / 60))
    _log_reads(pool, session, [charge])
    return _page(request, 'portal_terminal_charge.html', language, session,
        status=status, error=error, charge=charge, minutes=minutes,
        cancellable=_cancellable(pool, charge, now))


@app.route(
    PROVIDER + '/terminal/<%s:charge_id>' % ID_CONVERTER,
    methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def terminal_charge(request, pool, session, language, charge_id):
    charge = _own_charge(pool, session, charge_id, kind='charge')
    if not charge:
        return _not_found(request, language, session)
    return _charge_page(request, pool, session, language, charge)


@app.route(
    PROVIDER + '/terminal/<%s:charge_id>/confirm' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def terminal_confirm(request, pool, session, language, charge_id):
    Charge = pool.get('hb.charge')
    charge = _own_charge(pool, session, charge_id, kind='charge')
    if not charge:
        return _not_found(request, language, session)
    code = request.form.get('code', '').strip()
    try:
        if not code:
            raise ChargeError('code_required', Translator(language)(
                    'hb_voucher.msg_portal_code_required'))
        Charge.confirm(charge, code)
    except ChargeError as exception:
        # (a wrong code counted, an expired request released: committed
        # in their own transaction, kept)
        portal.rollback()
        return _charge_page(request, pool, session, language, charge,
            error=exception.message, status=error_status(exception))
    return _redirect(request, 'provider/terminal/%d' % charge.id, language)


# The charges

def _charges_page(request, pool, session, language, error=None,
        status=HTTPStatus.OK, message=None, args=None):
    Charge = pool.get('hb.charge')
    args = request.args if args is None else args
    try:
        from_, to = _date(args.get('from')), _date(args.get('to'))
    except ValueError:
        from_ = to = None
        error = charge_error('invalid_date').message
        status = HTTPStatus.BAD_REQUEST
    page = max(_int(args.get('page')) or 1, 1)
    domain = [('provider', '=', session.party.id)]
    if from_:
        domain.append(('date', '>=', from_))
    if to:
        domain.append(('date', '<=', to))
    charges = Charge.search(domain,
        order=[('date', 'DESC'), ('id', 'DESC')],
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    more = len(charges) > PAGE_SIZE
    charges = charges[:PAGE_SIZE]
    now = Charge._now()
    filters = {
        'from': from_.isoformat() if from_ else None,
        'to': to.isoformat() if to else None,
        }
    _log_reads(pool, session, charges)
    return _page(request, 'portal_charges.html', language, session,
        status=status, error=error, message=message, charges=charges,
        cancellable={c.id for c in charges if _cancellable(pool, c, now)},
        filters=filters, page=page, more=more,
        window=Charge._config().get_hb_cancel_delta())


@app.route(PROVIDER + '/charges', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def charges(request, pool, session, language):
    message = None
    if request.args.get('done') == 'cancelled':
        message = Translator(language)('hb_voucher.msg_portal_cancelled')
    return _charges_page(request, pool, session, language, message=message)


@app.route(
    PROVIDER + '/charges/<%s:charge_id>/cancel' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def charge_cancel(request, pool, session, language, charge_id):
    Charge = pool.get('hb.charge')
    charge = _own_charge(pool, session, charge_id)
    if not charge:
        return _not_found(request, language, session)
    back = request.form.get('back')
    if (charge.kind == 'charge' and charge.state == 'captured'
            and request.form.get('confirm') != '1'
            and _cancellable(pool, charge)):
        # A refund gives the money back to the client's budget: the
        # provider confirms it on a page saying what is refunded
        _log_reads(pool, session, [charge])
        return _page(request, 'portal_refund_confirm.html', language,
            session, charge=charge,
            back='terminal' if back == 'terminal' else None)
    try:
        Charge.cancel(charge, provider=session.party)
    except ChargeError as exception:
        portal.rollback()
        status = error_status(exception)
        if back == 'terminal' and charge.kind == 'charge':
            return _charge_page(request, pool, session, language, charge,
                error=exception.message, status=status)
        return _charges_page(request, pool, session, language,
            error=exception.message, status=status, args={})
    if back == 'terminal' and charge.kind == 'charge':
        return _redirect(
            request, 'provider/terminal/%d' % charge.id, language)
    return _redirect(request, 'provider/charges', language, done='cancelled')


# The vendor bills

def bill_payment(invoice):
    """Return the payment status of the vendor bill from its state and its
    payments: pending (not yet posted), unpaid, processing (a payment is on
    its way, not yet confirmed by the bank), partly (partly paid), failed
    (its payment failed), paid or cancelled"""
    if invoice.state == 'cancelled':
        return 'cancelled'
    if invoice.state == 'paid':
        return 'paid'
    if invoice.state != 'posted':
        return 'pending'
    lines, payments = [], []
    for line in invoice.lines_to_pay:
        # a line netted with others: its payment is the balance line's
        while line.reconciliation and line.reconciliation.delegate_to:
            line = line.reconciliation.delegate_to
        lines.append(line)
        payments.extend(line.payments)
    if lines and all(line.reconciliation for line in lines):
        # settled, the bill's state not yet updated (a queued task)
        return 'paid'
    states = {p.state for p in payments}
    if states & {'submitted', 'approved', 'processing'}:
        return 'processing'
    if 'succeeded' in states:
        return 'partly'
    if 'failed' in states:
        return 'failed'
    return 'unpaid'


@app.route(PROVIDER + '/bills', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def bills(request, pool, session, language):
    Invoice = pool.get('account.invoice')
    invoices = Invoice.search([
            ('type', '=', 'in'),
            ('hb_bill', '=', True),
            ('party', '=', session.party.id),
            ], order=[('invoice_date', 'DESC'), ('id', 'DESC')],
        limit=MAX_BILLS)
    return _page(request, 'portal_bills.html', language, session,
        invoices=[(i, bill_payment(i)) for i in invoices])


# The API keys

def _keys_page(request, pool, session, language, error=None,
        status=HTTPStatus.OK, message=None, new_key=None, form=None):
    UserApplication = pool.get('res.user.application')
    return _page(request, 'portal_keys.html', language, session,
        status=status, error=error, message=message, new_key=new_key,
        form=form or {}, max_name=MAX_KEY_NAME,
        keys=UserApplication.hb_keys(session.party))


@app.route(PROVIDER + '/keys', methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def keys(request, pool, session, language):
    UserApplication = pool.get('res.user.application')
    translate = Translator(language)
    if request.method == 'POST':
        name = request.form.get('name', '').strip()
        if not name or len(name) > MAX_KEY_NAME:
            return _keys_page(request, pool, session, language,
                error=translate('hb_voucher.msg_portal_key_name_required',
                    max=MAX_KEY_NAME),
                status=HTTPStatus.BAD_REQUEST, form=request.form)
        try:
            key = UserApplication.hb_create_key(session.party, name)
        except UserError as exception:
            portal.rollback()
            return _keys_page(request, pool, session, language,
                error=exception.message, status=HTTPStatus.BAD_REQUEST,
                form=request.form)
        # Shown on this response only (never stored in a page again)
        return _keys_page(request, pool, session, language,
            status=HTTPStatus.CREATED, new_key=key,
            message=translate('hb_voucher.msg_portal_key_created'))
    message = None
    if request.args.get('done') == 'revoked':
        message = translate('hb_voucher.msg_portal_key_revoked')
    return _keys_page(request, pool, session, language, message=message)


@app.route(
    PROVIDER + '/keys/<%s:key_id>/revoke' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def key_revoke(request, pool, session, language, key_id):
    UserApplication = pool.get('res.user.application')
    if not UserApplication.hb_revoke(session.party, key_id):
        return _not_found(request, language, session)
    return _redirect(request, 'provider/keys', language, done='revoked')
