# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The toolkit of the public pages and of the provider portal.

Other modules (hb_voucher) build their portal pages with it::

    from trytond.modules.hb_marketplace import portal
    from trytond.wsgi import app
    from trytond.protocols.wrappers import with_pool, with_transaction

    portal.add_template_folder(os.path.join(os.path.dirname(__file__),
            'templates'))
    portal.add_navigation('charges', 'hb_voucher.msg_page_charges', 20)

    @app.route('/<database_name>/hb/provider/charges',
        methods=['GET', 'POST'])
    @with_pool
    @with_transaction(readonly=False)
    @portal.provider_page
    def charges(request, pool, session, language):
        # session.user: the web.user, session.party: the provider;
        # filter every record by session.party yourself (routes run as
        # user 0, no record rule applies).
        return portal.render(request, 'charges.html', language,
            session=session, ...)

Templates extend ``portal_layout.html`` (or ``layout.html`` for public
pages); every form includes ``{{ csrf_field() }}``. POSTs without the
session's CSRF token are refused before the page function runs.
Pages are rendered by jinja2 with autoescape; every response carries the
security headers of ``SECURITY_HEADERS``."""
import datetime
import functools
import hmac
import logging
import os
import re
import secrets
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from markupsafe import Markup
from trytond import backend
from trytond.config import config
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    HTTPStatus,
    Request,
    Response,
    exceptions,
    redirect,
)
from trytond.transaction import (
    Transaction,
    TransactionError,
    without_check_access,
)

LANGUAGES = ('fi', 'sv', 'en')
# The languages whose numbers and dates are written the Finnish way
# (Finland-Swedish as Finnish: 1\u00a0234,50\u00a0€, 1.12.2026)
NORDIC = {'fi', 'sv'}
DEFAULT_LANGUAGE = 'fi'
SESSION_COOKIE = 'hb_provider_session'
CSRF_COOKIE = 'hb_csrf'
CSRF_FIELD = 'csrf_token'
SECURITY_HEADERS = {
    'Content-Security-Policy': (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
    }
# Sent on every answer under /<database>/hb/ that came over https (as
# trytond sees it: X-Forwarded-Proto counts only with [web] num_proxies)
HSTS = 'max-age=31536000'
logger = logging.getLogger(__name__)

_loader = ChoiceLoader([
        FileSystemLoader(os.path.join(os.path.dirname(__file__), 'templates')),
        ])
environment = Environment(
    loader=_loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)

# Entries of the portal's navigation: (sequence, path under
# /<database>/hb/provider, message id)
NAVIGATION = [
    (10, '', 'hb_marketplace.msg_page_portal_home'),
    ]


def add_template_folder(path):
    "Let templates of path be found first (another module's pages)"
    _loader.loaders.insert(0, FileSystemLoader(path))


# The model each entry needs: its link is shown only in the databases
# that activated the entry's module
_NAVIGATION_MODELS = {}


def add_navigation(path, message_id, sequence=50, model=None):
    """Add a link to path (under /hb/provider) to the portal's navigation,
    shown only where model exists when given"""
    entry = (sequence, path, message_id)
    if entry not in NAVIGATION:
        NAVIGATION.append(entry)
        NAVIGATION.sort()
    if model:
        _NAVIGATION_MODELS[path] = model


def navigation():
    "Return the entries of the navigation of the current database"
    database = Transaction().database
    if not _NAVIGATION_MODELS or database is None:
        return list(NAVIGATION)
    pool = Pool(database.name)
    return [e for e in NAVIGATION
        if e[1] not in _NAVIGATION_MODELS
        or module_activated(pool, _NAVIGATION_MODELS[e[1]])]


def get_language(request):
    """Return the page language: the lang parameter, else the browser's
    preference among LANGUAGES, else Finnish"""
    language = request.args.get('lang')
    if request.method == 'POST' and not language:
        language = request.form.get('lang')
    if language in LANGUAGES:
        return language
    return request.accept_languages.best_match(
        LANGUAGES, default=DEFAULT_LANGUAGE)


class Translator:
    "Call with a message id to get its text in the page language"

    def __init__(self, language):
        self.language = language
        # The texts without variables already asked (a page asks the same
        # labels for each of its rows)
        self._texts = {}

    def __call__(self, message_id, **variables):
        if not variables and message_id in self._texts:
            return self._texts[message_id]
        key = message_id
        if '.' not in message_id:
            message_id = 'hb_marketplace.' + message_id
        with Transaction().set_context(language=self.language):
            text = gettext(message_id, **variables)
        if not variables:
            self._texts[key] = text
        return text

    def optional(self, message_id):
        """Return the text of message_id, or None when its module is not
        activated (a link to a page of another module)"""
        try:
            text = self(message_id)
        except KeyError:  # in tests, gettext raises for a missing message
            return None
        # outside tests, gettext answers a missing message with its id
        return text if text != message_id else None


def base_path(request):
    "Return the path of /<database>/hb"
    return '%s/%s/hb' % (
        request.script_root, request.view_args['database_name'])


def page_number(value):
    """Return the page number of the page parameter: 1 when missing, None
    when it is not a whole number from 1 (a huge one is beyond any last
    page)"""
    if value is None:
        return 1
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()):
        return None
    digits = digits.lstrip('0')
    if not digits:
        return None
    return int(digits) if len(digits) <= 9 else 10 ** 9


def url_for(request, path, language=None, **params):
    "Return the URL of path under /<database>/hb with query params"
    url = base_path(request) + '/' + path.lstrip('/')
    query = [(k, v) for k, v in params.items() if v not in (None, '')]
    if language:
        query.append(('lang', language))
    if query:
        url += '?' + urlencode(query, doseq=True)
    return url


def secure(response, private=False):
    "Add the security headers to response (no caching when private)"
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if private:
        response.headers['Cache-Control'] = 'no-store'
    return response


class Formatter:
    """The numbers, money and dates of a page in its language: one
    formatter per language, used by every template (number, money, day,
    quantity)"""

    def __init__(self, language):
        self.language = language
        self.nordic = language in NORDIC

    def number(self, value, digits=1):
        "Return value with digits decimals (3,5 in Finnish and Swedish)"
        if value is None:
            return ''
        text = '{:,.{digits}f}'.format(value, digits=digits)
        if self.nordic:
            return text.replace(',', '\u00a0').replace('.', ',')
        return text

    def money(self, value):
        "Return the amount in euros (1\u00a0234,50\u00a0€; €1,234.50)"
        if value is None:
            return ''
        text = self.number(value, 2)
        if self.nordic:
            return text + '\u00a0€'
        return '€' + text

    def quantity(self, value):
        "Return a quantity with the decimals it has (1,5)"
        if value is None:
            return ''
        text = format(value.normalize(), 'f')
        return text.replace('.', ',') if self.nordic else text

    def day(self, value):
        "Return the date (1.12.2026 in Finnish and Swedish, ISO in English)"
        if value is None:
            return ''
        if isinstance(value, datetime.datetime):
            value = value.date()
        if self.nordic:
            return '%d.%d.%d' % (value.day, value.month, value.year)
        return value.isoformat()


def site_settings(language):
    """Return the wellbeing area's name, whether it has a logo and the
    texts of the settings for the header and footer of every page"""
    database = Transaction().database
    settings = {'name': None, 'logo': False}
    if database is None:
        return settings
    pool = Pool(database.name)
    if not module_activated(pool):
        return settings
    Configuration = pool.get('hb.configuration')
    with Transaction().set_context(language=language):
        # (these two, cached: the record's attributes would load every
        # setting, the company-dependent ones each with a query, on every
        # page)
        configuration = Configuration.get_values(
            ['hb_area_name', 'hb_logo_id'])
        settings['name'] = configuration['hb_area_name']
        settings['logo'] = bool(configuration['hb_logo_id'])
        if not settings['name']:
            company = Transaction().context.get('company')
            if company:
                # (the party's name read alone, as party.party's rec_name:
                # the company record would load its accounting settings)
                Company = pool.get('company.company')
                Party = pool.get('party.party')
                with without_check_access():
                    party, = Party.read([Company.read(
                                [company], ['party'])[0]['party']],
                        ['name', 'code'])
                settings['name'] = party['name'] or '[%s]' % party['code']
    return settings


def render(request, template_name, language, status=HTTPStatus.OK,
        private=False, session=None, csrf_token=None, **context):
    "Render the jinja2 template into an HTML response with the headers"
    template = environment.get_template(template_name)
    if csrf_token is None and session is not None:
        csrf_token = session.csrf_token

    def csrf_field():
        return Markup(
            '<input type="hidden" name="%s" value="%s">') % (
            CSRF_FIELD, csrf_token or '')

    def url(path, **params):
        return url_for(request, path, language, **params)

    def switch_language(other):
        params = request.args.to_dict(flat=False)
        params['lang'] = other
        return '%s?%s' % (request.path, urlencode(params, doseq=True))

    translate = Translator(language)

    formats = Formatter(language)

    def maxlength(model, field):
        "Return the maxlength attribute of a text box for field of model"
        size = field_size(model, field)
        return Markup(' maxlength="%d"') % size if size else ''

    # The formats of the language, unless the page gives its own
    values = {
        'money': formats.money, 'number': formats.number,
        'day': formats.day, 'quantity': formats.quantity,
        }
    values.update(context)
    body = template.render(
        _=translate, lang=language, languages=LANGUAGES,
        url=url, base=base_path(request), switch_language=switch_language,
        csrf_field=csrf_field, session=session, navigation=navigation(),
        site=site_settings(language), maxlength=maxlength,
        request_path=request.path, **values)
    response = Response(
        body, status=status, content_type='text/html; charset=utf-8')
    return secure(response, private=private or session is not None)


def field_size(model, field):
    "Return the size of the text field of model (None when unlimited)"
    return getattr(getattr(Pool().get(model), field), 'size', None)


def render_error(request, language, status, message_id, **context):
    "Render the error page for status with the message of message_id"
    return render(request, 'error.html', language, status=status,
        message=Translator(language)(message_id), **context)


def strong_login_enabled(pool):
    """Tell if Suomi.fi e-Identification is configured ([hb_saml]
    idp_metadata) and its pages are there (hb_voucher's saml.py)"""
    return bool(config.get('hb_saml', 'idp_metadata', default='')) and (
        module_activated(pool, 'hb.saml.request'))


def module_activated(pool, model='hb.provider.contract'):
    "Tell if the database has the marketplace activated"
    try:
        pool.get(model)
    except KeyError:
        return False
    return True


# CSRF: a token in a hidden field of every form, checked on POST.
# With a portal session it is derived from the (secret, HttpOnly) session
# key; before login (login, application, password forms) it is a random
# value also kept in an HttpOnly SameSite=Strict cookie (double submit).

def check_csrf(request, expected):
    "Tell if the posted CSRF token is the expected one"
    posted = request.form.get(CSRF_FIELD, '')
    return bool(expected) and hmac.compare_digest(
        posted.encode('utf-8'), expected.encode('utf-8'))


def anonymous_csrf_token(request):
    "Return the CSRF token of a visitor without session (cookie or new)"
    token = request.cookies.get(CSRF_COOKIE, '')
    if len(token) < 32 or not token.replace('-', '').replace(
            '_', '').isalnum():
        token = secrets.token_urlsafe(32)
    return token


def set_anonymous_csrf_cookie(request, response, token):
    response.set_cookie(
        CSRF_COOKIE, token, path=base_path(request), httponly=True,
        secure=request.is_secure, samesite='Strict')
    return response


class PortalSession:
    "The logged-in web user of a provider portal request"

    def __init__(self, key, user):
        self.key = key
        self.user = user

    @property
    def party(self):
        return self.user.party

    @property
    def csrf_token(self):
        return hmac.new(
            self.key.encode('utf-8'), b'hb-provider-portal-csrf',
            'sha256').hexdigest()


def session_timeout(pool):
    "Return the idle timeout of portal sessions in seconds"
    Configuration = pool.get('hb.configuration')
    return Configuration(1).get_hb_portal_timeout()


def get_session(request, pool):
    """Return the PortalSession of the request's cookie or None.

    A session idle longer than the portal timeout (or web_user's own
    timeout) is deleted; an active one is refreshed."""
    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return None
    Session = pool.get('web.user.session')
    sessions = Session.search([('key', '=', key)], limit=1)
    if not sessions:
        return None
    session, = sessions
    idle = abs(datetime.datetime.now() - session.last_modified_at)
    transaction = Transaction()
    if (idle > datetime.timedelta(seconds=session_timeout(pool))
            or session.expired):
        if not transaction.readonly:
            Session.delete([session])
        return None
    user = session.user
    if not user.active or not user.party:
        return None
    if not transaction.readonly:
        Session.reset(key)
    return PortalSession(key, user)


def set_session_cookie(request, response, pool, key):
    response.set_cookie(
        SESSION_COOKIE, key, path=base_path(request) + '/provider',
        max_age=session_timeout(pool), httponly=True,
        secure=request.is_secure, samesite='Strict')
    return response


def remove_session_cookie(request, response):
    response.delete_cookie(
        SESSION_COOKIE, path=base_path(request) + '/provider',
        httponly=True, secure=request.is_secure, samesite='Strict')
    return response


def company_context(pool):
    """Return the context of the company (the wellbeing area) whose prices
    the pages show: the context's, else the first company"""
    context = Transaction().context
    if context.get('company'):
        return {}
    Company = pool.get('company.company')
    companies = Company.search([], limit=1, order=[('id', 'ASC')])
    return {'company': companies[0].id} if companies else {}


def public_page(func):
    """Decorate a public page: func(request, pool, language, ...) runs in
    the page language; 404 when the database lacks the marketplace"""
    func = log_failure(func)

    @functools.wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        language = get_language(request)
        if not module_activated(pool):
            return secure(Response(
                    'Not Found', status=HTTPStatus.NOT_FOUND,
                    content_type='text/plain'))
        with Transaction().set_context(
                language=language, **company_context(pool)):
            return func(request, pool, language, *args, **kwargs)
    return wrapper


def provider_page(func):
    """Decorate a page of the provider portal: func(request, pool, session,
    language, ...) runs only with a valid session (else redirect to the
    login page) and, for POST, a valid CSRF token (else 403)"""
    func = log_failure(func)

    @functools.wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        language = get_language(request)
        if not module_activated(pool):
            return secure(Response(
                    'Not Found', status=HTTPStatus.NOT_FOUND,
                    content_type='text/plain'))
        with Transaction().set_context(
                language=language, **company_context(pool)):
            session = get_session(request, pool)
            if session is None:
                response = redirect(url_for(
                        request, 'provider/login', language))
                return secure(response, private=True)
            if (request.method == 'POST'
                    and not check_csrf(request, session.csrf_token)):
                return render_error(
                    request, language, HTTPStatus.FORBIDDEN,
                    'msg_page_csrf_invalid', session=session)
            return func(request, pool, session, language, *args, **kwargs)
    return wrapper


def rollback():
    "Undo what the failed request wrote (keep nothing half-written)"
    Transaction().rollback()


# Error pages: every answer under /<database>/hb/ in the format of its
# path (the HTML page with the site's layout, or what add_error_format
# registered, e.g. the JSON API's error object), with the security
# headers and never the text of an exception. Pages answer their own
# refusals; ErrorPages answers what trytond or werkzeug answers for them
# (no route: 404, a method not allowed: 405, a body too large: 413, a
# foreign Origin: 403, an exception: 500).

# The message of the error page of each status (others: by class)
ERROR_MESSAGES = {
    HTTPStatus.BAD_REQUEST: 'msg_page_bad_request',
    HTTPStatus.FORBIDDEN: 'msg_page_forbidden',
    HTTPStatus.NOT_FOUND: 'msg_page_not_found',
    HTTPStatus.METHOD_NOT_ALLOWED: 'msg_page_method_not_allowed',
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: 'msg_page_too_large',
    HTTPStatus.INTERNAL_SERVER_ERROR: 'msg_page_server_error',
    HTTPStatus.SERVICE_UNAVAILABLE: 'msg_page_unavailable',
    }
_HB_PATH = re.compile(r'^/([^/]+)/hb(/.*)?$')
# (path under /<database>/hb/, model, function(request, status)): the
# error answers of other formats, in databases where model exists
_ERROR_FORMATS = []


def add_error_format(prefix, model, func):
    """Answer the errors of the paths under /<database>/hb/<prefix> with
    func(request, status) (called in a transaction of the database, when
    it has model), which returns a Response"""
    entry = (prefix, model, func)
    if entry not in _ERROR_FORMATS:
        _ERROR_FORMATS.append(entry)


def error_language(request):
    "The page language of an error page (never from the body)"
    language = request.args.get('lang')
    if language in LANGUAGES:
        return language
    return request.accept_languages.best_match(
        LANGUAGES, default=DEFAULT_LANGUAGE)


def _error_page(request, status):
    language = error_language(request)
    message_id = ERROR_MESSAGES.get(status, 'msg_page_server_error'
        if status >= 500 else 'msg_page_bad_request')
    with Transaction().set_context(language=language):
        return render_error(request, language, status, message_id)


def render_status(request, status):
    """Return the answer of status for the request's path (its format,
    its database's messages; a bare status line without the database)"""
    match = _HB_PATH.match(request.path)
    database_name, rest = match.groups() if match else (None, '')
    rest = (rest or '/').lstrip('/')
    request.view_args = {'database_name': database_name}
    func, model = _error_page, 'hb.provider.contract'
    for prefix, model_, func_ in _ERROR_FORMATS:
        if rest.startswith(prefix):
            func, model = func_, model_
            break
    try:
        # Only databases already loaded: a stranger's path must not
        # make the server open a database
        if database_name in Pool.database_list():
            pool = Pool(database_name)
            with Transaction().start(database_name, 0, readonly=True):
                if module_activated(pool, model):
                    return func(request, status)
    except Exception:
        logger.exception('error page %s of %s', int(status), request.path)
    return Response(
        '%d %s' % (status, HTTPStatus(status).phrase), status=status,
        content_type='text/plain; charset=utf-8')


class ErrorPages:
    "The WSGI middleware of the error answers under /<database>/hb/"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        match = _HB_PATH.match(environ.get('PATH_INFO') or '')
        if not match:
            return self.app(environ, start_response)
        started, passthrough = [], []

        def capture(status, headers, exc_info=None):
            if passthrough:
                return start_response(status, headers, exc_info)
            started[:] = [status, headers, exc_info]
            return lambda data: None

        try:
            body = self.app(environ, capture)
        except exceptions.HTTPException as exception:
            # trytond refuses a foreign Origin by raising 403
            return self.error(environ, start_response, exception.code)
        except Exception:
            logger.exception('%s %s failed',
                environ.get('REQUEST_METHOD'), environ.get('PATH_INFO'))
            return self.error(
                environ, start_response, HTTPStatus.INTERNAL_SERVER_ERROR)
        if not started:
            passthrough.append(True)
            return body
        status, headers, exc_info = started
        code = int(status.split(None, 1)[0])
        names = {name.lower() for name, _ in headers}
        if code >= 400 and 'content-security-policy' not in names:
            # trytond's or werkzeug's own answer (with its text)
            if hasattr(body, 'close'):
                body.close()
            allow = {m.strip() for name, value in headers
                if name.lower() == 'allow' for m in value.split(',')}
            if (code == HTTPStatus.METHOD_NOT_ALLOWED
                    and allow <= {'OPTIONS', ''}):
                # only trytond's catch-all of OPTIONS matched: no page
                code = HTTPStatus.NOT_FOUND
            return self.error(environ, start_response, code, headers)
        headers = list(headers)
        for name, value in SECURITY_HEADERS.items():
            if name.lower() not in names:
                headers.append((name, value))
        if environ.get('wsgi.url_scheme') == 'https':
            headers.append(('Strict-Transport-Security', HSTS))
        start_response(status, headers, exc_info)
        return body

    def error(self, environ, start_response, code, headers=()):
        request = Request(environ)
        response = render_status(request, code)
        secure(response, private=True)
        for name, value in headers:
            if name.lower() in {'allow', 'retry-after'}:
                response.headers[name] = value
        if environ.get('wsgi.url_scheme') == 'https':
            response.headers['Strict-Transport-Security'] = HSTS
        return response(environ, start_response)


def install_error_pages(app):
    "Answer the errors under /<database>/hb/ of the WSGI app (once)"
    if not isinstance(app.wsgi_app, ErrorPages):
        app.wsgi_app = ErrorPages(app.wsgi_app)


def log_failure(func):
    """Decorate a page: log at error level an exception that is not a
    refusal (trytond answers it 500, ErrorPages shows the page)"""
    @functools.wraps(func)
    def wrapper(request, *args, **kwargs):
        try:
            return func(request, *args, **kwargs)
        except (exceptions.HTTPException, UserError, TransactionError,
                backend.DatabaseOperationalError):
            raise
        except Exception:
            logger.exception('%s %s failed', request.method, request.path)
            raise
    return wrapper
