# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The claims of the terminal API (issue 14): a provider claims services
delivered under a standing authorisation, with an idempotency key; the
errors are api.py's JSON errors (statuses in api.STATUSES)."""
from http import HTTPStatus

from trytond.model.exceptions import SQLConstraintError
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from trytond.modules.hb_marketplace.tools import ID_CONVERTER, MAX_ID

from . import api
from .claim import error
from .openapi import BASE

FIELDS = ('authorisation', 'service', 'date', 'quantity', 'unit_price')


def claim_data(claim):
    "Return the JSON representation of claim (never the client's HETU)"
    return {
        'id': claim.id,
        'authorisation': claim.authorisation.id,
        'state': claim.state,
        'date': claim.date.isoformat(),
        'service': claim.product.id,
        'quantity': str(claim.quantity),
        'unit_price': str(claim.unit_price),
        'claimed_amount': str(claim.claimed_amount),
        'amount': str(claim.amount),
        'currency': claim.currency.code,
        'dispute_end': claim.dispute_end.isoformat(),
        'idempotency_key': claim.idempotency_key,
        'charge': claim.charge.id if claim.charge else None,
        'resolution_reason': (claim.resolution_reason
            if claim.state in {'reduced', 'rejected'} else None),
        }


def _id(value):
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 0 < value <= MAX_ID):
        raise error('invalid_request')
    return value


def submit_claim(pool, provider, data):
    "Submit the claim of data (the JSON body); return (claim, created)"
    Claim = pool.get('hb.claim')
    key = data.get('idempotency_key')
    if not isinstance(key, str) or not key:
        raise error('invalid_request')
    authorisation = _id(data.get('authorisation'))
    service = _id(data.get('service'))
    date = data.get('date')
    quantity = data.get('quantity')
    unit_price = data.get('unit_price')
    if not isinstance(date, str) or quantity is None:
        raise error('invalid_request')
    confirm = data.get('confirm_duplicate', False)
    if not isinstance(confirm, bool):
        raise error('invalid_request')
    args = (provider, authorisation, service, date, quantity)
    kwargs = {'unit_price': unit_price, 'idempotency_key': key,
        'confirm_duplicate': confirm, 'source': 'api'}
    try:
        return Claim.submit(*args, **kwargs)
    except SQLConstraintError:
        Transaction().rollback()
        return Claim.submit(*args, **kwargs)


def own_claim(pool, provider, claim_id):
    Claim = pool.get('hb.claim')
    claims = Claim.search([
            ('id', '=', claim_id),
            ('provider', '=', provider.id),
            ], limit=1)
    if not claims:
        raise error('not_found')
    return claims[0]


def log_reads(pool, provider, claims):
    AccessLog = pool.get('hb.access.log')
    AccessLog.log_web('api', provider, 'hb.claim',
        [(c.id, c.client.id) for c in claims])


@app.route(BASE + '/claims', methods=['POST'])
@with_pool
@api.unavailable
@with_transaction()
@api.started
@api.api
def claims(request, pool, provider):
    claim, created = submit_claim(pool, provider, api.read_json(request))
    log_reads(pool, provider, [claim])
    return claim_data(claim), (
        HTTPStatus.CREATED if created else HTTPStatus.OK)


@app.route(BASE + '/claims/<%s:claim_id>' % ID_CONVERTER, methods=['GET'])
@with_pool
@api.unavailable
@with_transaction()
@api.started
@api.api
def claim(request, pool, provider, claim_id):
    record = own_claim(pool, provider, claim_id)
    log_reads(pool, provider, [record])
    return claim_data(record), HTTPStatus.OK
