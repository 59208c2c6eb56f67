# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's own page at /<database>/hb/client: the budget's balance
per category in real time, the transactions, pending charges to confirm,
the burn-rate forecast, ratings of the services used and reports of
missing services. Login by mobile number and one-time code
(client_login.py, the replaceable stand-in for strong identification).

Pages run as user 0: every record is filtered by the logged-in client
here. Representatives see what their rights allow."""
import functools
import os
from types import SimpleNamespace

from trytond import backend
from trytond.exceptions import RateLimitException, UserError
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from trytond.modules.hb_budget.party import normalize_mobile
from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.portal import Translator, render
from trytond.modules.hb_marketplace.tools import ID_CONVERTER, parse_id

from . import saml
from .api import error_status
from .exceptions import ChargeError

SESSION_COOKIE = 'hb_client_session'
MAX_COMMENT = 2000
# Transactions shown a page, newest first
TRANSACTIONS_PAGE = 20

portal.add_template_folder(
    os.path.join(os.path.dirname(__file__), 'templates'))


def _(language):
    "Return the translator of hb_voucher's messages"
    translate = Translator(language)
    return lambda message_id, **kw: translate(
        message_id if '.' in message_id else 'hb_voucher.' + message_id, **kw)


def _int(value):
    "Return the record id (or number from 1) of a parameter, else None"
    return parse_id(value)


def _set_cookie(request, response, pool, key):
    Login = pool.get('hb.client.login')
    response.set_cookie(
        SESSION_COOKIE, key, path=portal.base_path(request) + '/client',
        max_age=int(Login.timeout().total_seconds()), httponly=True,
        secure=request.is_secure, samesite='Strict')
    return response


def _remove_cookie(request, response):
    response.delete_cookie(
        SESSION_COOKIE, path=portal.base_path(request) + '/client',
        httponly=True, secure=request.is_secure, samesite='Strict')
    return response


def _activated(pool):
    return portal.module_activated(pool, 'hb.client.login')


def client_page(func):
    """Decorate a page of the logged-in client: func(request, pool, login,
    language) runs only with a valid session (else the login page) and,
    for POST, a valid CSRF token (else 403)"""
    func = portal.log_failure(func)

    @functools.wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        language = portal.get_language(request)
        if not _activated(pool):
            return portal.secure(Response(
                    'Not Found', status=HTTPStatus.NOT_FOUND,
                    content_type='text/plain'))
        Login = pool.get('hb.client.login')
        with Transaction().set_context(
                language=language, **portal.company_context(pool)):
            login = Login.get_session(request.cookies.get(SESSION_COOKIE))
            if login is None:
                return portal.secure(redirect(portal.url_for(
                            request, 'client/login', language)), private=True)
            if (request.method == 'POST'
                    and not portal.check_csrf(request, login.csrf_token)):
                return portal.render_error(
                    request, language, HTTPStatus.FORBIDDEN,
                    'msg_page_csrf_invalid')
            return func(request, pool, login, language, *args, **kwargs)
    return wrapper


def _busy(func):
    """Decorate the login between with_pool and with_transaction: when
    the code requests of the moment keep the login table locked after
    Tryton's retries, answer "try again" (429) instead of an error"""
    @functools.wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        try:
            return func(request, pool, *args, **kwargs)
        except backend.DatabaseOperationalError:
            language = portal.get_language(request)
            with Transaction().start(pool.database_name, 0, readonly=True):
                return portal.render_error(request, language,
                    HTTPStatus.TOO_MANY_REQUESTS,
                    'hb_voucher.msg_client_login_code_limited')
    return wrapper


