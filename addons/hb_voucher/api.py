# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The JSON API of provider terminals under /<database>/hb/api/v1/.

Authenticated with a provider's key (a Tryton user application of
application "hb_voucher") given as "Authorization: Bearer <key>".
Errors are {"error": {"code": "...", "message": "..."}} with a stable code
and a message in Finnish or English (Accept-Language). The OpenAPI 3
document at openapi.json describes the same routes (see openapi.py)."""
import datetime as dt
import functools
import json
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from trytond import backend
from trytond.cache import Cache
from trytond.config import config
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model.exceptions import SQLConstraintError
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    exceptions,
    with_pool,
    with_transaction,
)
from trytond.transaction import (
    Transaction,
    TransactionError,
    without_check_access,
)
from trytond.wsgi import app

from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.tools import ID_CONVERTER, MAX_ID

from .exceptions import ChargeError, ClaimError
from .openapi import BASE, document

LANGUAGES = ('fi', 'sv', 'en')
MAX_LIST = 1000
ZERO = Decimal('0.00')
# A request body nests 3 levels (object, lines, line): deeper is refused,
# as is a number written with more characters than any quantity or id
MAX_DEPTH = 8
MAX_NUMBER_LENGTH = 32
# The error code of the statuses trytond or werkzeug answer for the API
# (a body too large, a method not allowed, a foreign Origin, a failure)
STATUS_CODES = {
    HTTPStatus.BAD_REQUEST: 'invalid_request',
    HTTPStatus.FORBIDDEN: 'forbidden_origin',
    HTTPStatus.NOT_FOUND: 'not_found',
    HTTPStatus.METHOD_NOT_ALLOWED: 'method_not_allowed',
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: 'too_large',
    HTTPStatus.INTERNAL_SERVER_ERROR: 'internal_error',
    }
# The HTTP status of each error code of a refused charge operation
# (ChargeError.code); any other code is a 400
STATUSES = {
    'wrong_code': HTTPStatus.FORBIDDEN,
    'not_found': HTTPStatus.NOT_FOUND,
    'already_confirmed': HTTPStatus.CONFLICT,
    'already_refunded': HTTPStatus.CONFLICT,
    'cancel_window_passed': HTTPStatus.CONFLICT,
    'code_expired': HTTPStatus.CONFLICT,
    'not_pending': HTTPStatus.CONFLICT,
    'refused': HTTPStatus.CONFLICT,
    'too_many_attempts': HTTPStatus.CONFLICT,
    'idempotency_key_reused': HTTPStatus.UNPROCESSABLE_ENTITY,
    'too_many_codes': HTTPStatus.TOO_MANY_REQUESTS,
    # claims (issue 14)
    'unknown_authorisation': HTTPStatus.NOT_FOUND,
    'duplicate': HTTPStatus.CONFLICT,
    }
# Not from ir.message: the database is what is missing
UNAVAILABLE = {
    'fi': "Palvelu ei ole hetkeen käytettävissä. Yritä pian uudelleen "
    "(veloituspyyntöä samalla idempotenssiavaimella).",
    'sv': "Tjänsten är inte tillgänglig för tillfället. Försök snart igen "
    "(en debiteringsbegäran med samma idempotensnyckel).",
    'en': "The service is unavailable for a moment. Try again shortly "
    "(a charge request with the same idempotency key).",
    }
logger = logging.getLogger(__name__)
# (ids that do not change: read once per process, not on every request)
_default_company = Cache('hb_voucher.api.default_company', context=False)
_currency_code = Cache('hb_voucher.api.currency_code', context=False)


def error_status(exception):
    "Return the HTTP status of the ChargeError exception"
    return STATUSES.get(exception.code, HTTPStatus.BAD_REQUEST)


def json_response(data, status=HTTPStatus.OK):
    response = Response(
        json.dumps(data, ensure_ascii=False, separators=(',', ':')),
        status=status, content_type='application/json; charset=utf-8')
    portal.secure(response, private=True)
    return response


def json_error(code, message, status=HTTPStatus.BAD_REQUEST):
    return json_response(
        {'error': {'code': code, 'message': message}}, status=status)


def message(code, **variables):
    return gettext('hb_voucher.msg_charge_%s' % code, **variables)


def get_language(request):
    return request.accept_languages.best_match(LANGUAGES, default='fi')


def _company_context(pool):
    Company = pool.get('company.company')
    if Transaction().context.get('company'):
        return {}
    company = _default_company.get('first')
    if company is None:
        companies = Company.search([], limit=1, order=[('id', 'ASC')])
        if not companies:
            return {}
        company = companies[0].id
        _default_company.set('first', company)
    return {'company': company}


def currency_code(pool, company):
    "Return the code of the currency of company (cached)"
    Company = pool.get('company.company')
    code = _currency_code.get(company)
    if code is None:
        values, = Company.read([company], ['currency.code'])
        code = values['currency.']['code']
        _currency_code.set(company, code)
    return code


def _bearer_key(request):
    header = request.headers.get('Authorization', '')
    scheme, _, key = header.partition(' ')
    if scheme.lower() == 'bearer' and key.strip():
        return key.strip()
    authorization = request.authorization
    if authorization is not None and authorization.type == 'basic':
        return authorization.get('password')


def authenticate(pool, request):
    "Return the provider party of the request's key or None"
    UserApplication = pool.get('res.user.application')
    key = _bearer_key(request)
    if not key:
        return None
    Party = pool.get('party.party')
    application = UserApplication.check(key, 'hb_voucher')
    if not application or not application.hb_provider:
        return None
    # (a search reads only "active", not the whole party record)
    if not Party.search([
                ('id', '=', application.hb_provider.id),
                ('active', '=', True),
                ], count=True):
        return None
    return application.hb_provider


def api(func):
    """Decorate an API route: func(request, pool, provider, ...) returns
    (data, status); the language, the key and the errors are handled"""
    @functools.wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        transaction = Transaction()
        language = get_language(request)
        try:
            pool.get('hb.charge')
        except KeyError:
            return json_error('not_found', 'Not Found', HTTPStatus.NOT_FOUND)
        with transaction.set_context(language=language), \
                without_check_access():
            with transaction.set_context(_company_context(pool)):
                provider = authenticate(pool, request)
                if provider is None:
                    response = json_error('unauthorized',
                        message('unauthorized'), HTTPStatus.UNAUTHORIZED)
                    response.headers['WWW-Authenticate'] = 'Bearer'
                    return response
                try:
                    data, status = func(
                        request, pool, provider, *args, **kwargs)
                except (ChargeError, ClaimError) as exception:
                    transaction.rollback()
                    return json_error(exception.code, exception.message,
                        error_status(exception))
                except UserError as exception:
                    transaction.rollback()
                    return json_error('invalid_request', exception.message)
                except (exceptions.HTTPException, TransactionError,
                        backend.DatabaseOperationalError):
                    raise
                except Exception:
                    # Never the exception's text to the terminal
                    logger.exception('%s %s failed',
                        request.method, request.path)
                    transaction.rollback()
                    return json_error('internal_error',
                        message('internal_error'),
                        HTTPStatus.INTERNAL_SERVER_ERROR)
                return json_response(data, status)
    return wrapper


def status_error(request, status):
    """Return the API's error of status (the errors trytond or werkzeug
    answer: see portal.ErrorPages)"""
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        return json_error('unavailable', UNAVAILABLE[get_language(request)],
            status)
    code = STATUS_CODES.get(status,
        'internal_error' if status >= 500 else 'invalid_request')
    with Transaction().set_context(language=get_language(request)):
        return json_error(code, message(code), status)


portal.add_error_format('api/', 'hb.charge', status_error)


# serialization failure, deadlock, lock not available
CONFLICTS = {'40001', '40P01', '55P03'}
CONFLICT_RETRIES = 20


class _GaveUp(Exception):
    "The request stopped waiting for its transaction to start"


class _Disconnected(Exception):
    "The database failed a request otherwise than by a conflict"


class _Start:
    """The handshake between a request waiting for its transaction to
    start (unavailable) and the thread running it (started)"""

    def __init__(self):
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.started = self.abandoned = False

    def enter(self):
        "Return whether the request still waits (in its transaction)"
        with self.lock:
            if not self.abandoned:
                self.started = True
                self.ready.set()
            return not self.abandoned

    def give_up(self):
        "Return whether the request gave up (its transaction not started)"
        with self.lock:
            self.abandoned = not self.started
            return self.abandoned


_local = threading.local()
_starters = {}  # process id: executor
_starters_lock = threading.Lock()


def _starter():
    "Return the threads running the API's transactions in this process"
    pid = os.getpid()
    executor = _starters.get(pid)
    if executor is None:
        with _starters_lock:
            executor = _starters.get(pid)
            if executor is None:
                executor = _starters[pid] = ThreadPoolExecutor(
                    config.getint('database', 'maxconn', default=64),
                    thread_name_prefix='hb-api')
    return executor


def _run_started(func, request, pool, *args, **kwargs):
    """Run func (a route under with_transaction) in a thread and wait at
    most [hb_voucher] database_wait seconds (default 5) for its
    transaction to start, else raise _GaveUp.

    The transaction's connection comes from psycopg_pool, which waits up
    to its timeout (30 s) for one while the database is down; trytond has
    no setting for that wait ([database] timeout is the idle time of a
    database) and the pool is not its public API. A terminal must get its
    answer within seconds during a fail-over (tests/test_pg_restart.py):
    a transaction that starts after the request gave up does nothing
    (started raises _GaveUp in it)."""
    wait = config.getfloat('hb_voucher', 'database_wait', default=5)
    if backend.name != 'postgresql' or wait <= 0:
        # (no pool to wait for; or no bound wanted: 0)
        return func(request, pool, *args, **kwargs)
    start = _Start()

    def run():
        if start.abandoned:
            return None
        _local.start = start
        try:
            return func(request, pool, *args, **kwargs)
        finally:
            _local.start = None
    future = _starter().submit(run)
    future.add_done_callback(lambda future: start.ready.set())
    if not start.ready.wait(wait) and start.give_up():
        raise _GaveUp()
    return future.result()


def started(func):
    """Decorate a route under with_transaction (and over api): tell the
    request waiting for it that the transaction has its connection, and
    let with_transaction retry only the database's conflicts (a retry
    after a lost connection would wait for a new one as long as the
    pool's timeout)"""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = getattr(_local, 'start', None)
        if start is not None and not start.enter():
            raise _GaveUp()
        try:
            return func(*args, **kwargs)
        except backend.DatabaseOperationalError as exception:
            if getattr(exception, 'sqlstate', None) in CONFLICTS:
                raise
            raise _Disconnected(str(exception)) from exception
    return wrapper


