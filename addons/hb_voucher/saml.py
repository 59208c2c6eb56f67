# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Strong electronic identification of the client page with Suomi.fi
e-Identification (Suomi.fi-tunnistus), a SAML 2.0 Web SSO service provider
built on pysaml2 and xmlsec1 (issue 17).

The flow:
1. ``GET /<db>/hb/client/saml/login`` records an authentication request
   (``hb.saml.request``) bound to the browser by a random cookie and
   sends the browser to the identity provider (HTTP-Redirect, signed).
2. The identity provider posts its response to ``POST /<db>/hb/saml/acs``.
   The response must answer a pending request of ours (no unsolicited
   responses, each request answered once), be for our entity ID
   (audience, destination), be in its time window, carry an encrypted
   assertion signed by the identity provider of the metadata, and assert
   at least the level of assurance of the configuration. The person's
   HETU comes from ``nationalIdentificationNumber`` (urn:oid:1.2.246.21).
3. The browser is sent on to ``GET /<db>/hb/client/saml/finish``, where
   the cookie of step 1 must be present: the identity is used only in the
   browser that asked for it. The HETU is matched exactly against the
   ``fi_hetu`` identifiers: the client themself, and the clients the
   person may act for by a mandate of the mandate service (Suomi.fi
   e-Authorizations behind ``MandateService``) and by an HB
   representative record with rights. One choice logs in at once;
   several are offered on a page. A person with none gets a page that
   tells them no personal budget is linked to them, and nothing more.