@app.route('/<database_name>/hb/client/login', methods=['GET', 'POST'])
@with_pool
@_busy
@with_transaction(readonly=False)
@portal.public_page
def client_login(request, pool, language):
    if not _activated(pool):
        return portal.secure(Response(
                'Not Found', status=HTTPStatus.NOT_FOUND,
                content_type='text/plain'))
    Login = pool.get('hb.client.login')
    translate = _(language)
    token = portal.anonymous_csrf_token(request)
    error, status, step, mobile = None, HTTPStatus.OK, 'mobile', ''
    if request.method == 'POST':
        mobile = request.form.get('mobile', '').strip()[:40]
        code = request.form.get('code')
        if not portal.check_csrf(
                request, request.cookies.get(portal.CSRF_COOKIE, '')):
            error = translate('hb_marketplace.msg_page_csrf_invalid')
            status = HTTPStatus.FORBIDDEN
        else:
            # The code is good only in this browser (its CSRF cookie)
            attempt = request.cookies.get(portal.CSRF_COOKIE)
            try:
                if code is None:
                    step = 'code'
                    try:
                        number = Login.send_code(mobile, language, attempt)
                    except RateLimitException:
                        # the code sent before (if any) is still good
                        error = translate('msg_client_login_code_limited')
                        status = HTTPStatus.TOO_MANY_REQUESTS
                        number = normalize_mobile(mobile)
                    if number:
                        mobile = number
                    else:
                        step = 'mobile'
                        error = translate('msg_client_login_mobile_invalid')
                        status = HTTPStatus.BAD_REQUEST
                else:
                    step = 'code'
                    login, key = Login.verify(mobile, code, attempt)
                    if login:
                        response = redirect(portal.url_for(
                                request, 'client', language))
                        _set_cookie(request, response, pool, key)
                        return portal.secure(response, private=True)
                    error = translate('msg_client_login_code_wrong')
                    status = HTTPStatus.UNAUTHORIZED
            except RateLimitException:
                error = translate('msg_client_login_rate_limited')
                status = HTTPStatus.TOO_MANY_REQUESTS
    response = render(request, 'client_login.html', language, status=status,
        private=True, csrf_token=token, mobile=mobile, step=step,
        error=error, t=translate, strong_login=saml.enabled(),
        logged_out=request.args.get('out') == '1')
    return portal.set_anonymous_csrf_cookie(request, response, token)


@app.route('/<database_name>/hb/client/logout', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_logout(request, pool, login, language):
    Login = pool.get('hb.client.login')
    Login.end([login])
    # A strong login ends at Suomi.fi too (single logout)
    response = saml.logout_redirect(request, login, language) or redirect(
        portal.url_for(request, 'client/login', language))
    _remove_cookie(request, response)
    return portal.secure(response, private=True)


def _records(values):
    """Return values (dictionaries of Model.read, with the related
    records of dotted names) as objects for the templates"""
    if isinstance(values, list):
        return [_records(v) for v in values]
    if isinstance(values, dict):
        return SimpleNamespace(**{k.rstrip('.'): _records(v)
                for k, v in values.items()})
    return values


def _budgets(pool, client):
    """The client's budgets to show (active and suspended, newest first)
    with their lines, read with a read per model (issue 7: the balance
    read) instead of the records' attributes"""
    Budget = pool.get('hb.budget')
    Line = pool.get('hb.budget.line')
    budgets = Budget.search_read([
            ('client', '=', client.id),
            ('state', 'in', ['active', 'suspended']),
            ], order=[('start_date', 'DESC'), ('id', 'DESC')],
        fields_names=['start_date', 'end_date', 'state', 'amount',
            'spent', 'reserved', 'available', 'forecast_exhaustion_date',
            'forecast_unused', 'lines'])
    lines = {line['id']: line for line in Line.read(
            [i for b in budgets for i in b['lines']],
            ['category.rec_name', 'amount', 'spent', 'reserved',
                'available', 'low_balance', 'month_left'])}
    for budget in budgets:
        budget['lines'] = [lines[i] for i in budget['lines']]
        budget['low_balance'] = any(
            line['low_balance'] for line in budget['lines'])
    return _records(budgets)


def _charges(pool, domain, order, offset=0, limit=None):
    "The charges of domain with their lines, for the templates"
    Charge = pool.get('hb.charge')
    Line = pool.get('hb.charge.line')
    charges = Charge.search_read(domain, offset=offset, limit=limit,
        order=order,
        fields_names=['date', 'number', 'provider.name', 'provider.code',
            'amount', 'kind', 'state', 'lines'])
    lines = {line['id']: line for line in Line.read(
            [i for c in charges for i in c['lines']],
            ['quantity', 'product.template.name'])}
    for charge in charges:
        charge['lines'] = [lines[i] for i in charge['lines']]
        provider = charge['provider.']
        # as party.party's get_rec_name (without reading whole parties)
        provider['rec_name'] = provider['name'] or '[%s]' % provider['code']
    return _records(charges)


def _charged_services(pool, client, limit=None):
    """The catalogue services (templates) the client was charged for, by
    name, each with its provider's name (as objects with id, name and
    hb_provider.rec_name); with limit, at most that many (limit=1: whether
    there is any)"""
    Charge = pool.get('hb.charge')
    Line = pool.get('hb.charge.line')
    Product = pool.get('product.product')
    Template = pool.get('product.template')
    Party = pool.get('party.party')
    charge, line = Charge.__table__(), Line.__table__()
    product = Product.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*line.join(charge, condition=line.charge == charge.id
            ).join(product, condition=line.product == product.id
            ).select(product.template,
            where=(charge.client == client.id)
            & (charge.kind == 'charge') & (charge.state == 'captured'),
            group_by=[product.template], limit=limit))
    # (read by id, the providers' names once each: a client who bought
    # from hundreds of providers made this the page's dearest part)
    services = Template.read([t for t, in cursor], ['name', 'hb_provider'])
    providers = {p['id']: SimpleNamespace(
            rec_name=p['name'] or '[%s]' % p['code'])  # as get_rec_name
        for p in Party.read(list({s['hb_provider'] for s in services
                    if s['hb_provider']}), ['name', 'code'])}
    return sorted((SimpleNamespace(id=s['id'], name=s['name'],
                hb_provider=providers.get(s['hb_provider']))
            for s in services), key=lambda s: (s.name, s.id))


