# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The web pages: the public catalogue, the online application and the
provider portal (see portal.py for the toolkit)."""
import io
import logging
import os
import zipfile
from collections import OrderedDict
from decimal import Decimal, InvalidOperation

from trytond.exceptions import RateLimitException, UserError
from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction
from trytond.wsgi import app

from . import mail, portal
from .exceptions import PortalUserError
from .portal import Translator, provider_page, public_page, render
from .tools import ID_CONVERTER, format_email, parse_id

logger = logging.getLogger(__name__)

# Errors under /<database>/hb/ answered as pages (see portal.ErrorPages)
portal.install_error_pages(app)

STATIC = os.path.join(os.path.dirname(__file__), 'static')
MAX_COMPARE = 3
APPLICATION_SERVICE_ROWS = 3
ATTACHMENT_KINDS = [
    'liability_insurance', 'prepayment_register', 'self_monitoring_plan']
DOCX = (
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document')
ODT = 'application/vnd.oasis.opendocument.text'
# The accepted types of attachments and the file name extensions of each
ATTACHMENT_TYPES = {
    'application/pdf': {'.pdf'},
    'image/jpeg': {'.jpg', '.jpeg'},
    'image/png': {'.png'},
    'text/plain': {'.txt'},
    DOCX: {'.docx'},
    ODT: {'.odt'},
    }
SORTS = ['price', 'rating', 'name']
PAGE_SIZE = 50
MIN_PASSWORD_LENGTH = 10
MAX_PRICE = Decimal('1000000000')


def _int(value):
    "Return the record id of a parameter, None when it cannot be one"
    return parse_id(value)


def _price(value):
    "Return value as a Decimal with cents, None when it is not a number"
    try:
        price = Decimal((value or '').strip().replace(',', '.').replace(
                ' ', '').replace('\u20ac', ''))
    except InvalidOperation:
        return None
    # Refuse what no price can be (and what quantize cannot take)
    if not price.is_finite() or abs(price) >= MAX_PRICE:
        return None
    return price.quantize(Decimal('0.01'))


def _not_found(request, language, session=None):
    return portal.render_error(
        request, language, HTTPStatus.NOT_FOUND, 'msg_page_not_found',
        session=session)


def _error_message(exception):
    "The text of a UserError to show on a page"
    return exception.message


def _too_long(pool, translate, model, values, labels=None):
    """Return the message refusing the first text of values (by field name
    of model) longer than its field allows, None when all fit"""
    Model = pool.get(model)
    Field = pool.get('ir.model.field')
    for name, value in values.items():
        size = getattr(getattr(Model, name), 'size', None)
        if isinstance(value, str) and size and len(value) > size:
            label = (labels or {}).get(name) or Field.get_name(model, name)
            return translate('msg_page_too_long', field=label, size=size)


def _content_type(data):
    """Return the type of an uploaded file told by its content (among
    ATTACHMENT_TYPES), None when it is none of them"""
    if data.startswith(b'%PDF-'):
        return 'application/pdf'
    if data.startswith(b'\x89PNG\r\n\x1a\n'):
        return 'image/png'
    if data.startswith(b'\xff\xd8\xff'):
        return 'image/jpeg'
    if data.startswith(b'PK\x03\x04'):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if 'mimetype' in names:
                    with archive.open('mimetype') as fp:
                        if fp.read(100) == ODT.encode('ascii'):
                            return ODT
                if ('[Content_Types].xml' in names
                        and 'word/document.xml' in names):
                    return DOCX
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError,
                ValueError, NotImplementedError):
            return None
        return None
    # Text: no control characters but white space (an executable, an
    # archive or UTF-16 all have some)
    if data and not any(
            b < 0x20 and b not in b'\t\n\r\f' or b == 0x7f for b in data):
        return 'text/plain'
    return None


@app.route('/<database_name>/hb/static/hb.css', methods=['GET'])
def stylesheet(request, database_name):
    with open(os.path.join(STATIC, 'hb.css'), 'rb') as fp:
        response = Response(fp.read(), content_type='text/css')
    response.headers['Cache-Control'] = 'public, max-age=3600'
    return portal.secure(response)


# The public catalogue

def _catalogue_services(pool, municipality, customer_group, category, sort,
        page):
    """Return the number of services found, the number of pages, the page
    shown (page, or the last one beyond it), its services (dictionaries of
    the fields shown, in sort order across the page), their prices and
    their ratings"""
    Template = pool.get('product.template')
    count, ids = Template.hb_catalogue_page(
        municipality, customer_group, category, sort=sort,
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-count // PAGE_SIZE))
    if page > pages:
        page = pages
        count, ids = Template.hb_catalogue_page(
            municipality, customer_group, category, sort=sort,
            offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    # Only what the page shows, read for its services at once
    rows = {r['id']: r for r in Template.read(ids, [
                'name', 'hb_unit', 'hb_languages', 'hb_category',
                'hb_category.rec_name', 'hb_provider.name',
                'hb_municipalities.name'])}
    services = [rows[i] for i in ids]
    templates = Template.browse(ids)
    prices = Template.hb_list_prices(templates)
    ratings = Template.get_hb_rating(
        templates, ['hb_rating', 'hb_rating_count'])
    return count, pages, page, services, prices, ratings


def _browse_active(Model, id_):
    if id_ is None:
        return None
    records = Model.search([('id', '=', id_)], limit=1)
    return records[0] if records else None


@app.route('/<database_name>/hb/catalogue', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@public_page
def catalogue(request, pool, language):
    Municipality = pool.get('hb.municipality')
    CustomerGroup = pool.get('hb.customer.group')
    Category = pool.get('hb.service.category')
    Gap = pool.get('hb.service.gap')

    # A filter given but not an id (or beyond any id) is refused
    if any(request.args.get(k) and _int(request.args.get(k)) is None
            for k in ['municipality', 'group', 'category']):
        return portal.render_error(
            request, language, HTTPStatus.BAD_REQUEST, 'msg_page_bad_id')
    municipality = _browse_active(
        Municipality, _int(request.args.get('municipality')))
    customer_group = _browse_active(
        CustomerGroup, _int(request.args.get('group')))
    category = _browse_active(Category, _int(request.args.get('category')))
    sort = request.args.get('sort')
    if sort not in SORTS:
        sort = 'price'
    page = portal.page_number(request.args.get('page'))
    if page is None:
        return portal.render_error(
            request, language, HTTPStatus.BAD_REQUEST, 'msg_page_bad_page')
    count, pages, services, gap = 0, 1, [], None
    prices, ratings = {}, {}
    if municipality and customer_group:
        (count, pages, page, services, prices, ratings
            ) = _catalogue_services(
            pool, municipality, customer_group, category, sort, page)
        if not count:
            gap = Gap.record_search(
                municipality, customer_group, category, language)
    return render(request, 'catalogue.html', language,
        municipalities=Municipality.search([]),
        customer_groups=CustomerGroup.search([]),
        categories=Category.search([]),
        municipality=municipality, customer_group=customer_group,
        category=category, sort=sort, sorts=SORTS, services=services,
        gap=gap, max_compare=MAX_COMPARE,
        count=count, page=page, pages=pages, page_size=PAGE_SIZE,
        prices=prices, ratings=ratings,
        error=request.args.get('error'))


def _catalogue_service(pool, service_id):
    "Return the service shown in the catalogue with service_id, or None"
    Template = pool.get('product.template')
    services = Template.search([
            ('id', '=', service_id),
            ('hb_state', '=', 'approved'),
            ('hb_contract.state', '=', 'active'),
            ], limit=1)
    if services and services[0].hb_contract.is_valid_on():
        return services[0]


@app.route(
    '/<database_name>/hb/catalogue/service/<%s:service_id>' % ID_CONVERTER,
    methods=['GET'])
@with_pool
@with_transaction()
@public_page
def catalogue_service(request, pool, language, service_id):
    Rating = pool.get('hb.service.rating')
    service = _catalogue_service(pool, service_id)
    if not service:
        return _not_found(request, language)
    ratings = Rating.search([('service', '=', service.id)], limit=10)
    contacts = [m for m in service.hb_provider.contact_mechanisms
        if m.type in {'email', 'phone', 'mobile', 'website'}]
    return render(request, 'service.html', language,
        service=service, ratings=ratings, contacts=contacts,
        back=request.args.to_dict())


@app.route('/<database_name>/hb/catalogue/compare', methods=['GET'])
@with_pool
@with_transaction()
@public_page
def catalogue_compare(request, pool, language):
    ids = [i for i in map(_int, request.args.getlist('service'))
        if i is not None]
    ids = list(OrderedDict.fromkeys(ids))
    back = {k: request.args.get(k) for k in [
            'municipality', 'group', 'category', 'sort', 'page']
        if request.args.get(k)}
    if not ids or len(ids) > MAX_COMPARE:
        message_id = ('msg_page_compare_too_many' if ids
            else 'msg_page_compare_none')
        return render(request, 'compare.html', language,
            status=HTTPStatus.BAD_REQUEST, services=[], back=back,
            error=Translator(language)(message_id, max=MAX_COMPARE))
    services = list(filter(None, (_catalogue_service(pool, i) for i in ids)))
    if not services:
        return _not_found(request, language)
    return render(request, 'compare.html', language,
        services=services, back=back, error=None)


# The pages of the settings' texts (linked from every page's footer) and
# the logo

INFO_PAGES = ['rulebook', 'accessibility', 'privacy', 'contact']
LOGO_TYPES = [
    (b'\x89PNG\r\n\x1a\n', 'image/png'),
    (b'\xff\xd8\xff', 'image/jpeg'),
    (b'GIF8', 'image/gif'),
    ]


def _logo_type(data):
    "Return the content type of the logo image data, None if unknown"
    for magic, content_type in LOGO_TYPES:
        if data.startswith(magic):
            return content_type
    head = data[:512].lstrip().lower()
    if head.startswith((b'<svg', b'<?xml')) and b'<svg' in data[:4096]:
        return 'image/svg+xml'


@app.route('/<database_name>/hb/info/<name>', methods=['GET'])
@with_pool
@with_transaction()
@public_page
def info(request, pool, language, name):
    "The rulebook, accessibility statement, privacy notice, contact page"
    Configuration = pool.get('hb.configuration')
    if name not in INFO_PAGES:
        return _not_found(request, language)
    return render(request, 'info.html', language, name=name,
        text=Configuration(1).get_hb_page_text(name))


@app.route('/<database_name>/hb/logo', methods=['GET'])
@with_pool
@with_transaction()
@public_page
def logo(request, pool, language):
    "The wellbeing area's logo of the settings"
    Configuration = pool.get('hb.configuration')
    data = Configuration(1).hb_logo
    content_type = _logo_type(bytes(data)) if data else None
    if not content_type:
        return _not_found(request, language)
    response = Response(bytes(data), content_type=content_type)
    response.headers['Cache-Control'] = 'public, max-age=300'
    return portal.secure(response)


# The online application

def _application_values(pool, form):
    "Return the values of an application from the posted form"
    Municipality = pool.get('hb.municipality')
    CustomerGroup = pool.get('hb.customer.group')
    Category = pool.get('hb.service.category')

    def ids(Model, name):
        wanted = {i for i in map(_int, form.getlist(name)) if i}
        return [r.id for r in Model.search([('id', 'in', list(wanted))])]

    values = {
        k: form.get(k, '').strip() for k in [
            'name', 'business_id', 'vat_number', 'street', 'postal_code',
            'city', 'contact_name', 'email', 'phone', 'iban', 'bic',
            'description']}
    values['language'] = form.get('language')
    if values['language'] not in {'fi', 'sv', 'en'}:
        values['language'] = 'fi'
    values['rulebook_accepted'] = form.get('rulebook_accepted') == 'yes'
    values['municipalities'] = [('add', ids(Municipality, 'municipalities'))]
    values['customer_groups'] = [
        ('add', ids(CustomerGroup, 'customer_groups'))]
    services, categories = [], set()
    for index in range(1, APPLICATION_SERVICE_ROWS + 1):
        name = form.get('service_name_%d' % index, '').strip()
        if not name:
            continue
        category = _browse_active(
            Category, _int(form.get('service_category_%d' % index)))
        price = _price(form.get('service_price_%d' % index))
        languages = [lang for lang in form.getlist(
                'service_languages_%d' % index)
            if lang in {'fi', 'sv', 'en'}]
        services.append({
                'name': name,
                'category': category.id if category else None,
                'unit': category.unit if category else 'hour',
                'price': price,
                'languages': languages or ['fi'],
                'description': form.get(
                    'service_description_%d' % index, '').strip(),
                })
        if category:
            categories.add(category.id)
    values['services'] = [('create', services)]
    values['categories'] = [('add', list(categories))]
    return values


REQUIRED_APPLICATION_FIELDS = [
    'name', 'business_id', 'contact_name', 'email', 'phone', 'iban', 'bic',
    'street', 'postal_code', 'city']


APPLICATION_TEXT_FIELDS = [
    'name', 'business_id', 'vat_number', 'street', 'postal_code', 'city',
    'contact_name', 'email', 'phone', 'iban', 'bic', 'description']


def _check_application_form(pool, values, translate):
    "Return the message of what the form lacks, None when complete"
    Application = pool.get('hb.provider.application')
    Field = pool.get('ir.model.field')
    error = _too_long(pool, translate, 'hb.provider.application',
        {f: values.get(f) for f in APPLICATION_TEXT_FIELDS})
    for service in values['services'][0][1]:
        error = error or _too_long(
            pool, translate, 'hb.provider.application.service', {
                'name': service['name'],
                'description': service['description'],
                }, labels={
                'name': translate('msg_page_field_service_name'),
                'description': translate('msg_page_description'),
                })
    if error:
        return error
    missing = [f for f in REQUIRED_APPLICATION_FIELDS if not values.get(f)]
    if missing:
        return translate('msg_page_apply_missing', fields=', '.join(
                Field.get_name(Application.__name__, f) for f in missing))
    services = values['services'][0][1]
    if not services:
        return translate('msg_page_apply_no_service')
    for service in services:
        if not service['category'] or service['price'] is None:
            return translate(
                'msg_page_apply_service_incomplete', service=service['name'])
    if not values['municipalities'][0][1]:
        return translate('msg_page_apply_no_municipality')
    if not values['customer_groups'][0][1]:
        return translate('msg_page_apply_no_customer_group')
    if not values['rulebook_accepted']:
        return translate('msg_page_apply_rulebook_required')


def _read_attachments(request, translate):
    """Return the uploaded attachments as (kind, file name, data), refusing
    with UserError a file whose type, name or content is not accepted (its
    content must be of the type declared and named)"""
    attachments = []
    for kind in ATTACHMENT_KINDS:
        upload = request.files.get(kind)
        if not upload or not upload.filename:
            continue
        filename = os.path.basename(upload.filename)
        if upload.mimetype not in ATTACHMENT_TYPES:
            raise UserError(translate(
                    'msg_page_apply_attachment_type', filename=filename))
        data = upload.read()
        extension = os.path.splitext(filename)[1].lower()
        if (_content_type(data) != upload.mimetype
                or extension not in ATTACHMENT_TYPES[upload.mimetype]):
            raise UserError(translate(
                    'msg_page_apply_attachment_content', filename=filename))
        attachments.append((kind, filename, data))
    return attachments


def _save_attachments(pool, attachments, application, translate):
    Attachment = pool.get('ir.attachment')
    Attachment.save([Attachment(
                resource=application,
                name='%s - %s' % (
                    translate('msg_page_apply_attachment_%s' % kind),
                    filename),
                description=kind,
                data=data) for kind, filename, data in attachments])


@app.route('/<database_name>/hb/provider/apply', methods=['GET', 'POST'])
@with_pool
@with_transaction()
@public_page
def apply(request, pool, language):
    Application = pool.get('hb.provider.application')
    Municipality = pool.get('hb.municipality')
    CustomerGroup = pool.get('hb.customer.group')
    Category = pool.get('hb.service.category')
    Configuration = pool.get('hb.configuration')
    translate = Translator(language)
    token = portal.anonymous_csrf_token(request)
    error, status, form = None, HTTPStatus.OK, request.form
    if request.method == 'POST':
        if not portal.check_csrf(
                request, request.cookies.get(portal.CSRF_COOKIE, '')):
            response = portal.render_error(
                request, language, HTTPStatus.FORBIDDEN,
                'msg_page_csrf_invalid')
            return portal.set_anonymous_csrf_cookie(request, response, token)
        values = _application_values(pool, request.form)
        error = _check_application_form(pool, values, translate)
        if not error:
            try:
                # Checked before anything is written
                attachments = _read_attachments(request, translate)
                application, = Application.create([values])
                _save_attachments(pool, attachments, application, translate)
                Application.submit([application])
            except UserError as exception:
                portal.rollback()
                error = _error_message(exception)
            else:
                return render(request, 'apply_done.html', language,
                    application=application,
                    existing=bool(application.existing_party))
        status = HTTPStatus.BAD_REQUEST
    response = render(request, 'apply.html', language, status=status,
        csrf_token=token, error=error, form=form,
        rows=range(1, APPLICATION_SERVICE_ROWS + 1),
        municipalities=Municipality.search([]),
        customer_groups=CustomerGroup.search([]),
        categories=Category.search([]),
        attachment_kinds=ATTACHMENT_KINDS,
        rulebook=Configuration(1).get_hb_page_text('rulebook'))
    return portal.set_anonymous_csrf_cookie(request, response, token)


# The provider portal

@app.route('/<database_name>/hb/provider/login', methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@public_page
def login(request, pool, language):
    WebUser = pool.get('web.user')
    Configuration = pool.get('hb.configuration')
    # (empty in a database made before the setting: allowed)
    password_login = Configuration(1).hb_portal_password_login
    password_login = True if password_login is None else bool(password_login)
    token = portal.anonymous_csrf_token(request)
    error, status = None, HTTPStatus.OK
    email = ''
    if request.method == 'POST':
        email = request.form.get('email', '').strip()
        password = request.form.get('password', '')
        if not portal.check_csrf(
                request, request.cookies.get(portal.CSRF_COOKIE, '')):
            error, status = 'msg_page_csrf_invalid', HTTPStatus.FORBIDDEN
        elif not password_login:
            error, status = (
                'msg_page_password_login_off', HTTPStatus.FORBIDDEN)
        elif not email or not password:
            error, status = 'msg_page_login_failed', HTTPStatus.UNAUTHORIZED
        else:
            try:
                user = WebUser.authenticate(email, password)
            except RateLimitException:
                user = None
                error = 'msg_page_login_rate_limited'
                status = HTTPStatus.TOO_MANY_REQUESTS
            else:
                if user and user.party:
                    key = user.new_session()
                    response = redirect(portal.url_for(
                            request, 'provider', language))
                    portal.set_session_cookie(request, response, pool, key)
                    return portal.secure(response, private=True)
                error, status = (
                    'msg_page_login_failed', HTTPStatus.UNAUTHORIZED)
    response = render(request, 'login.html', language, status=status,
        private=True, csrf_token=token, email=email,
        password_login=password_login,
        strong_login=portal.strong_login_enabled(pool),
        error=Translator(language)(error) if error else None)
    return portal.set_anonymous_csrf_cookie(request, response, token)


@app.route('/<database_name>/hb/provider/logout', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@provider_page
def logout(request, pool, session, language):
    Session = pool.get('web.user.session')
    Session.remove(session.key)
    response = redirect(portal.url_for(request, 'provider/login', language))
    portal.remove_session_cookie(request, response)
    return portal.secure(response, private=True)


@app.route('/<database_name>/hb/provider/password', methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@public_page
def password(request, pool, language):
    "Choose the password of a portal login with the emailed token"
    WebUser = pool.get('web.user')
    User = pool.get('res.user')
    token = portal.anonymous_csrf_token(request)
    source = request.form if request.method == 'POST' else request.args
    email = source.get('email', '')
    reset_token = source.get('token', '')
    error, status, done = None, HTTPStatus.OK, False
    if request.method == 'POST':
        new = request.form.get('password', '')
        if not portal.check_csrf(
                request, request.cookies.get(portal.CSRF_COOKIE, '')):
            error = Translator(language)('msg_page_csrf_invalid')
            status = HTTPStatus.FORBIDDEN
        elif new != request.form.get('password2', ''):
            error = Translator(language)('msg_page_password_mismatch')
            status = HTTPStatus.BAD_REQUEST
        elif len(new) < MIN_PASSWORD_LENGTH:
            error = Translator(language)(
                'msg_page_password_short', length=MIN_PASSWORD_LENGTH)
            status = HTTPStatus.BAD_REQUEST
        else:
            try:
                User.validate_password(new, [])
                done = WebUser.set_password_token(email, reset_token, new)
            except UserError as exception:
                portal.rollback()
                error, status = _error_message(exception), (
                    HTTPStatus.BAD_REQUEST)
            else:
                if not done:
                    error = Translator(language)(
                        'msg_page_password_token_invalid')
                    status = HTTPStatus.BAD_REQUEST
    response = render(request, 'password.html', language, status=status,
        private=True, csrf_token=token, email=email, token=reset_token,
        error=error, done=done)
    return portal.set_anonymous_csrf_cookie(request, response, token)


def _provider_services(pool, party):
    Template = pool.get('product.template')
    return Template.search([
            ('hb_provider', '=', party.id),
            ], order=[('name', 'ASC'), ('id', 'ASC')])


def _own_service(pool, session, service_id):
    "Return the provider's own service with service_id, or None"
    Template = pool.get('product.template')
    services = Template.search([
            ('id', '=', service_id),
            ('hb_provider', '=', session.party.id),
            ], limit=1)
    return services[0] if services else None


@app.route('/<database_name>/hb/provider', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@provider_page
def portal_home(request, pool, session, language):
    message = {
        'bank': 'msg_page_bank_requested',
        'user': 'msg_page_user_added',
        'confirmed': 'msg_page_application_confirmed_done',
        'declined': 'msg_page_application_declined_done',
        }.get(request.args.get('done'))
    return _portal_home(request, pool, session, language, message=message)


def _portal_home(request, pool, session, language, error=None,
        status=HTTPStatus.OK, message=None, form=None):
    Contract = pool.get('hb.provider.contract')
    Proposal = pool.get('hb.service.price.proposal')
    BankChange = pool.get('hb.provider.bank.change')
    WebUser = pool.get('web.user')
    party = session.party
    return render(request, 'portal_home.html', language, status=status,
        applications=_provider_applications(pool, session),
        session=session, error=error, form=form or {},
        message=Translator(language)(message) if message else None,
        contracts=Contract.search([('provider', '=', party.id)]),
        services=_provider_services(pool, party),
        proposals=Proposal.search([
                ('service.hb_provider', '=', party.id),
                ], limit=20),
        bank_account=party.hb_bank_account,
        bank_changes=BankChange.search([
                ('party', '=', party.id),
                ], limit=5),
        users=WebUser.search([('party', '=', party.id)]))


def _provider_applications(pool, session, application_id=None):
    """Return the open applications made with the business ID of the
    session's provider (the one of application_id only when given)"""
    Application = pool.get('hb.provider.application')
    domain = [
        ('existing_party', '=', session.party.id),
        ('state', 'in', ['submitted', 'information_requested']),
        ]
    if application_id is not None:
        domain.append(('id', '=', application_id))
    return Application.search(domain, order=[('id', 'ASC')])


