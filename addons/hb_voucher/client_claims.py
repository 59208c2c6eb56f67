# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's claims on their page (issue 14): each claim made under a
standing authorisation is shown at once with its dispute window, and a
client (or a representative who may confirm charges) can dispute it:
the claim is frozen until the own-worker resolves it."""
from trytond.protocols.wrappers import HTTPStatus, with_pool, with_transaction
from trytond.wsgi import app

from trytond.modules.hb_marketplace import portal
from trytond.modules.hb_marketplace.tools import ID_CONVERTER

from .api import error_status
from .client_page import _done, _home, client_page
from .exceptions import ClaimError

MAX_REASON = 2000
# the claims shown: the newest first
CLAIMS_SHOWN = 50


def client_claims(pool, client):
    "Return the claims of client shown on their page (newest first)"
    Claim = pool.get('hb.claim')
    return Claim.search([
            ('client', '=', client.id),
            ], order=[('date', 'DESC'), ('id', 'DESC')], limit=CLAIMS_SHOWN)


@app.route(
    '/<database_name>/hb/client/claim/<%s:claim_id>/dispute' % ID_CONVERTER,
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
@client_page
def client_dispute(request, pool, login, language, claim_id):
    "Dispute a pending claim of the logged-in client within its window"
    Claim = pool.get('hb.claim')
    if not login.may_confirm_charges:
        return portal.render_error(request, language,
            HTTPStatus.FORBIDDEN, 'hb_voucher.msg_client_not_allowed')
    reason = request.form.get('reason', '')
    if len(reason) > MAX_REASON:
        return portal.render_error(request, language,
            HTTPStatus.BAD_REQUEST, 'msg_page_not_found')
    try:
        Claim.dispute(claim_id, login.client, reason)
    except ClaimError as exception:
        portal.rollback()
        return _home(request, pool, login, language, error=exception.message,
            status=error_status(exception))
    return _done(request, language, 'disputed')
