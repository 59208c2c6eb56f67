# This file is part of the HB (henkilökohtainen budjetti) modules for
# Tryton. Licensed under the GNU GPL v3 or later; see LICENSE at the
# repository root.
"""The client's SMS about claims (issue 14): by the settings (Claim SMS)
none, one SMS per claim when it is submitted, or a daily digest (a
scheduled task) of the claims made since the last one. The SMS go
through the outbox sent after commit (sms.py); each claim keeps the SMS
that told of it, so none is told twice."""
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from trytond.modules.hb_marketplace import portal

from . import sms

CLAIM_SMS = [
    ('none', "No SMS"),
    ('each', "An SMS per Claim"),
    ('digest', "A Daily Digest"),
    ]
DEFAULT_CLAIM_SMS = 'digest'
# the claims listed in a digest (the rest counted)
DIGEST_LINES = 10


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    claim_sms = fields.Selection(CLAIM_SMS, "Claim SMS",
        help="How the client is told of the claims made under their "
        "authorisations: an SMS per claim when it is made, a daily digest "
        "of the day's claims, or no SMS (the client page shows them).")

    @classmethod
    def default_claim_sms(cls):
        return DEFAULT_CLAIM_SMS

    def get_claim_sms(self):
        return self.claim_sms or DEFAULT_CLAIM_SMS


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('hb.claim|send_claim_digests',
                "Send the Daily Digests of Claims by SMS"))


def _language(party):
    code = party.lang.code if party.lang else None
    return code if code in {'fi', 'sv', 'en'} else 'fi'


def _day(date, language):
    return portal.Formatter(language).day(date)


def _quantity(quantity, language):
    return portal.Formatter(language).quantity(quantity)


class Claim(metaclass=PoolMeta):
    __name__ = 'hb.claim'

    receipt_sms = fields.Many2One(
        'hb.sms.message', "Receipt SMS", readonly=True, ondelete='SET NULL',
        help="The SMS that told the client of the claim (alone or in a "
        "daily digest).")

    def _days_left(self, today):
        return max(0, (self.dispute_end - today).days)

    @classmethod
    def submit(cls, *args, **kwargs):
        claim, created = super().submit(*args, **kwargs)
        if created and cls._config().get_claim_sms() == 'each':
            cls.send_receipts([claim])
        return claim, created

    @classmethod
    def submit_many(cls, *args, **kwargs):
        results = super().submit_many(*args, **kwargs)
        if cls._config().get_claim_sms() == 'each':
            cls.send_receipts([r for r in results if isinstance(r, cls)])
        return results

    @classmethod
    def send_receipts(cls, claims):
        "Queue an SMS to the client of each claim not yet told of"
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        to_write = []
        for claim in claims:
            if claim.receipt_sms:
                continue
            mobile = claim.client.hb_mobile
            if not mobile:
                continue
            language = _language(claim.client)
            with Transaction().set_context(language=language):
                text = gettext('hb_voucher.msg_claim_sms_receipt',
                    provider=claim.provider.rec_name,
                    service=claim.product.template.name,
                    quantity=_quantity(claim.quantity, language),
                    date=_day(claim.date, language),
                    amount=sms.money(claim.amount, language),
                    number=claim.rec_name,
                    end=_day(claim.dispute_end, language),
                    days=claim._days_left(today))
            message = sms.send_sms(mobile, text[:2000])
            to_write.extend([[claim], {'receipt_sms': message.id}])
        if to_write:
            with without_check_access():
                cls.write(*to_write)

    @classmethod
    def send_claim_digests(cls):
        """Send each client one SMS of the pending claims not yet told of
        (the scheduled task, daily). Return the SMS sent."""
        pool = Pool()
        Date = pool.get('ir.date')
        config = cls._config()
        if config.get_claim_sms() != 'digest':
            return []
        today = Date.today()
        with without_check_access():
            claims = cls.search([
                    ('receipt_sms', '=', None),
                    ('state', '=', 'pending'),
                    ('dispute_end', '>=', today),
                    ], order=[('client', 'ASC'), ('date', 'ASC'),
                    ('id', 'ASC')])
        by_client = defaultdict(list)
        for claim in claims:
            if claim.client.hb_mobile:
                by_client[claim.client].append(claim)
        messages, to_write = [], []
        for client, claims in by_client.items():
            language = _language(client)
            with Transaction().set_context(language=language):
                lines = [gettext('hb_voucher.msg_claim_sms_digest_line',
                        provider=c.provider.rec_name,
                        date=_day(c.date, language),
                        amount=sms.money(c.amount, language))
                    for c in claims[:DIGEST_LINES]]
                if len(claims) > DIGEST_LINES:
                    lines.append(gettext(
                            'hb_voucher.msg_claim_sms_digest_more',
                            count=len(claims) - DIGEST_LINES))
                text = gettext('hb_voucher.msg_claim_sms_digest',
                    count=len(claims),
                    total=sms.money(sum(c.amount for c in claims), language),
                    lines='; '.join(lines),
                    end=_day(min(c.dispute_end for c in claims), language),
                    days=min(c._days_left(today) for c in claims))
            message = sms.send_sms(client.hb_mobile, text[:2000])
            messages.append(message)
            to_write.extend([claims, {'receipt_sms': message.id}])
        if to_write:
            with without_check_access():
                cls.write(*to_write)
        return messages
