# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Deciding a rectification request closes its request in the inbox
(issue 13): a rectification request received through the client page has
an hb.client.request; when the rectification is decided, the request is
marked handled, its answer giving the outcome, and the sender gets the
SMS that their request was answered (client_request_sms.py)."""
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access


class Rectification(metaclass=PoolMeta):
    __name__ = 'hb.decision.rectification'

    @classmethod
    @ModelView.button
    @Workflow.transition('decided')
    def decide(cls, rectifications):
        pool = Pool()
        Request = pool.get('hb.client.request')
        Lang = pool.get('ir.lang')
        super().decide(rectifications)
        with without_check_access():
            requests = Request.search([
                    ('rectification', 'in', [r.id for r in rectifications]),
                    ('state', '=', 'open'),
                    ])
            for request in requests:
                rectification = request.rectification
                code = (rectification.language.code
                    if rectification.language else 'fi')
                with Transaction().set_context(language=code):
                    outcome = cls(rectification.id).outcome_string
                    request.answer = gettext(
                        'hb_voucher.msg_client_request_rectification_decided',
                        outcome=outcome,
                        date=Lang.get(code).strftime(
                            rectification.decision_date))
            Request.save(requests)
            Request.apply(requests)
