# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The provider portal's claims (issue 14): the provider's claims with
their state and outcome, a form claiming one service delivered under a
standing authorisation, and a CSV upload of many claims answered with a
report per row (accepted, or refused and why: nothing is written for a
refused row).

Routes run as user 0: every record is filtered by the session's party."""
import csv
import io
import os

from trytond.protocols.wrappers import (
    HTTPStatus,
    Response,
    with_pool,
    with_transaction,
)
from trytond.wsgi import app

from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.portal import provider_page

from .claim import error
from .exceptions import ClaimError
from .portal_pages import PROVIDER, _int, _page, _services, voucher_page

MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_CSV_ROWS = 10000
CLAIMS_SHOWN = 100
# the columns of an upload (a header row naming them is skipped)
COLUMNS = ['authorisation', 'service', 'date', 'quantity', 'unit_price',
    'confirm_duplicate']

# The upload form's script (say that the file is being processed): the
# claims page alone lets the portal's own scripts run
SCRIPT = os.path.join(os.path.dirname(__file__), 'static', 'claims_upload.js')
CSP = portal.SECURITY_HEADERS['Content-Security-Policy'] + (
    "; script-src 'self'")

portal.add_navigation(
    'claims', 'hb_voucher.msg_portal_claims', 35, model='hb.claim')


def _authorisations(pool, party):
    Authorisation = pool.get('hb.authorisation')
    return Authorisation.search([
            ('provider', '=', party.id),
            ('state', '=', 'active'),
            ], order=[('id', 'ASC')])


def _claims(pool, party):
    Claim = pool.get('hb.claim')
    return Claim.search([
            ('provider', '=', party.id),
            ], order=[('id', 'DESC')], limit=CLAIMS_SHOWN)


def _show(request, pool, session, language, status=HTTPStatus.OK,
        error=None, message=None, form=None, report=None):
    claims = _claims(pool, session.party)
    authorisations = _authorisations(pool, session.party)
    AccessLog = pool.get('hb.access.log')
    AccessLog.log_web('portal', session.party, 'hb.claim',
        [(c.id, c.client.id) for c in claims])
    response = _page(request, 'portal_claims.html', language, session,
        status=status, error=error, message=message, form=form or {},
        claims=claims, authorisations=authorisations,
        services=_services(pool, session.party), report=report,
        max_rows=MAX_CSV_ROWS)
    response.headers['Content-Security-Policy'] = CSP
    return response


@app.route('/<database_name>/hb/static/hb_voucher/claims_upload.js',
    methods=['GET'])
def upload_script(request, database_name):
    with open(SCRIPT, 'rb') as fp:
        response = Response(fp.read(), content_type='text/javascript')
    response.headers['Cache-Control'] = 'public, max-age=3600'
    return portal.secure(response)


def row_request(values):
    """Return the arguments of Claim.submit for values (strings of a form
    or a CSV row); raise ClaimError when they are not even a request"""
    authorisation = _int(values.get('authorisation'))
    service = _int(values.get('service'))
    if not authorisation or not service:
        raise error('invalid_request')
    unit_price = (values.get('unit_price') or '').strip() or None
    confirm = (values.get('confirm_duplicate') or '').strip().lower() in {
        '1', 'true', 'yes', 'on', 'kyllä', 'k', 'x'}
    return {
        'authorisation': authorisation, 'product': service,
        'date': (values.get('date') or '').strip(),
        'quantity': (values.get('quantity') or '').strip(),
        'unit_price': unit_price, 'confirm_duplicate': confirm,
        }


def submit_row(pool, party, values, source, cache=None):
    "Submit the claim of values (strings of a form or a CSV row)"
    Claim = pool.get('hb.claim')
    return Claim.submit(party, source=source, cache=cache,
        **row_request(values))[0]


def read_csv(data):
    """Return the rows of the CSV data as dicts of COLUMNS (separated by
    commas or semicolons; a header row is skipped)"""
    text = data.decode('utf-8-sig')
    head = text[:1024]
    delimiter = ';' if head.count(';') > head.count(',') else ','
    rows = []
    for index, row in enumerate(
            csv.reader(io.StringIO(text), delimiter=delimiter)):
        if not any(cell.strip() for cell in row):
            continue
        if index == 0 and row and row[0].strip().lower() == 'authorisation':
            continue
        rows.append(dict(zip(COLUMNS, (cell[:50] for cell in row))))
    return rows


def upload_claims(pool, party, data):
    """Submit the rows of the CSV data at once (Claim.submit_many: the
    rules of a single claim, row after row, with one lock and one
    reservation per budget line); return the report [(line number,
    values, claim or None, error message or None)]. A refused row writes
    nothing."""
    Claim = pool.get('hb.claim')
    rows = read_csv(data)[:MAX_CSV_ROWS]
    requests = []
    for values in rows:
        try:
            requests.append(row_request(values))
        except ClaimError as exception:
            requests.append(exception)
    results = Claim.submit_many(party, requests, source='csv')
    return _report(rows, results)


def upload_claims_by_row(pool, party, data):
    """Submit each row of the CSV data through Claim.submit, one after
    the other: the report of upload_claims (kept to compare both and to
    measure the difference in bench/bench_claims_csv.py)"""
    rows = read_csv(data)[:MAX_CSV_ROWS]
    results = []
    # what the rows share is looked up once (Claim.submit)
    cache = {}
    for values in rows:
        try:
            results.append(
                submit_row(pool, party, values, 'csv', cache=cache))
        except ClaimError as exception:
            results.append(exception)
    return _report(rows, results)


def _report(rows, results):
    report = []
    for number, (values, result) in enumerate(zip(rows, results), 1):
        if isinstance(result, ClaimError):
            report.append((number, values, None, result.message))
        else:
            report.append((number, values, result, None))
    return report


@app.route(PROVIDER + '/claims', methods=['GET', 'POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def claims(request, pool, session, language):
    if request.method == 'POST':
        try:
            claim = submit_row(pool, session.party, request.form, 'portal')
        except ClaimError as exception:
            portal.rollback()
            return _show(request, pool, session, language,
                status=HTTPStatus.BAD_REQUEST, error=exception.message,
                form=request.form)
        return _show(request, pool, session, language,
            status=HTTPStatus.CREATED, message=portal.Translator(language)(
                'hb_voucher.msg_portal_claim_made', claim=claim.rec_name))
    return _show(request, pool, session, language)


@app.route(PROVIDER + '/claims/upload', methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@voucher_page
@provider_page
def claims_upload(request, pool, session, language):
    translate = portal.Translator(language)
    upload = request.files.get('file')
    data = upload.read(MAX_CSV_BYTES + 1) if upload else b''
    if not data or len(data) > MAX_CSV_BYTES:
        return _show(request, pool, session, language,
            status=HTTPStatus.BAD_REQUEST,
            error=translate('hb_voucher.msg_portal_claims_csv_invalid'))
    try:
        report = upload_claims(pool, session.party, data)
    except (UnicodeDecodeError, csv.Error):
        portal.rollback()
        return _show(request, pool, session, language,
            status=HTTPStatus.BAD_REQUEST,
            error=translate('hb_voucher.msg_portal_claims_csv_invalid'))
    except ClaimError as exception:
        # (the reservation of the accepted rows refused: none is written)
        portal.rollback()
        return _show(request, pool, session, language,
            status=HTTPStatus.CONFLICT, error=exception.message)
    accepted = sum(1 for r in report if r[2])
    return _show(request, pool, session, language, report=report,
        message=translate('hb_voucher.msg_portal_claims_csv_processed',
            processed=len(report), accepted=accepted,
            refused=len(report) - accepted))