def unavailable(func):
    """Decorate a route between with_pool and with_transaction: when the
    database cannot be reached (or stays locked after the retries) answer
    503 with the error code "unavailable" instead of an HTML error"""
    @functools.wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        attempt = 0
        while True:
            try:
                return _run_started(func, request, pool, *args, **kwargs)
            except (backend.DatabaseOperationalError, _GaveUp,
                    _Disconnected) as exception:
                # Many terminals charging one budget conflict on its line
                # (PostgreSQL's serialization failures under Tryton's
                # repeatable read): each conflict means another charge
                # went through, so try again after a random pause, beyond
                # with_transaction's few retries at fixed intervals
                attempt += 1
                if (getattr(exception, 'sqlstate', None) in CONFLICTS
                        and attempt < CONFLICT_RETRIES):
                    time.sleep(random.uniform(0.005, 0.03) * attempt)
                    continue
                logger.warning('database unavailable for %s: %s',
                    request.path, str(exception) or type(exception).__name__)
                response = json_error('unavailable',
                    UNAVAILABLE[get_language(request)],
                    HTTPStatus.SERVICE_UNAVAILABLE)
                response.headers['Retry-After'] = '2'
                return response
    return wrapper


def _number(parse):
    def parse_number(text):
        if len(text) > MAX_NUMBER_LENGTH:
            raise ValueError('number too long')
        return parse(text)
    return parse_number


