# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's case page at /<database>/hb/client/case (issue 13,
Omasote): the current plan, the decisions and their letters, the
client's requests, and the forms to send a message to the own-worker,
move money between the decided service categories, ask for a review and
request rectification of a decision (client_request.py).

It shares the login session, language, CSRF token and error pages of
the client page (client_page.py). The client sees the page; a
representative sees it with the right to see the balance and acts with
the right to make requests."""
import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from trytond.exceptions import UserError
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from trytond.modules.hb_budget.letter_pdf import render_letter
from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.portal import render
from trytond.modules.hb_marketplace.tools import ID_CONVERTER

from .client_page import _, _int, client_page
from .client_request import MAX_TEXT

# The requests a client may send in a day (then 429)
MAX_REQUESTS_PER_DAY = 20
MAX_AMOUNT_LENGTH = 15
AMOUNT = re.compile(r'^\d{1,9}([.,]\d{1,2})?$')
CONTENT_TYPES = {
    'pdf': 'application/pdf',
    'odt': 'application/vnd.oasis.opendocument.text',
    }
DONE = {
    'sent': 'msg_client_case_sent',
    'moved': 'msg_client_case_moved',
    'move_requested': 'msg_client_case_move_requested',
    'move_waits': 'msg_client_case_move_waits',
    'review': 'msg_client_case_review_requested',
    'rectification': 'msg_client_case_rectification_filed',
    'rectification_late': 'msg_client_case_rectification_late',
    }


def may_make_requests(login):
    return (not login.representative
        or bool(getattr(login.representative, 'may_make_requests', False)))


def _budget(pool, client):
    "The client's active budget (the newest), or None"
    Budget = pool.get('hb.budget')
    budgets = Budget.search([
            ('client', '=', client.id),
            ('state', '=', 'active'),
            ], order=[('start_date', 'DESC'), ('id', 'DESC')], limit=1)
    return budgets[0] if budgets else None


def _decisions(pool, client):
    "The client's decided decisions, newest first"
    Decision = pool.get('hb.decision')
    return Decision.search([
            ('client', '=', client.id),
            ('state', 'in', ['approved', 'rejected']),
            ], order=[('approval_date', 'DESC'), ('id', 'DESC')])


def _plan(pool, client, budget):
    "The plan of the active budget's decision, else the newest agreed"
    Plan = pool.get('hb.plan')
    if budget and budget.decision:
        return budget.decision.plan
    plans = Plan.search([
            ('client', '=', client.id),
            ('state', '=', 'agreed'),
            ], order=[('valid_from', 'DESC'), ('id', 'DESC')], limit=1)
    return plans[0] if plans else None


def _page(request, pool, login, language, error=None, message=None,
        status=HTTPStatus.OK, form=None):
    Request = pool.get('hb.client.request')
    AccessLog = pool.get('hb.access.log')
    client = login.client
    budget = plan = None
    decisions, requests, lines = [], [], []
    if login.may_view_balance:
        budget = _budget(pool, client)
        plan = _plan(pool, client, budget)
        decisions = _decisions(pool, client)
        requests = Request.search([('client', '=', client.id)])
        if budget:
            lines = [line for line in budget.lines if line.amount]
        AccessLog.log_web('client_case', login.person, 'hb.decision',
            [(d.id, client.id) for d in decisions])
        if plan:
            AccessLog.log_web('client_case', login.person, 'hb.plan',
                [(plan.id, client.id)])
    return render(request, 'client_case.html', language, status=status,
        private=True, csrf_token=login.csrf_token, login=login,
        client=client, budget=budget, plan=plan, lines=lines,
        decisions=decisions, requests=requests,
        may_request=may_make_requests(login),
        move_limit=Request.move_limit(), max_text=MAX_TEXT,
        error=error, message=message, form=form or {}, t=_(language))


@app.route('/<database_name>/hb/client/case', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_case(request, pool, login, language):
    message = DONE.get(request.args.get('done'))
    return _page(request, pool, login, language,
        message=_(language)(message) if message else None)


@app.route(
    '/<database_name>/hb/client/case/letter/<%s:decision_id>' % ID_CONVERTER,
    methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_case_letter(request, pool, login, language, decision_id):
    """The letter of a decision of the logged-in client: the letter
    archived when sent, else the letter rendered now (as PDF when
    LibreOffice converts it)"""
    Decision = pool.get('hb.decision')
    AccessLog = pool.get('hb.access.log')
    if not login.may_view_balance:
        return portal.render_error(request, language,
            HTTPStatus.FORBIDDEN, 'hb_voucher.msg_client_not_allowed')
    decisions = Decision.search([
            ('id', '=', decision_id),
            ('client', '=', login.client.id),
            ('state', 'in', ['approved', 'rejected']),
            ], limit=1)
    if not decisions:
        return portal.render_error(request, language,
            HTTPStatus.NOT_FOUND, 'msg_page_not_found')
    decision, = decisions
    with without_check_access():
        if decision.letter and decision.letter.data:
            name = decision.letter.name
            content = decision.letter.data
            ext = name.rsplit('.', 1)[-1]
        else:
            ext, content, name = render_letter(
                'hb.decision.letter', decision)
            name = '%s.%s' % (name, ext)
    AccessLog.log_web('client_case_letter', login.person, 'hb.decision',
        [(decision.id, login.client.id)])
    response = Response(bytes(content), status=HTTPStatus.OK,
        content_type=CONTENT_TYPES.get(ext, 'application/octet-stream'))
    filename = re.sub(r'[^A-Za-z0-9._-]+', '_', name)
    response.headers['Content-Disposition'] = (
        'attachment; filename="%s"' % filename)
    return portal.secure(response, private=True)


def _done(request, language, done):
    return portal.secure(redirect(portal.url_for(
                request, 'client/case', language, done=done)), private=True)


def _refusal(request, pool, login, language, form):
    """Return the error page when the login may not send a request now
    (no right, or too many today), else None"""
    Request = pool.get('hb.client.request')
    if not (login.may_view_balance and may_make_requests(login)):
        return portal.render_error(request, language, HTTPStatus.FORBIDDEN,
            'hb_voucher.msg_client_case_no_request_right')
    since = dt.datetime.now() - dt.timedelta(days=1)
    with without_check_access():
        count = Request.search_count([
                ('client', '=', login.client.id),
                ('create_date', '>=', since),
                ])
    if count >= MAX_REQUESTS_PER_DAY:
        return _page(request, pool, login, language,
            error=_(language)('msg_client_case_rate_limited'),
            status=HTTPStatus.TOO_MANY_REQUESTS, form=form)
    return None


def _text(form, name, required=True):
    "Return (text, error message id) of the text field name of form"
    text = (form.get(name) or '').strip()
    if required and not text:
        return text, 'msg_client_case_text_required'
    if len(text) > MAX_TEXT:
        return text, 'msg_client_text_too_long'
    return text, None


def _error(request, pool, login, language, message_id, form,
        status=HTTPStatus.BAD_REQUEST):
    return _page(request, pool, login, language,
        error=_(language)(message_id, maximum=MAX_TEXT)
        if message_id == 'msg_client_text_too_long'
        else _(language)(message_id),
        status=status, form=form)


def _new_request(pool, login, kind, **values):
    Request = pool.get('hb.client.request')
    return Request(
        company=Transaction().context.get('company'),
        client=login.client, person=login.person, kind=kind,
        budget=_budget(pool, login.client), **values)


def _save(request, pool, login, language, record, form):
    """Submit the client's request record; return the error page of a
    refusal (rolled back), else None"""
    Request = pool.get('hb.client.request')
    try:
        Request.submit(record)
    except UserError as exception:
        portal.rollback()
        return _page(request, pool, login, language,
            error=exception.message, status=HTTPStatus.BAD_REQUEST,
            form=form)
    return None


def _simple_request(kind, done):
    "The handler of a request that is only a text (message or review)"
    def handler(request, pool, login, language):
        form = request.form.to_dict()
        refusal = _refusal(request, pool, login, language, form)
        if refusal:
            return refusal
        text, error = _text(form, 'text')
        if error:
            return _error(request, pool, login, language, error, form)
        record = _new_request(pool, login, kind, text=text)
        refusal = _save(request, pool, login, language, record, form)
        return refusal or _done(request, language, done)
    handler.__name__ = handler.__qualname__ = 'client_case_' + kind
    return handler


client_case_message = app.route(
    '/<database_name>/hb/client/case/message', methods=['POST'])(
    with_pool(with_transaction(readonly=False)(client_page(
                _simple_request('message', 'sent')))))
client_case_review = app.route(
    '/<database_name>/hb/client/case/review', methods=['POST'])(
    with_pool(with_transaction(readonly=False)(client_page(
                _simple_request('review', 'review')))))


def parse_amount(value):
    "Return the Decimal of a euro amount typed by the client, else None"
    value = (value or '').strip().replace('\u00a0', '').replace(' ', '')
    if len(value) > MAX_AMOUNT_LENGTH or not AMOUNT.match(value):
        return None
    try:
        amount = Decimal(value.replace(',', '.')).quantize(Decimal('0.01'))
    except InvalidOperation:
        return None
    return amount if amount > 0 else None


@app.route('/<database_name>/hb/client/case/move', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_case_move(request, pool, login, language):
    Category = pool.get('hb.service.category')
    form = request.form.to_dict()
    refusal = _refusal(request, pool, login, language, form)
    if refusal:
        return refusal
    text, error = _text(form, 'text', required=False)
    if error:
        return _error(request, pool, login, language, error, form)
    amount = parse_amount(form.get('amount'))
    if amount is None:
        return _error(request, pool, login, language,
            'msg_client_case_amount_invalid', form)
    source, target = _int(form.get('from')), _int(form.get('to'))
    categories = {c.id: c for c in Category.search([
                ('id', 'in', [i for i in (source, target) if i]),
                ])}
    if source not in categories or target not in categories:
        return _error(request, pool, login, language,
            'hb_voucher.msg_client_request_move_categories', form)
    record = _new_request(pool, login, 'move', text=text or None,
        amount=amount, from_category=categories[source],
        to_category=categories[target])
    refusal = _save(request, pool, login, language, record, form)
    if refusal:
        return refusal
    # within the limit but not decided automatically (no official, or
    # their delegation does not cover it): it waits for the own-worker
    if record.state == 'done':
        done = 'moved'
    elif amount <= pool.get('hb.client.request').move_limit():
        done = 'move_waits'
    else:
        done = 'move_requested'
    return _done(request, language, done)


@app.route('/<database_name>/hb/client/case/rectification', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_case_rectification(request, pool, login, language):
    """File a rectification request of a decision of the client: it is
    received today through the client page; one after the deadline is
    received too (it may be dismissed) and the client told so"""
    Rectification = pool.get('hb.decision.rectification')
    form = request.form.to_dict()
    refusal = _refusal(request, pool, login, language, form)
    if refusal:
        return refusal
    text, error = _text(form, 'text')
    if error:
        return _error(request, pool, login, language, error, form)
    decision_id = _int(form.get('decision'))
    decisions = [d for d in _decisions(pool, login.client)
        if d.id == decision_id]
    if not decisions:
        return _error(request, pool, login, language,
            'msg_client_case_decision_required', form)
    decision, = decisions
    try:
        with without_check_access():
            rectification = Rectification(
                company=decision.company, decision=decision,
                channel='client_page', request=text)
            rectification.save()
    except UserError as exception:
        portal.rollback()
        return _page(request, pool, login, language,
            error=exception.message, status=HTTPStatus.BAD_REQUEST,
            form=form)
    record = _new_request(pool, login, 'rectification', text=text,
        rectification=rectification)
    refusal = _save(request, pool, login, language, record, form)
    if refusal:
        return refusal
    return _done(request, language,
        'rectification_late' if rectification.late else 'rectification')