@app.route('/<database_name>/hb/provider/application/<int:application_id>',
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@provider_page
def portal_application(request, pool, session, language, application_id):
    "Confirm or decline an application made with the provider's business ID"
    Application = pool.get('hb.provider.application')
    applications = _provider_applications(pool, session, application_id)
    decision = request.form.get('decision')
    if not applications or decision not in {'confirm', 'decline'}:
        return _not_found(request, language, session)
    try:
        Application.decide_by_provider(
            applications, session.user, decision == 'confirm')
    except UserError as exception:
        portal.rollback()
        return _portal_home(request, pool, session, language,
            error=_error_message(exception), status=HTTPStatus.BAD_REQUEST)
    return portal.secure(redirect(portal.url_for(
                request, 'provider', language,
                done='confirmed' if decision == 'confirm' else 'declined')),
        private=True)


def _check_active(pool, session, translate):
    "Return the error message when the provider may not propose"
    Contract = pool.get('hb.provider.contract')
    if not Contract.get_active(session.party):
        return translate('msg_page_portal_not_active')


@app.route(
    '/<database_name>/hb/provider/service/<%s:service_id>' % ID_CONVERTER,
    methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@provider_page
def portal_service(request, pool, session, language, service_id):
    Proposal = pool.get('hb.service.price.proposal')
    translate = Translator(language)
    service = _own_service(pool, session, service_id)
    if not service:
        return _not_found(request, language, session)
    error, status, message = None, HTTPStatus.OK, None
    if request.method == 'POST':
        price = _price(request.form.get('price'))
        note = request.form.get('note', '').strip()
        error = _too_long(
            pool, translate, 'hb.service.price.proposal', {'note': note})
        error = error or _check_active(pool, session, translate)
        if not error and price is None:
            error = translate('msg_page_price_invalid')
        if not error:
            try:
                Proposal.create([{
                            'service': service.id,
                            'price': price,
                            'note': note,
                            'web_user': session.user.id,
                            }])
            except UserError as exception:
                portal.rollback()
                error = _error_message(exception)
            else:
                return portal.secure(redirect(portal.url_for(
                            request, 'provider/service/%d' % service.id,
                            language, done='proposed')), private=True)
        status = HTTPStatus.BAD_REQUEST
    elif request.args.get('done') == 'proposed':
        message = translate('msg_page_price_proposed')
    return render(request, 'portal_service.html', language, status=status,
        session=session, service=service, error=error, message=message,
        proposals=Proposal.search([('service', '=', service.id)]),
        form=request.form)


@app.route('/<database_name>/hb/provider/service/new',
    methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@provider_page
def portal_service_new(request, pool, session, language):
    Template = pool.get('product.template')
    Product = pool.get('product.product')
    Contract = pool.get('hb.provider.contract')
    Category = pool.get('hb.service.category')
    translate = Translator(language)
    contracts = Contract.get_active(session.party)
    categories = [c for c in Category.search([])
        if any(k.covers_category(c) for k in contracts)]
    error, status = None, HTTPStatus.OK
    if request.method == 'POST':
        name = request.form.get('name', '').strip()
        description = request.form.get('description', '').strip()
        error = _too_long(pool, translate, 'hb.provider.application.service', {
                'name': name,
                'description': description,
                }, labels={
                'name': translate('msg_page_field_service_name'),
                'description': translate('msg_page_description'),
                })
        error = error or _check_active(pool, session, translate)
        category = _browse_active(Category, _int(request.form.get('category')))
        price = _price(request.form.get('price'))
        if not error and (not name or category not in categories):
            error = translate('msg_page_service_incomplete')
        if not error and price is None:
            error = translate('msg_page_price_invalid')
        if not error:
            contract = contracts[0]
            languages = [lang for lang in request.form.getlist('languages')
                if lang in {'fi', 'sv', 'en'}]
            try:
                template = Template(
                    name=name, type='service',
                    default_uom=Template.hb_default_uom(category.unit),
                    list_price=price, hb_provider=session.party,
                    hb_contract=contract, hb_category=category,
                    hb_unit=category.unit,
                    hb_customer_groups=contract.customer_groups,
                    hb_municipalities=contract.municipalities,
                    hb_languages=languages or ['fi'],
                    hb_description=description,
                    hb_state='proposed', products=[Product()])
                template.save()
            except UserError as exception:
                portal.rollback()
                error = _error_message(exception)
            else:
                return portal.secure(redirect(portal.url_for(
                            request, 'provider/service/%d' % template.id,
                            language)), private=True)
        status = HTTPStatus.BAD_REQUEST
    return render(request, 'portal_service_new.html', language,
        status=status, session=session, error=error, form=request.form,
        categories=categories)


@app.route('/<database_name>/hb/provider/bank', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@provider_page
def portal_bank(request, pool, session, language):
    BankChange = pool.get('hb.provider.bank.change')
    values = {
        'iban': request.form.get('iban', '').strip(),
        'bic': request.form.get('bic', '').strip(),
        }
    error = _too_long(pool, Translator(language),
        'hb.provider.bank.change', values)
    try:
        if error:
            raise UserError(error)
        BankChange.create([{
                    'party': session.party.id,
                    'web_user': session.user.id,
                    **values,
                    }])
    except UserError as exception:
        portal.rollback()
        return _portal_home(request, pool, session, language,
            error=_error_message(exception), status=HTTPStatus.BAD_REQUEST,
            form=request.form)
    return portal.secure(redirect(portal.url_for(
                request, 'provider', language, done='bank')), private=True)


@app.route('/<database_name>/hb/provider/users', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@provider_page
def portal_users(request, pool, session, language):
    "Give a colleague a login to the provider's portal"
    WebUser = pool.get('web.user')
    translate = Translator(language)
    try:
        email = request.form.get('email', '').strip()
        error = _too_long(pool, translate, 'hb.provider.application',
            {'email': email},
            labels={'email': translate('msg_page_field_email')})
        if error:
            raise PortalUserError(error)
        email = format_email(email)
        if WebUser.search([('email', '=', email)], limit=1):
            raise PortalUserError(translate(
                    'msg_page_user_exists', email=email))
        user = WebUser(email=email, party=session.party)
        user.set_reset_password_token()
        user.save()
        with Transaction().set_context(language=language):
            variables = {
                'inviter': session.user.email,
                'provider': session.party.name,
                'url': mail.password_url(user, language),
                }
            mail.send_email(email,
                translate('msg_email_portal_user_subject', **variables),
                translate('msg_email_portal_user_body', **variables),
                user)
    except UserError as exception:
        portal.rollback()
        return _portal_home(request, pool, session, language,
            error=_error_message(exception), status=HTTPStatus.BAD_REQUEST,
            form=request.form)
    return portal.secure(redirect(portal.url_for(
                request, 'provider', language, done='user')), private=True)