def _not_a_number(text):
    raise ValueError('%s is not JSON' % text)


def _depth(value):
    "Return how deep value nests (at most MAX_DEPTH + 1)"
    depth, level = 0, [value]
    while level and depth <= MAX_DEPTH:
        depth += 1
        level = [v for item in level for v in (
                item.values() if isinstance(item, dict)
                else item if isinstance(item, list) else ())]
    return depth


def read_json(request):
    """Return the JSON object of the request body or raise ChargeError:
    not JSON, nested deeper than MAX_DEPTH or with a number longer than
    MAX_NUMBER_LENGTH is invalid_json"""
    try:
        data = json.loads(request.get_data(as_text=True) or '{}',
            parse_int=_number(int), parse_float=_number(float),
            parse_constant=_not_a_number)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ChargeError('invalid_json', message('invalid_json')) from None
    if _depth(data) > MAX_DEPTH:
        raise ChargeError('invalid_json', message('invalid_json'))
    if not isinstance(data, dict):
        raise ChargeError('invalid_request', message('invalid_request'))
    return data


def _date(value):
    if value is None:
        return None
    return value.isoformat()


def _timestamp(value):
    "RFC 3339 (the document's date-time): trytond runs in UTC"
    if value is None:
        return None
    return value.replace(microsecond=0, tzinfo=dt.timezone.utc).isoformat()