def _names(pool, parties):
    """Return {id: name} of parties as party.party's rec_name, read
    without loading the whole parties"""
    Party = pool.get('party.party')
    with without_check_access():
        return {p['id']: p['name'] or '[%s]' % p['code']
            for p in Party.read(list({p.id for p in parties}),
                ['name', 'code'])}


def _home(request, pool, login, language, error=None, message=None,
        status=HTTPStatus.OK, form=None, page=1, **extra):
    Charge = pool.get('hb.charge')
    Category = pool.get('hb.service.category')
    Rating = pool.get('hb.service.rating')
    AccessLog = pool.get('hb.access.log')
    client = login.client
    budgets = _budgets(pool, client) if login.may_view_balance else []
    pending = _charges(pool, [
            ('client', '=', client.id),
            ('state', '=', 'requested'),
            ('expires_at', '>', Charge._now()),
            ], order=[('create_date', 'DESC')])
    transactions, pages = [], 1
    if budgets:
        domain = [
            ('budget', 'in', [b.id for b in budgets]),
            ('state', 'in', ['captured', 'cancelled']),
            ]
        pages = max(1, -(-Charge.search_count(domain) // TRANSACTIONS_PAGE))
        page = min(page, pages)  # beyond the end: the last page
        transactions = _charges(pool, domain,
            order=[('date', 'DESC'), ('id', 'DESC')],
            offset=(page - 1) * TRANSACTIONS_PAGE, limit=TRANSACTIONS_PAGE)
    # The services to rate are listed on asking (rate, or the rating form
    # sent back with an error): whether there is any is one query
    rating_asked = bool(form and ('rate' in form or 'service' in form))
    services = []
    if login.may_view_balance:
        services = _charged_services(pool, client,
            limit=None if rating_asked else 1)
    ratings = {r.service.id: r for r in Rating.search([
                ('client', '=', client.id),
                ('service', 'in', [s.id for s in services]),
                ])}
    AccessLog.log_web('client_page', login.person, 'party.party',
        [(client.id, client.id)])
    AccessLog.log_web('client_page', login.person, 'hb.budget',
        [(b.id, client.id) for b in budgets])
    from .client_claims import client_claims
    claims = client_claims(pool, client)
    AccessLog.log_web('client_page', login.person, 'hb.claim',
        [(c.id, client.id) for c in claims])
    from .client_authorisations import page_context
    from .client_notices import page_context as notices_context
    extra = {'auth_code': None, **page_context(pool, login, form),
        **notices_context(pool, login), **extra}
    names = _names(pool, [client, login.person])
    return render(request, 'client_home.html', language, status=status,
        private=True, csrf_token=login.csrf_token, login=login,
        client=client, client_name=names[client.id],
        person_name=names[login.person.id], budgets=budgets, pending=pending,
        transactions=transactions, page=min(page, pages), pages=pages,
        services=services, ratings=ratings, claims=claims,
        rating_asked=rating_asked,
        categories=Category.search([], order=[('name', 'ASC')]),
        error=error, message=message, form=form or {}, t=_(language),
        **extra)


@app.route('/<database_name>/hb/client', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_home(request, pool, login, language):
    message = {
        'confirmed': 'msg_client_charge_confirmed',
        'refused': 'msg_client_charge_refused',
        'rated': 'msg_client_rated',
        'gap': 'msg_client_gap_reported',
        'disputed': 'msg_client_claim_disputed',
        'authorised': 'msg_client_auth_created',
        'auth_ended': 'msg_client_auth_ended',
        }.get(request.args.get('done'))
    page = portal.page_number(request.args.get('page'))
    if page is None:
        return portal.render_error(
            request, language, HTTPStatus.BAD_REQUEST, 'msg_page_bad_page')
    # The forms' choices asked for (each a GET of the page): a new
    # authorisation (auth_new), the provider chosen for it (its services
    # shown), the services to rate (rate)
    form = {name: request.args.get(name, '')[:20]
        for name in ['auth_new', 'auth_provider', 'rate']
        if request.args.get(name)}
    return _home(request, pool, login, language, page=page,
        message=_(language)(message) if message else None,
        form=form or None)


def _done(request, language, done):
    return portal.secure(redirect(portal.url_for(
                request, 'client', language, done=done)), private=True)


def _client_charge(request, pool, login, language, charge_id):
    """Return (charge, None) for a charge of the logged-in client that the
    login may confirm or refuse, else (None, the error page)"""
    Charge = pool.get('hb.charge')
    if not login.may_confirm_charges:
        return None, portal.render_error(request, language,
            HTTPStatus.FORBIDDEN, 'hb_voucher.msg_client_not_allowed')
    charges = Charge.search([
            ('id', '=', charge_id),
            ('client', '=', login.client.id),
            ], limit=1)
    if not charges:
        return None, portal.render_error(request, language,
            HTTPStatus.NOT_FOUND, 'msg_page_not_found')
    return charges[0], None


@app.route(
    '/<database_name>/hb/client/charge/<%s:charge_id>/confirm' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_confirm(request, pool, login, language, charge_id):
    Charge = pool.get('hb.charge')
    charge, refusal = _client_charge(
        request, pool, login, language, charge_id)
    if refusal:
        return refusal
    try:
        Charge.confirm(charge, check_code=False)
    except ChargeError as exception:
        portal.rollback()
        return _home(request, pool, login, language, error=exception.message,
            status=error_status(exception))
    except UserError as exception:
        portal.rollback()
        return _home(request, pool, login, language, error=exception.message,
            status=HTTPStatus.BAD_REQUEST)
    return _done(request, language, 'confirmed')


@app.route('/<database_name>/hb/client/charge/<int:charge_id>/refuse',
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_refuse(request, pool, login, language, charge_id):
    """Refuse a pending charge: the hold is released and the terminal
    sees the request refused (who may confirm charges may refuse them)"""
    Charge = pool.get('hb.charge')
    charge, refusal = _client_charge(
        request, pool, login, language, charge_id)
    if refusal:
        return refusal
    try:
        Charge.refuse(charge)
    except ChargeError as exception:
        portal.rollback()
        return _home(request, pool, login, language, error=exception.message,
            status=error_status(exception))
    return _done(request, language, 'refused')


@app.route('/<database_name>/hb/client/rate', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_rate(request, pool, login, language):
    Rating = pool.get('hb.service.rating')
    translate = _(language)
    form = request.form
    services = {s.id: s for s in _charged_services(pool, login.client)}
    service = services.get(_int(form.get('service')))
    rating = _int(form.get('rating'))
    comment = (form.get('comment') or '').strip()
    error = None
    if not login.may_view_balance:
        error = translate('msg_client_not_allowed')
    elif service is None:
        error = translate('msg_client_rate_service')
    elif rating not in range(1, 6):
        error = translate('msg_client_rate_value')
    elif len(comment) > MAX_COMMENT:
        error = translate('msg_client_text_too_long', maximum=MAX_COMMENT)
    if error:
        return _home(request, pool, login, language, error=error,
            status=HTTPStatus.BAD_REQUEST, form=form.to_dict())
    existing = Rating.search([
            ('client', '=', login.client.id),
            ('service', '=', service.id),
            ], limit=1)
    record = existing[0] if existing else Rating(
        client=login.client, service=service.id)
    record.rating = rating
    record.comment = comment or None
    try:
        record.save()
    except UserError as exception:
        portal.rollback()
        return _home(request, pool, login, language, error=exception.message,
            status=HTTPStatus.BAD_REQUEST, form=form.to_dict())
    return _done(request, language, 'rated')


@app.route('/<database_name>/hb/client/gap', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_gap(request, pool, login, language):
    Gap = pool.get('hb.service.gap')
    Category = pool.get('hb.service.category')
    translate = _(language)
    form = request.form
    client = login.client
    category_id = _int(form.get('category'))
    categories = Category.search([('id', '=', category_id)], limit=1) \
        if category_id else []
    description = (form.get('description') or '').strip()
    error = None
    if not categories:
        error = translate('msg_client_gap_category')
    elif not description:
        error = translate('msg_client_gap_description')
    elif len(description) > MAX_COMMENT:
        error = translate('msg_client_text_too_long', maximum=MAX_COMMENT)
    if error:
        return _home(request, pool, login, language, error=error,
            status=HTTPStatus.BAD_REQUEST, form=form.to_dict())
    groups = list(client.hb_customer_groups)
    gap = Gap(source='client', client=client,
        municipality=client.hb_municipality,
        customer_group=groups[0] if groups else None,
        category=categories[0], description=description, language=language)
    try:
        gap.save()
    except UserError as exception:
        portal.rollback()
        return _home(request, pool, login, language, error=exception.message,
            status=HTTPStatus.BAD_REQUEST, form=form.to_dict())
    return _done(request, language, 'gap')
