# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Standing authorisations made by the client on their page (issue 14):
the client (or a representative who may confirm charges) chooses a
provider whose contract covers a service category of the budget, the
category, optionally a service, a monthly cap and a validity within the
budget's period; a one-time code is sent by SMS (the outbox of sms.py)
and, on the right code, the authorisation is created and activated with
the consent recorded as given on the client page with the code. The
client ends an active authorisation on the page too (the claims already
made stand).

The form's values wait in hb.authorisation.code (only hashes of the
code are stored) until the code is given: a wrong, expired or exhausted
code writes no authorisation."""
import datetime as dt
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import PoolMeta
from trytond.protocols.wrappers import HTTPStatus, with_pool, with_transaction
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.tools import ID_CONVERTER, parse_id

from . import sms
from .client_login import CODE_ATTEMPTS, CODE_LIFETIME, code_matches, new_code
from .client_page import _, _done, _home, client_page

STATES = [
    ('sent', "Code Sent"),
    ('confirmed', "Confirmed"),
    ('failed', "Failed"),
    ]
# the codes a login may ask in CODE_LIFETIME
MAX_CODES = 5
MAX_AMOUNT_TEXT = 20
FORM_FIELDS = ('auth_provider', 'auth_category', 'auth_service',
    'auth_cap', 'auth_from', 'auth_to')


class Authorisation(metaclass=PoolMeta):
    __name__ = 'hb.authorisation'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        selection = ('client_code', "On the Client Page with a One-Time Code")
        if selection not in cls.consent_method.selection:
            cls.consent_method.selection.append(selection)


class AuthorisationCode(ModelSQL, ModelView):
    "The authorisation a client asked on their page, waiting for its code"
    __name__ = 'hb.authorisation.code'
    __string__ = "Authorisation Code"

    login = fields.Many2One(
        'hb.client.login', "Login", required=True, readonly=True,
        ondelete='CASCADE')
    client = fields.Many2One(
        'party.party', "Client", required=True, readonly=True,
        ondelete='CASCADE')
    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True,
        ondelete='CASCADE')
    provider = fields.Many2One(
        'party.party', "Provider", required=True, readonly=True,
        ondelete='CASCADE')
    category = fields.Many2One(
        'hb.service.category', "Service Category", required=True,
        readonly=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Service", readonly=True, ondelete='CASCADE')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    monthly_cap = Monetary(
        "Monthly Cap", currency='currency', digits='currency',
        required=True, readonly=True)
    valid_from = fields.Date("Valid From", required=True, readonly=True)
    valid_to = fields.Date("Valid To", required=True, readonly=True)
    mobile = fields.Char("Mobile", size=30, required=True, readonly=True)
    code_hash = fields.Char("Code Hash", size=200, readonly=True)
    expires_at = fields.Timestamp("Expires At", required=True, readonly=True)
    attempts = fields.Integer("Wrong Codes", required=True, readonly=True)
    authorisation = fields.Many2One(
        'hb.authorisation', "Authorisation", readonly=True,
        ondelete='SET NULL')
    state = fields.Selection(STATES, "State", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.login, Index.Range()),
                (t.create_date, Index.Range())))
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'sent'

    @classmethod
    def default_attempts(cls):
        return 0

    def get_currency(self, name):
        return self.budget.currency.id

    def check_code(self, code):
        return code_matches(self.code_hash, code)


class ClientAuthorisationError(Exception):
    "A refusal of the client's authorisation form (message id, variables)"

    def __init__(self, message_id, status=HTTPStatus.BAD_REQUEST, **kw):
        super().__init__(message_id)
        self.message_id = message_id
        self.status = status
        self.variables = kw


def _refuse(message_id, status=HTTPStatus.BAD_REQUEST, **kw):
    raise ClientAuthorisationError(message_id, status=status, **kw)


def _now():
    return dt.datetime.now()


def may_authorise(login):
    "Who may confirm charges may give and end authorisations"
    return login.may_confirm_charges


def person_mobile(login):
    "The mobile number the code is sent to: the person who logged in"
    if login.mobile:
        return login.mobile
    if login.representative:
        return login.representative.mobile
    return login.client.hb_mobile


def _covered(pool, client, categories):
    """The domain of the services covered for client (the catalogue's
    coverage rule) in categories"""
    Template = pool.get('product.template')
    return Template.hb_coverage_domain(
        client.hb_municipality, client.hb_customer_groups) + [
        ('hb_category', 'in', [c.id for c in categories]),
        ]


def budget_choices(pool, client, categories=True):
    """Return (budget, lines, categories) of the form: the client's active
    budget, its lines with an amount and their categories with their
    subcategories (without categories: no categories)"""
    Budget = pool.get('hb.budget')
    Category = pool.get('hb.service.category')
    budget = Budget.get_active(client)
    if not budget:
        return None, [], []
    lines = [line for line in budget.lines if line.amount]
    if not lines or not categories:
        return budget, lines, []
    with without_check_access():
        categories = Category.search([
                ('parent', 'child_of', [line.category.id for line in lines]),
                ])
    return budget, lines, categories


def covered_providers(pool, client, categories):
    """The providers of a service covered for client (the catalogue's
    coverage rule) in categories, as objects with id and rec_name, by name.

    Read as one query of the covered services' providers and a read of
    their names: a catalogue of thousands of services is not loaded to
    list its few hundred providers (issue 16: the client page listed every
    service of the catalogue in the form)."""
    Template = pool.get('product.template')
    Party = pool.get('party.party')
    if not categories:
        return []
    template = Template.__table__()
    cursor = Transaction().connection.cursor()
    with without_check_access():
        query = Template.search(
            _covered(pool, client, categories), query=True)
        cursor.execute(*template.select(template.hb_provider,
                where=template.id.in_(query),
                group_by=[template.hb_provider]))
        providers = Party.read([p for p, in cursor], ['name', 'code'])
    # as party.party's get_rec_name (without reading whole parties)
    return sorted((SimpleNamespace(id=p['id'],
                rec_name=p['name'] or '[%s]' % p['code'])
            for p in providers), key=lambda p: (p.rec_name, p.id))


def provider_services(pool, client, provider, categories):
    """The active services (products) of provider covered for client in
    categories, by name"""
    Template = pool.get('product.template')
    with without_check_access():
        templates = Template.search(_covered(pool, client, categories) + [
                ('hb_provider', '=', provider),
                ], order=[('name', 'ASC'), ('id', 'ASC')])
        return [p for t in templates for p in t.products if p.active]


def line_categories(pool, line):
    Category = pool.get('hb.service.category')
    return set(Category.search([
                ('parent', 'child_of', [line.category.id]),
                ]))


def parse_form(pool, login, form):
    """Return the values of the authorisation asked with the form, or
    raise ClientAuthorisationError"""
    Party = pool.get('party.party')
    client = login.client
    budget, lines = budget_choices(pool, client, categories=False)[:2]
    if not budget or not lines:
        _refuse('msg_client_auth_no_budget')
    provider = parse_id(form.get('auth_provider'))
    if provider is None:
        _refuse('msg_client_auth_provider_invalid')
    lines_by_category = {line.category.id: line for line in lines}
    line = lines_by_category.get(parse_id(form.get('auth_category')))
    if line is None:
        _refuse('msg_client_auth_category_invalid')
    # (none for a provider not covered for the client in the category:
    # the same rule that lists the providers)
    offered = provider_services(
        pool, client, provider, line_categories(pool, line))
    if not offered:
        _refuse('msg_client_auth_provider_invalid')
    provider = Party(provider)
    product = None
    service = (form.get('auth_service') or '').strip()
    if service:
        product = {s.id: s for s in offered}.get(parse_id(service))
        if product is None:
            _refuse('msg_client_auth_service_invalid')
    text = (form.get('auth_cap') or '').strip()
    try:
        if len(text) > MAX_AMOUNT_TEXT:
            raise InvalidOperation
        cap = Decimal(text.replace(',', '.').replace('\u00a0', '')
            .replace(' ', '').replace('€', ''))
    except (InvalidOperation, ValueError):
        cap = None
    if (cap is None or not cap.is_finite() or cap <= 0
            or cap != cap.quantize(Decimal('0.01'))
            or cap > line.amount):
        _refuse('msg_client_auth_cap_invalid', maximum=line.amount)
    dates = []
    for name in ['auth_from', 'auth_to']:
        value = (form.get(name) or '').strip()
        try:
            if len(value) > 10:
                raise ValueError
            dates.append(dt.date.fromisoformat(value))
        except ValueError:
            _refuse('msg_client_auth_dates_invalid',
                start=budget.start_date, end=budget.end_date)
    valid_from, valid_to = dates
    today = pool.get('ir.date').today()
    if not (budget.start_date <= valid_from <= valid_to <= budget.end_date
            and valid_to >= today):
        _refuse('msg_client_auth_dates_invalid',
            start=budget.start_date, end=budget.end_date)
    return {
        'client': client, 'budget': budget, 'provider': provider,
        'category': line.category, 'product': product,
        'monthly_cap': cap, 'valid_from': valid_from,
        'valid_to': valid_to,
        }


def send_code(pool, login, values, language):
    "Write the pending authorisation and send its code; return it"
    Code = pool.get('hb.authorisation.code')
    mobile = person_mobile(login)
    if not mobile:
        _refuse('msg_client_auth_no_mobile')
    now = _now()
    if Code.search([
                ('login', '=', login.id),
                ('create_date', '>=', now - CODE_LIFETIME),
                ], count=True) >= MAX_CODES:
        _refuse('msg_client_auth_code_limited',
            status=HTTPStatus.TOO_MANY_REQUESTS)
    # A new code replaces the login's pending one
    pending = Code.search([
            ('login', '=', login.id),
            ('state', '=', 'sent'),
            ])
    if pending:
        Code.write(pending, {'state': 'failed', 'code_hash': None})
    code, code_hash = new_code()
    record = Code(login=login, mobile=mobile, code_hash=code_hash,
        expires_at=now + CODE_LIFETIME, **values)
    record.save()
    lang = language if language in {'fi', 'sv', 'en'} else 'fi'
    with Transaction().set_context(language=lang):
        text = gettext('hb_voucher.msg_client_auth_sms', code=code,
            provider=record.provider.rec_name,
            amount=sms.money(record.monthly_cap, lang),
            minutes=int(CODE_LIFETIME.total_seconds() // 60))
    sms.send_sms(mobile, text)
    return record


def confirm_code(pool, login, code_id, code):
    """Create and activate the authorisation of the pending code of the
    login when code is its code; return it. A wrong code is counted
    (the pending code fails at the maximum), nothing else is written."""
    Code = pool.get('hb.authorisation.code')
    Authorisation = pool.get('hb.authorisation')
    records = Code.search([
            ('id', '=', code_id),
            ('login', '=', login.id),
            ], limit=1)
    if not records:
        _refuse('msg_client_auth_not_found', status=HTTPStatus.NOT_FOUND)
    record, = records
    if record.state != 'sent':
        _refuse('msg_client_auth_code_used', status=HTTPStatus.CONFLICT)
    if record.expires_at < _now():
        record.state = 'failed'
        record.code_hash = None
        record.save()
        _refuse('msg_client_auth_code_expired', status=HTTPStatus.GONE)
    if not isinstance(code, str) or not record.check_code(code):
        record.attempts += 1
        left = CODE_ATTEMPTS - record.attempts
        if left <= 0:
            record.state = 'failed'
            record.code_hash = None
        record.save()
        if left <= 0:
            _refuse('msg_client_auth_code_attempts',
                status=HTTPStatus.TOO_MANY_REQUESTS)
        _refuse('msg_client_auth_code_wrong',
            status=HTTPStatus.UNAUTHORIZED, left=left)
    with Transaction().set_context(language='fi'):
        consent_by = gettext('hb_voucher.msg_client_auth_consent_by',
            person=login.person.rec_name, mobile=record.mobile)[:200]
    authorisation = Authorisation(
        client=record.client, budget=record.budget,
        provider=record.provider, category=record.category,
        product=record.product, monthly_cap=record.monthly_cap,
        valid_from=record.valid_from, valid_to=record.valid_to,
        consent_by=consent_by, consent_method='client_code')
    authorisation.save()
    Authorisation.activate([authorisation])
    record.state = 'confirmed'
    record.code_hash = None
    record.authorisation = authorisation
    record.save()
    return authorisation


def client_authorisations(pool, client):
    "The client's authorisations shown on the page (active first)"
    Authorisation = pool.get('hb.authorisation')
    authorisations = Authorisation.search([
            ('client', '=', client.id),
            ('state', 'in', ['active', 'ended']),
            ], order=[('valid_from', 'DESC'), ('id', 'DESC')], limit=50)
    return sorted(authorisations, key=lambda a: a.state != 'active')


def page_context(pool, login, form=None):
    """The values of client_authorisations.html for _home; the services
    of the form are those of the provider chosen in form.

    The form comes in steps, each a GET of the page: "Choose a provider"
    (auth_new) lists the covered providers, "Show the provider's services"
    (auth_provider) the services of that one. The providers are looked up
    only when asked: the page itself is read on every visit and must not
    cost more for a client who could buy from hundreds of providers
    (issue 16: the client page at a million charges)."""
    AccessLog = pool.get('hb.access.log')
    client = login.client
    authorisations = client_authorisations(pool, client)
    AccessLog.log_web('client_page', login.person, 'hb.authorisation',
        [(a.id, client.id) for a in authorisations])
    context = {
        'authorisations': authorisations,
        'auth_budget': None, 'auth_lines': [], 'auth_providers': [],
        'auth_services': [], 'auth_provider': None, 'auth_asked': False,
        }
    if may_authorise(login):
        form = form or {}
        asked = bool(form.get('auth_new') or form.get('auth_provider'))
        budget, lines, categories = budget_choices(
            pool, client, categories=asked)
        providers = covered_providers(pool, client, categories) \
            if asked and lines else []
        today = pool.get('ir.date').today()
        chosen = parse_id(form.get('auth_provider'))
        if len(providers) == 1:
            chosen = providers[0].id
        provider = {p.id: p for p in providers}.get(chosen)
        context.update({
                'auth_today': max(today, budget.start_date) if budget
                else today,
                'auth_budget': budget, 'auth_lines': lines,
                'auth_asked': asked,
                'auth_providers': providers, 'auth_provider': provider,
                'auth_services': provider_services(
                    pool, client, provider.id, categories)
                if provider else [],
                })
    return context


def _refusal(request, pool, login, language, exception, **extra):
    portal.rollback()
    return _home(request, pool, login, language,
        error=_(language)(exception.message_id, **exception.variables),
        status=exception.status, form=request.form.to_dict(), **extra)


def _check_sizes(form):
    return all(len(form.get(name) or '') <= 40 for name in FORM_FIELDS)


@app.route('/<database_name>/hb/client/authorisation', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_authorisation_new(request, pool, login, language):
    "Check the form of a new authorisation and send its one-time code"
    if not may_authorise(login):
        return portal.render_error(request, language,
            HTTPStatus.FORBIDDEN, 'hb_voucher.msg_client_not_allowed')
    if not _check_sizes(request.form):
        return portal.render_error(request, language,
            HTTPStatus.BAD_REQUEST, 'hb_voucher.msg_client_auth_too_long')
    try:
        values = parse_form(pool, login, request.form)
        record = send_code(pool, login, values, language)
    except ClientAuthorisationError as exception:
        return _refusal(request, pool, login, language, exception)
    except UserError as exception:
        portal.rollback()
        return _home(request, pool, login, language,
            error=exception.message, status=HTTPStatus.BAD_REQUEST,
            form=request.form.to_dict())
    return _home(request, pool, login, language, auth_code=record,
        message=_(language)('msg_client_auth_code_sent',
            mobile=record.mobile))


@app.route(
    '/<database_name>/hb/client/authorisation/<%s:code_id>/confirm'
    % ID_CONVERTER, methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_authorisation_confirm(request, pool, login, language, code_id):
    "Give the authorisation with its one-time code"
    Code = pool.get('hb.authorisation.code')
    if not may_authorise(login):
        return portal.render_error(request, language,
            HTTPStatus.FORBIDDEN, 'hb_voucher.msg_client_not_allowed')
    code = request.form.get('code', '')
    if len(code) > 20:
        return portal.render_error(request, language,
            HTTPStatus.BAD_REQUEST, 'hb_voucher.msg_client_auth_too_long')
    try:
        confirm_code(pool, login, code_id, code)
    except ClientAuthorisationError as exception:
        # The count of wrong codes stands: the refusal is rendered
        # without rolling it back; nothing else was written
        pending = Code.search([
                ('id', '=', code_id),
                ('login', '=', login.id),
                ('state', '=', 'sent'),
                ], limit=1)
        return _home(request, pool, login, language,
            error=_(language)(exception.message_id, **exception.variables),
            status=exception.status,
            auth_code=pending[0] if pending else None)
    except UserError as exception:
        portal.rollback()
        return _home(request, pool, login, language,
            error=exception.message, status=HTTPStatus.BAD_REQUEST)
    return _done(request, language, 'authorised')


@app.route(
    '/<database_name>/hb/client/authorisation/<%s:authorisation_id>/end'
    % ID_CONVERTER, methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_authorisation_end(request, pool, login, language,
        authorisation_id):
    "End an active authorisation: the claims already made stand"
    Authorisation = pool.get('hb.authorisation')
    if not may_authorise(login):
        return portal.render_error(request, language,
            HTTPStatus.FORBIDDEN, 'hb_voucher.msg_client_not_allowed')
    authorisations = Authorisation.search([
            ('id', '=', authorisation_id),
            ('client', '=', login.client.id),
            ], limit=1)
    if not authorisations:
        return portal.render_error(request, language,
            HTTPStatus.NOT_FOUND, 'msg_page_not_found')
    authorisation, = authorisations
    if authorisation.state != 'active':
        return _home(request, pool, login, language,
            error=_(language)('msg_client_auth_not_active'),
            status=HTTPStatus.CONFLICT)
    Authorisation.end([authorisation])
    return _done(request, language, 'auth_ended')