def _decimal(value):
    "A decimal string as the other amounts, or None"
    return str(value) if value is not None else None


def charge_data(charge):
    """Return the JSON representation of charge (never the client's HETU).

    Read field by field with a read per model (a terminal reads charges
    often: issue 7's balance read), not through the records' attributes,
    which load whole records (the client party, the sale, the company)."""
    pool = Pool()
    Charge = pool.get('hb.charge')
    Line = pool.get('hb.charge.line')
    BudgetLine = pool.get('hb.budget.line')
    Party = pool.get('party.party')
    Product = pool.get('product.product')
    Sale = pool.get('sale.point.sale')
    values, = Charge.read([int(charge)], [
            'number', 'kind', 'state', 'date', 'client', 'amount',
            'company', 'idempotency_key', 'origin', 'expires_at',
            'captured_at', 'cancelled_at', 'sale', 'invoice_line',
            'refused'])
    # (only a captured charge can have been refunded)
    refunded = Charge.get_refunded_amount([values['id']], 'refunded_amount')[
        values['id']] if (values['kind'] == 'charge'
        and values['state'] in {'captured', 'cancelled'}) else ZERO
    # (posted: its sale is posted; a charge just captured has none yet)
    posted = bool(values['sale']) and Sale.read(
        [values['sale']], ['state'])[0]['state'] == 'posted'
    client, = Party.read([values['client']], ['name', 'code'])
    lines = Line.search_read([('charge', '=', values['id'])],
        fields_names=['product', 'quantity', 'unit_price', 'amount',
            'budget_line'])
    products = {p['id']: p for p in Product.read(
            list({line['product'] for line in lines}), ['name', 'code'])}
    # what is left this month of a budget line with a monthly cap (the
    # AVAIN pilot's), None without one
    month_left = {b['id']: b['month_left'] for b in BudgetLine.read(
            list({line['budget_line'] for line in lines}), ['month_left'])}

    def rec_name(record, product=False):
        # as party.party's and product.product's get_rec_name
        if product:
            return ('[%s] %s' % (record['code'], record['name'])
                if record['code'] else record['name'])
        return record['name'] or '[%s]' % record['code']
    return {
        'id': values['id'],
        'number': values['number'],
        'kind': values['kind'],
        'state': values['state'],
        'date': _date(values['date']),
        'client_name': rec_name(client),
        'amount': str(values['amount']),
        'currency': currency_code(pool, values['company']),
        'refunded_amount': str(refunded),
        'idempotency_key': values['idempotency_key'],
        'origin': values['origin'],
        'expires_at': _timestamp(values['expires_at']),
        'captured_at': _timestamp(values['captured_at']),
        'cancelled_at': _timestamp(values['cancelled_at']),
        'posted': posted,
        'refused': bool(values['refused']),
        'billed': bool(values['invoice_line']),
        'lines': [{
                'service': line['product'],
                'name': rec_name(products[line['product']], product=True),
                'quantity': str(line['quantity']),
                'unit_price': str(line['unit_price']),
                'amount': str(line['amount']),
                'month_left': _decimal(month_left[line['budget_line']]),
                } for line in lines],
        }


def own_charge(pool, provider, charge_id):
    Charge = pool.get('hb.charge')
    charges = Charge.search([
            ('id', '=', charge_id),
            ('provider', '=', provider.id),
            ], limit=1)
    if not charges:
        raise ChargeError('not_found', message('not_found'))
    return charges[0]


def log_reads(pool, provider, charges):
    """Record in the access log that the provider's terminal was shown
    the client data of charges (the client's name)"""
    AccessLog = pool.get('hb.access.log')
    AccessLog.log_web('api', provider, 'hb.charge',
        [(c.id, c.client.id) for c in charges])


