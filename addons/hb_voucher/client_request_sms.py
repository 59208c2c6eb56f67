# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The SMS telling the sender of a client request that it was answered
(issue 13, Omasote): when the own-worker handles or refuses a request in
the inbox, the client, or the representative who sent it, gets one short
SMS in their language through the SMS outbox. It says only that the
request was answered and points to the client page: no names, amounts or
answer text (an SMS is not a secure channel)."""
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from . import sms


class ClientRequest(metaclass=PoolMeta):
    __name__ = 'hb.client.request'

    def answer_recipient(self):
        """Return (mobile, language code) of who sent the request: the
        client, or the representative (their mobile on the client's
        representatives); (None, None) when there is no number"""
        pool = Pool()
        Representative = pool.get('hb.client.representative')
        client, person = self.client, self.person
        if person is None or person == client:
            mobile, party = client.hb_mobile, client
        else:
            representatives = Representative.search([
                    ('client', '=', client.id),
                    ('party', '=', person.id),
                    ], limit=1)
            mobile = representatives[0].mobile if representatives else None
            party = person
        if not mobile:
            return None, None
        return mobile, party.lang.code if party.lang else 'fi'

    @classmethod
    def send_answered_sms(cls, requests):
        "Queue the SMS that each request was answered"
        for request in requests:
            mobile, language = request.answer_recipient()
            if not mobile:
                continue
            with Transaction().set_context(language=language):
                text = gettext('hb_voucher.msg_sms_client_request_answered')
            sms.send_sms(mobile, text)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def apply(cls, requests):
        super().apply(requests)
        cls.send_answered_sms(requests)

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, requests):
        super().refuse(requests)
        cls.send_answered_sms(requests)