4. Logout ends the session and, for a strong login, sends a signed
   LogoutRequest to the identity provider (single logout);
   ``/<db>/hb/saml/slo`` takes the identity provider's LogoutRequest
   (ending the person's sessions) and LogoutResponse.

The service provider's metadata is at ``/<db>/hb/saml/metadata``.
Everything is configured in the ``[hb_saml]`` section of trytond's
configuration (docs/security.md); no key is in the repository."""
import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import secrets
import shutil

from defusedxml import ElementTree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_TRANSIENT, AuthnContextClassRef, NameID
from saml2.samlp import RequestedAuthnContext
from saml2.sigver import verify_redirect_signature
from stdnum.fi import hetu as stdnum_hetu
from trytond.config import config
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import PoolMeta
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.tools import resolve
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from trytond.modules.hb_budget.party import compact_hetu
from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.portal import render

logger = logging.getLogger(__name__)

SECTION = 'hb_saml'
HETU_ATTRIBUTES = ('urn:oid:1.2.246.21', 'nationalIdentificationNumber')
NAME_ATTRIBUTES = ('urn:oid:2.5.4.3', 'cn', 'displayName',
    'urn:oid:2.16.840.1.113730.3.1.241')
# Suomi.fi's levels of assurance (authentication context classes)
LOA_SUBSTANTIAL = ('http://ftn.ficora.fi/2017/loa2',
    'http://eidas.europa.eu/LoA/substantial')
LOA_HIGH = ('http://ftn.ficora.fi/2017/loa3',
    'http://eidas.europa.eu/LoA/high')
LOAS = {
    'substantial': LOA_SUBSTANTIAL + LOA_HIGH,
    'high': LOA_HIGH,
    }
SIGNING_ALGORITHM = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
SIGNATURE_ALGORITHMS = (SIGNING_ALGORITHM,
    'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512')
DIGEST_ALGORITHM = 'http://www.w3.org/2001/04/xmlenc#sha256'
ATTEMPT_COOKIE = 'hb_saml_attempt'
REQUEST_LIFETIME = dt.timedelta(minutes=10)
MAX_RESPONSE = 200_000  # characters of a posted SAMLResponse
MAX_TICKET = 100
PURPOSES = [
    ('client', "Client Page"),
    ('provider', "Provider Portal"),
    ]
STATES = [
    ('sent', "Sent"),
    ('asserted', "Asserted"),
    ('used', "Used"),
    ('failed', "Failed"),
    ]


class SamlError(Exception):
    "A response that is refused (the reason is logged, not shown)"


def _digest(value):
    return hashlib.sha256(value.encode('utf-8')).hexdigest()


def enabled():
    "Tell if strong identification is configured ([hb_saml] idp_metadata)"
    return bool(config.get(SECTION, 'idp_metadata', default=''))


def minimum_loa():
    loa = config.get(SECTION, 'loa', default='substantial')
    return loa if loa in LOAS else 'substantial'


def accepts_hetu(hetu):
    """Tell if hetu may identify a person strongly: valid, and not a
    temporary code (individual number 900-999) unless the configuration
    accepts them (Suomi.fi's test environment gives its fictitious people
    temporary codes)"""
    if not hetu or not isinstance(hetu, str) or len(hetu) > 20:
        return False
    accept_temporary = config.getboolean(
        SECTION, 'accept_temporary_hetu', default=False)
    try:
        stdnum_hetu.validate(hetu, allow_temporary=accept_temporary)
    except Exception:
        return False
    return True


def base_url(request):
    "Return the URL of the server as the identity provider knows it"
    url = config.get(SECTION, 'base_url', default='')
    return (url or request.host_url).rstrip('/')


def sp_urls(request):
    "Return the entity ID, the ACS URL and the SLO URL of the database"
    root = '%s%s' % (base_url(request), portal.base_path(request))
    entity_id = config.get(SECTION, 'entity_id', default='') or (
        root + '/saml/metadata')
    return entity_id, root + '/saml/acs', root + '/saml/slo'


def _xmlsec():
    return config.get(SECTION, 'xmlsec_binary', default='') or (
        shutil.which('xmlsec1') or '/usr/bin/xmlsec1')


def _settings(request):
    entity_id, acs, slo = sp_urls(request)
    key = config.get(SECTION, 'key_file')
    cert = config.get(SECTION, 'cert_file')
    encryption_key = config.get(SECTION, 'encryption_key_file',
        default='') or key
    encryption_cert = config.get(SECTION, 'encryption_cert_file',
        default='') or cert
    return {
        'entityid': entity_id,
        'xmlsec_binary': _xmlsec(),
        'key_file': key,
        'cert_file': cert,
        'encryption_keypairs': [{
                'key_file': encryption_key,
                'cert_file': encryption_cert,
                }],
        'metadata': {'local': [config.get(SECTION, 'idp_metadata')]},
        'allow_unknown_attributes': True,
        # Suomi.fi signs and wants signatures with SHA-256
        'signing_algorithm': SIGNING_ALGORITHM,
        'digest_algorithm': DIGEST_ALGORITHM,
        'accepted_time_diff': config.getint(
            SECTION, 'clock_skew', default=60),
        'service': {
            'sp': {
                'name': 'HB',
                'endpoints': {
                    'assertion_consumer_service': [(acs, BINDING_HTTP_POST)],
                    'single_logout_service': [
                        (slo, BINDING_HTTP_REDIRECT)],
                    },
                'name_id_format': [NAMEID_FORMAT_TRANSIENT],
                'authn_requests_signed': True,
                'logout_requests_signed': True,
                'want_assertions_signed': True,
                'want_response_signed': False,
                'allow_unsolicited': False,
                'requested_attributes': [{
                        'name': HETU_ATTRIBUTES[0],
                        'friendly_name': HETU_ATTRIBUTES[1],
                        'required': True,
                        }],
                },
            },
        }


_clients = {}


def saml_client(request):
    "Return the pysaml2 client of the configuration and the request's URLs"
    settings = _settings(request)
    key = json.dumps(settings, sort_keys=True)
    client = _clients.get(key)
    if client is None:
        sp_config = SPConfig()
        sp_config.load(settings)
        client = _clients[key] = Saml2Client(config=sp_config)
        if len(_clients) > 20:
            _clients.clear()
            _clients[key] = client
    return client


def idp_entity_id(client):
    idps = list(client.metadata.identity_providers())
    if len(idps) != 1:
        raise SamlError('the metadata must hold one identity provider')
    return idps[0]


def metadata_xml(request):
    "Return the service provider's metadata (signed with its key)"
    client = saml_client(request)
    return str(entity_descriptor(client.config))


def redirect_signed(client, args):
    """Tell if the query args of an HTTP-Redirect message carry a valid
    SHA-256 signature of the identity provider (pysaml2 does not check it
    when it parses the message)"""
    message = {k: args[k] for k in (
            'SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg',
            'Signature') if k in args}
    if not message.get('Signature') or message.get('SigAlg') not in (
            SIGNATURE_ALGORITHMS):
        return False
    for cert in client.metadata.certs(
            idp_entity_id(client), 'idpsso', 'signing'):
        if isinstance(cert, tuple):
            cert = cert[1]
        try:
            if verify_redirect_signature(
                    message, client.sec.sec_backend, cert):
                return True
        except Exception:
            continue
    return False


def first_value(ava, names):
    for name in names:
        values = ava.get(name)
        if values:
            return values[0]
    return None


def _has_encrypted_assertion(xml):
    try:
        root = ElementTree.fromstring(xml)
    except Exception:
        return False
    return root.find(
        '{urn:oasis:names:tc:SAML:2.0:assertion}EncryptedAssertion'
        ) is not None


class SamlRequest(ModelSQL, ModelView):
    "An authentication request sent to Suomi.fi e-Identification"
    __name__ = 'hb.saml.request'
    __string__ = "Strong Identification Request"

    request_id = fields.Char("Request ID", size=100, required=True,
        readonly=True)
    browser_hash = fields.Char("Browser Hash", size=100, readonly=True)
    purpose = fields.Selection(PURPOSES, "Purpose", required=True,
        readonly=True)
    language = fields.Char("Language", size=10, readonly=True)
    expires = fields.Timestamp("Expires", required=True, readonly=True)
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    ticket_hash = fields.Char("Ticket Hash", size=100, readonly=True)
    # The asserted identity, kept only between the response and the end
    # of the login (cleared then)
    hetu = fields.Char("HETU", size=20, readonly=True)
    person_name = fields.Char("Name", size=200, readonly=True)
    name_id = fields.Char("Name ID", size=500, readonly=True)
    session_index = fields.Char("Session Index", size=500, readonly=True)
    loa = fields.Char("Level of Assurance", size=100, readonly=True)
    assertion_id = fields.Char("Assertion ID", size=200, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.request_id, Index.Equality())),
                Index(t, (t.ticket_hash, Index.Equality())),
                Index(t, (t.assertion_id, Index.Equality())),
                Index(t, (t.expires, Index.Range())),
                })

    @classmethod
    def default_state(cls):
        return 'sent'

    @classmethod
    def default_purpose(cls):
        return 'client'

    @classmethod
    def _now(cls):
        return dt.datetime.now()

    @classmethod
    def start(cls, request_id, browser, language, purpose='client'):
        "Record the request request_id bound to the browser's secret"
        now = cls._now()
        # Requests long gone are removed as new ones come
        cls.delete(cls.search([
                    ('expires', '<', now - dt.timedelta(days=1)),
                    ], limit=1000))
        record = cls(request_id=request_id, browser_hash=_digest(browser),
            language=language, expires=now + REQUEST_LIFETIME,
            purpose=purpose)
        record.save()
        return record

    @classmethod
    def outstanding(cls):
        "Return {request id: record} of the requests waiting for an answer"
        return {r.request_id: r for r in cls.search([
                    ('state', '=', 'sent'),
                    ('expires', '>=', cls._now()),
                    ])}

    @classmethod
    def assert_response(cls, client, saml_response):
        """Check the posted SAMLResponse; record the identity on its
        request and return (request, ticket). Raise SamlError when the
        response is refused."""
        if not isinstance(saml_response, str) or not saml_response or (
                len(saml_response) > MAX_RESPONSE):
            raise SamlError('no or oversized SAMLResponse')
        try:
            xml = base64.b64decode(saml_response, validate=False)
        except Exception as exception:
            raise SamlError('not base64') from exception
        if not _has_encrypted_assertion(xml):
            raise SamlError('the assertion is not encrypted')
        # Locked: two posts of one response are taken one at a time, and
        # the second finds its request answered already
        cls.lock()
        pending = cls.outstanding()
        try:
            response = client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST,
                outstanding={k: r.id for k, r in pending.items()})
        except Exception as exception:
            raise SamlError('%s: %s' % (
                    exception.__class__.__name__, exception)) from exception
        if response is None or response.in_response_to not in pending:
            raise SamlError('no pending request answered')
        record = pending[response.in_response_to]
        assertion = response.assertion
        if not assertion:
            raise SamlError('no assertion')
        if not assertion.signature:
            raise SamlError('the assertion is not signed')
        if cls.search([('assertion_id', '=', assertion.id)], limit=1):
            raise SamlError('assertion %s used before' % assertion.id)
        classes = [c for c, *_ in response.authn_info()]
        loa = next((c for c in classes if c in LOAS[minimum_loa()]), None)
        if not loa:
            record.state = 'failed'
            record.save()
            raise SamlError('level of assurance %s too low' % classes)
        ava = response.ava or {}
        hetu = compact_hetu(first_value(ava, HETU_ATTRIBUTES) or '')
        subject = response.get_subject()
        session_indexes = [s.session_index for s in assertion.authn_statement
            if s.session_index]
        ticket = secrets.token_urlsafe(32)
        record.state = 'asserted'
        record.ticket_hash = _digest(ticket)
        record.hetu = hetu[:20] if hetu else None
        record.person_name = (first_value(ava, NAME_ATTRIBUTES) or '')[:200]
        record.name_id = (subject.text or '')[:500] if subject else None
        record.session_index = (
            session_indexes[0][:500] if session_indexes else None)
        record.loa = loa
        record.assertion_id = assertion.id[:200]
        record.save()
        return record, ticket

    @classmethod
    def take(cls, ticket, browser, purpose='client'):
        """Return the asserted request of ticket made in the browser for
        purpose, or None"""
        if not ticket or not browser or len(ticket) > MAX_TICKET:
            return None
        records = cls.search([
                ('ticket_hash', '=', _digest(ticket)),
                ('purpose', '=', purpose),
                ('state', '=', 'asserted'),
                ('expires', '>=', cls._now()),
                ], limit=1)
        if not records:
            return None
        record, = records
        if not hmac.compare_digest(record.browser_hash or '',
                _digest(browser)):
            return None
        return record

    def used(self):
        "End the request: its identity is forgotten"
        self.state = 'used'
        self.hetu = None
        self.person_name = None
        self.save()


class MandateService:
    """Suomi.fi e-Authorizations (Suomi.fi-valtuudet) behind an interface:
    whom a person may act for. The production implementation calls the
    e-Authorizations service's API for the person after the login; this
    one answers nothing."""

    def principals(self, hetu):
        "Return the HETUs of the persons that hetu may act for"
        return []

    def companies(self, hetu):
        "Return the business IDs of the companies that hetu may act for"
        return []


class FileMandates(MandateService):
    """Mandates read from a JSON file ([hb_saml] mandates_file), for tests
    and the demo: {"persons": {agent HETU: [principal HETU, ...]},
    "companies": {agent HETU: [business ID, ...]}}"""

    def __init__(self, path):
        self.path = path

    def _load(self):
        try:
            with open(self.path, encoding='utf-8') as file:
                return json.load(file)
        except (OSError, ValueError):
            logger.exception('mandates file %s unreadable', self.path)
            return {}

    def principals(self, hetu):
        return [compact_hetu(h) for h in
            self._load().get('persons', {}).get(hetu, [])]

    def companies(self, hetu):
        return list(self._load().get('companies', {}).get(hetu, []))


def mandate_service():
    name = config.get(SECTION, 'mandates', default='')
    if name:
        return resolve(name)()
    path = config.get(SECTION, 'mandates_file', default='')
    if path:
        return FileMandates(path)
    return MandateService()


def candidates(pool, hetu):
    """Return [(client, representative or None)] that the person of hetu
    may log in as: themself when a client, and the clients they may act
    for by a mandate and an HB representative record with a right"""
    Party = pool.get('party.party')
    Representative = pool.get('hb.client.representative')
    if not accepts_hetu(hetu):
        return []
    hetu = compact_hetu(hetu)
    found = []
    with without_check_access():
        persons = Party.search([
                ('identifiers', 'where', [
                        ('type', '=', 'fi_hetu'),
                        ('code', '=', hetu),
                        ]),
                ('active', '=', True),
                ])
        for person in persons:
            if person.hb_client:
                found.append((person, None))
        principals = [h for h in mandate_service().principals(hetu)
            if accepts_hetu(h)]
        if persons and principals:
            for representative in Representative.search([
                        ('party', 'in', [p.id for p in persons]),
                        ('client.active', '=', True),
                        ('client.identifiers', 'where', [
                                ('type', '=', 'fi_hetu'),
                                ('code', 'in', principals),
                                ]),
                        ['OR',
                            ('may_view_balance', '=', True),
                            ('may_confirm_charges', '=', True),
                            ],
                        ], order=[('id', 'ASC')]):
                found.append((representative.client, representative))
    return found


def provider_candidates(pool, hetu):
    """Return the provider portal's web users that the person of hetu may
    log in as: users linked to the person whose provider (by its Y-tunnus)
    the person may act for by a company mandate"""
    Party = pool.get('party.party')
    WebUser = pool.get('web.user')
    if not accepts_hetu(hetu):
        return []
    hetu = compact_hetu(hetu)
    companies = [c for c in mandate_service().companies(hetu)
        if isinstance(c, str) and len(c) <= 20]
    if not companies:
        return []
    with without_check_access():
        persons = Party.search([
                ('identifiers', 'where', [
                        ('type', '=', 'fi_hetu'),
                        ('code', '=', hetu),
                        ]),
                ('active', '=', True),
                ])
        if not persons:
            return []
        return WebUser.search([
                ('hb_person', 'in', [p.id for p in persons]),
                ('active', '=', True),
                ('party.active', '=', True),
                ('party.identifiers', 'where', [
                        ('type', '=', 'fi_ytunnus'),
                        ('code', 'in', companies),
                        ]),
                ], order=[('id', 'ASC')])


class WebUser(metaclass=PoolMeta):
    __name__ = 'web.user'

    hb_person = fields.Many2One('party.party', "Person",
        ondelete='RESTRICT',
        help="The staff member who may log in to the provider portal "
        "with Suomi.fi e-Identification for the provider, with a company "
        "mandate of Suomi.fi e-Authorizations for its business ID.")


class CustomerGroup(metaclass=PoolMeta):
    __name__ = 'hb.customer.group'

    hb_sms_login = fields.Boolean("Login by Text Message",
        help="Check if the clients of the group (and their "
        "representatives) may log in to the client page with a one-time "
        "code sent by text message. Unchecked, only strong "
        "identification (Suomi.fi) logs them in.")

    @classmethod
    def default_hb_sms_login(cls):
        return True


# Pages

def _(language):
    translate = portal.Translator(language)
    return lambda message_id, **kw: translate(
        message_id if '.' in message_id else 'hb_voucher.' + message_id, **kw)


def _not_found():
    return portal.secure(Response('Not Found', status=HTTPStatus.NOT_FOUND,
            content_type='text/plain'))


def strong_page(func):
    "Decorate a page of the strong login: 404 when it is not configured"
    @functools.wraps(func)
    def wrapper(request, pool, language, *args, **kwargs):
        if not enabled() or not portal.module_activated(
                pool, 'hb.saml.request'):
            return _not_found()
        return func(request, pool, language, *args, **kwargs)
    return wrapper


def _failed(request, language, status=HTTPStatus.FORBIDDEN,
        message='msg_saml_failed'):
    return portal.render_error(request, language, status,
        'hb_voucher.' + message)


def _attempt_cookie(request, response, value):
    response.set_cookie(ATTEMPT_COOKIE, value,
        path=portal.base_path(request),
        max_age=int(REQUEST_LIFETIME.total_seconds()), httponly=True,
        secure=request.is_secure, samesite='Lax')
    return response


@app.route('/<database_name>/hb/saml/metadata', methods=['GET'])
@with_pool
@with_transaction()
@portal.public_page
@strong_page
def saml_metadata(request, pool, language):
    response = Response(metadata_xml(request),
        content_type='application/samlmetadata+xml; charset=utf-8')
    return portal.secure(response)


@app.route('/<database_name>/hb/client/saml/login', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@portal.public_page
@strong_page
def saml_login(request, pool, language):
    return _start(request, pool, language, 'client')


@app.route('/<database_name>/hb/provider/saml/login', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@portal.public_page
@strong_page
def saml_provider_login(request, pool, language):
    return _start(request, pool, language, 'provider')


def _start(request, pool, language, purpose):
    SamlRequest = pool.get('hb.saml.request')
    client = saml_client(request)
    refs = [AuthnContextClassRef(text=r) for r in LOAS[minimum_loa()]]
    request_id, info = client.prepare_for_authenticate(
        entityid=idp_entity_id(client), relay_state=language,
        binding=BINDING_HTTP_REDIRECT,
        requested_authn_context=RequestedAuthnContext(
            authn_context_class_ref=refs, comparison='exact'))
    browser = secrets.token_urlsafe(32)
    SamlRequest.start(request_id, browser, language, purpose)
    location = dict(info['headers'])['Location']
    response = redirect(location, code=HTTPStatus.SEE_OTHER)
    _attempt_cookie(request, response, browser)
    return portal.secure(response, private=True)


@app.route('/<database_name>/hb/saml/acs', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@portal.public_page
@strong_page
def saml_acs(request, pool, language):
    SamlRequest = pool.get('hb.saml.request')
    relay = request.form.get('RelayState', '')
    if relay in portal.LANGUAGES:
        language = relay
    try:
        record, ticket = SamlRequest.assert_response(
            saml_client(request), request.form.get('SAMLResponse'))
    except SamlError as exception:
        logger.warning('strong identification refused: %s', exception)
        with Transaction().set_context(language=language):
            return _failed(request, language)
    return portal.secure(redirect(portal.url_for(request,
                '%s/saml/finish' % record.purpose, record.language or language,
                ticket=ticket), code=HTTPStatus.SEE_OTHER), private=True)


def _logged_in(request, language, record, path, set_cookie):
    """End record and answer with our own page going on to path, with the
    session cookie set by set_cookie(response): the session cookie
    (SameSite=Strict) is not sent with a redirect that a cross-site post
    (the identity provider's) started"""
    record.used()
    response = render(request, 'client_saml_done.html', language,
        private=True, next=portal.url_for(request, path, language),
        t=_(language))
    set_cookie(response)
    response.delete_cookie(ATTEMPT_COOKIE, path=portal.base_path(request),
        httponly=True, secure=request.is_secure, samesite='Lax')
    return portal.secure(response, private=True)


def _log_in(request, pool, language, record, client, representative):
    from .client_page import _set_cookie
    Login = pool.get('hb.client.login')
    login, key = Login.start_strong(client, representative,
        name_id=record.name_id, session_index=record.session_index,
        loa=record.loa)
    return _logged_in(request, language, record, 'client',
        lambda response: _set_cookie(request, response, pool, key))


def _provider_log_in(request, pool, language, record, user):
    key = user.new_session()
    return _logged_in(request, language, record, 'provider',
        lambda response: portal.set_session_cookie(
            request, response, pool, key))


@app.route('/<database_name>/hb/provider/saml/finish',
    methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@portal.public_page
@strong_page
def saml_provider_finish(request, pool, language):
    return _finish(request, pool, language, 'provider')


@app.route('/<database_name>/hb/client/saml/finish', methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@portal.public_page
@strong_page
def saml_finish(request, pool, language):
    return _finish(request, pool, language, 'client')


def _finish(request, pool, language, purpose):
    SamlRequest = pool.get('hb.saml.request')
    translate = _(language)
    source = request.form if request.method == 'POST' else request.args
    ticket = source.get('ticket', '')[:MAX_TICKET + 1]
    record = SamlRequest.take(
        ticket, request.cookies.get(ATTEMPT_COOKIE), purpose)
    if record is None:
        return _failed(request, language)
    if purpose == 'provider':
        found = [(u,) for u in provider_candidates(pool, record.hetu)]
        log_in = _provider_log_in
    else:
        found = candidates(pool, record.hetu)
        log_in = _log_in
    if not found:
        record.used()
        return _failed(request, language, message='msg_saml_unknown')
    token = portal.anonymous_csrf_token(request)
    if request.method == 'POST':
        if not portal.check_csrf(
                request, request.cookies.get(portal.CSRF_COOKIE, '')):
            return _failed(request, language)
        choice = portal.page_number(request.form.get('choice'))
        if choice is None or choice > len(found):
            return _failed(request, language, HTTPStatus.BAD_REQUEST,
                message='msg_saml_choice_invalid')
        return log_in(request, pool, language, record, *found[choice - 1])
    if len(found) == 1:
        return log_in(request, pool, language, record, *found[0])
    if purpose == 'provider':
        choices = [{
                'number': i,
                'name': user.party.rec_name,
                'own': False,
                } for i, (user,) in enumerate(found, 1)]
    else:
        choices = [{
                'number': i,
                'name': client.rec_name,
                'own': representative is None,
                } for i, (client, representative) in enumerate(found, 1)]
    response = render(request, 'client_saml_choose.html', language,
        private=True, csrf_token=token, ticket=ticket, choices=choices,
        person=record.person_name, purpose=purpose, t=translate)
    return portal.set_anonymous_csrf_cookie(request, response, token)


def logout_redirect(request, login, language):
    """Return the redirect to the identity provider's single logout with a
    signed LogoutRequest for login, or None when it cannot be made"""
    if not enabled() or login.method != 'suomifi' or not login.saml_name_id:
        return None
    try:
        client = saml_client(request)
        idp = idp_entity_id(client)
        destinations = client.metadata.single_logout_service(
            idp, BINDING_HTTP_REDIRECT, 'idpsso')
        if not destinations:
            return None
        destination = destinations[0]['location']
        _, logout = client.create_logout_request(destination, idp,
            name_id=NameID(format=NAMEID_FORMAT_TRANSIENT,
                text=login.saml_name_id),
            session_indexes=(
                [login.saml_session_index]
                if login.saml_session_index else None),
            sign=False)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(logout),
            destination, relay_state=language, sign=True,
            sigalg=SIGNING_ALGORITHM)
    except Exception:
        logger.exception('single logout request failed')
        return None
    return redirect(dict(info['headers'])['Location'],
        code=HTTPStatus.SEE_OTHER)


@app.route('/<database_name>/hb/saml/slo', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@portal.public_page
@strong_page
def saml_slo(request, pool, language):
    Login = pool.get('hb.client.login')
    client = saml_client(request)
    relay = request.args.get('RelayState', '')[:10]
    if relay in portal.LANGUAGES:
        language = relay
    signature = {
        'relay_state': request.args.get('RelayState'),
        'sigalg': request.args.get('SigAlg'),
        'signature': request.args.get('Signature'),
        }
    if len(request.query_string) > MAX_RESPONSE:
        return _failed(request, language, HTTPStatus.BAD_REQUEST)
    if request.args.get('SAMLRequest'):
        # The identity provider ends the person's sessions here
        try:
            logout = client.parse_logout_request(
                request.args['SAMLRequest'], BINDING_HTTP_REDIRECT,
                **signature)
            if not redirect_signed(client, request.args):
                raise SamlError('LogoutRequest not signed by the IdP')
            message = logout.message
        except Exception as exception:
            logger.warning('logout request refused: %s', exception)
            return _failed(request, language)
        name_id = message.name_id.text if message.name_id else None
        indexes = [i.text for i in (message.session_index or [])]
        domain = [
            ('method', '=', 'suomifi'),
            ('state', '=', 'active'),
            ('saml_name_id', '=', name_id),
            ]
        if indexes:
            domain.append(('saml_session_index', 'in', indexes))
        if name_id:
            Login.end(Login.search(domain))
        idp = idp_entity_id(client)
        destinations = client.metadata.single_logout_service(
            idp, BINDING_HTTP_REDIRECT, 'idpsso')
        destination = destinations[0].get('response_location') or (
            destinations[0]['location'])
        answer = client.create_logout_response(message,
            [BINDING_HTTP_REDIRECT], sign=False)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(answer),
            destination, relay_state=request.args.get('RelayState'),
            response=True, sign=True, sigalg=SIGNING_ALGORITHM)
        return portal.secure(redirect(dict(info['headers'])['Location'],
                code=HTTPStatus.SEE_OTHER), private=True)
    if request.args.get('SAMLResponse'):
        # The answer to our LogoutRequest: the session ended already
        try:
            if not redirect_signed(client, request.args):
                raise SamlError('LogoutResponse not signed by the IdP')
            client.parse_logout_request_response(
                request.args['SAMLResponse'], BINDING_HTTP_REDIRECT)
        except Exception as exception:
            logger.warning('logout response refused: %s', exception)
        return portal.secure(redirect(portal.url_for(
                    request, 'client/login', language, out='1'),
                code=HTTPStatus.SEE_OTHER), private=True)
    return _failed(request, language, HTTPStatus.BAD_REQUEST)