def request_charge(pool, provider, data):
    """Request the charge described by data (the JSON body);
    return (charge, created)"""
    Charge = pool.get('hb.charge')
    lines = data.get('lines')
    mobile = data.get('mobile')
    key = data.get('idempotency_key')
    if (not isinstance(lines, list) or not lines
            or not isinstance(mobile, str) or not isinstance(key, str)
            or not key):
        raise ChargeError('invalid_request', message('invalid_request'))
    items = []
    for line in lines:
        if not isinstance(line, dict) or not isinstance(
                line.get('service'), int) or isinstance(
                line.get('service'), bool) or not (
                0 < line['service'] <= MAX_ID):
            raise ChargeError('invalid_request', message('invalid_request'))
        items.append((line['service'], line.get('quantity')))
    transaction = Transaction()
    try:
        return Charge.request(provider, mobile, items, key)
    except SQLConstraintError:
        # The same key was used at the same time: return the first charge
        transaction.rollback()
        charge = Charge.find_by_key(provider, key)
        if charge:
            charge.check_same_request(mobile, items)
            return charge, False
        raise


@app.route(BASE + '/<path:rest>',
    methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
def unknown(request, database_name, rest):
    """Any other URL of the API: a JSON 404 (trytond's catch-all is a
    405), or 405 for an address of the API with another method"""
    adapter = app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']:
        try:
            endpoint, _ = adapter.match(method=method)
        except exceptions.HTTPException:
            continue
        if endpoint is not unknown:
            allowed.append(method)
    if allowed:
        # answered as the API's error by portal.ErrorPages
        raise exceptions.MethodNotAllowed(valid_methods=allowed)
    return json_error('not_found', 'Not Found', HTTPStatus.NOT_FOUND)


@app.route(BASE + '/openapi.json', methods=['GET'])
def openapi(request, database_name):
    return json_response(document(
            '%s/%s%s' % (request.script_root, database_name,
                BASE.split('<database_name>', 1)[1])))


@app.route(BASE + '/charges', methods=['GET', 'POST'])
@with_pool
@unavailable
@with_transaction()
@started
@api
def charges(request, pool, provider):
    Charge = pool.get('hb.charge')
    Date = pool.get('ir.date')
    if request.method == 'POST':
        charge, created = request_charge(pool, provider, read_json(request))
        log_reads(pool, provider, [charge])
        return charge_data(charge), (
            HTTPStatus.CREATED if created else HTTPStatus.OK)
    today = Date.today()
    try:
        # absent: the default; present but empty or not a date: refused
        from_ = request.args.get('from')
        from_ = dt.date.fromisoformat(from_) if from_ is not None else today
        to = request.args.get('to')
        to = dt.date.fromisoformat(to) if to is not None else from_
    except ValueError:
        raise ChargeError('invalid_date', message('invalid_date')) from None
    records = Charge.search([
            ('provider', '=', provider.id),
            ('date', '>=', from_),
            ('date', '<=', to),
            ], order=[('id', 'ASC')], limit=MAX_LIST)
    log_reads(pool, provider, records)
    return {
        'from': from_.isoformat(),
        'to': to.isoformat(),
        'charges': [charge_data(c) for c in records],
        }, HTTPStatus.OK


@app.route(
    BASE + '/charges/<%s:charge_id>' % ID_CONVERTER,
    methods=['GET'])
@with_pool
@unavailable
@with_transaction()
@started
@api
def charge(request, pool, provider, charge_id):
    record = own_charge(pool, provider, charge_id)
    log_reads(pool, provider, [record])
    return charge_data(record), HTTPStatus.OK


@app.route(
    BASE + '/charges/<%s:charge_id>/confirm' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@unavailable
@with_transaction()
@started
@api
def charge_confirm(request, pool, provider, charge_id):
    Charge = pool.get('hb.charge')
    data = read_json(request)
    record = own_charge(pool, provider, charge_id)
    code = data.get('code')
    if not isinstance(code, str):
        raise ChargeError('invalid_request', message('invalid_request'))
    record = Charge.confirm(record, code)
    log_reads(pool, provider, [record])
    return charge_data(record), HTTPStatus.OK


@app.route(
    BASE + '/charges/<%s:charge_id>/cancel' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@unavailable
@with_transaction()
@started
@api
def charge_cancel(request, pool, provider, charge_id):
    Charge = pool.get('hb.charge')
    read_json(request)
    record = own_charge(pool, provider, charge_id)
    record = Charge.cancel(record, provider=provider)
    return charge_data(Charge(record.id)), HTTPStatus.OK
