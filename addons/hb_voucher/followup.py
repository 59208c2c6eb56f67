# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The SMS of the follow-up warnings (hb_budget's followup.py): sent
through the SMS outbox in the client's language when the settings say
SMS."""
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from . import sms


class Notice(metaclass=PoolMeta):
    __name__ = 'hb.budget.notice'

    @classmethod
    def notify(cls, notices):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Lang = pool.get('ir.lang')
        if Configuration(1).followup_notify_client == 'sms':
            to_save = []
            for notice in notices:
                client = notice.client
                if notice.sent != 'none' or not client.hb_mobile:
                    continue
                code = client.lang.code if client.lang else 'fi'
                with Transaction().set_context(language=code):
                    lang = Lang.get(code)
                    currency = notice.budget.currency
                    text = gettext(
                        'hb_voucher.msg_sms_followup_%s' % notice.kind,
                        available=lang.currency(notice.available, currency),
                        date=(lang.strftime(notice.forecast_exhaustion_date)
                            if notice.forecast_exhaustion_date else ''),
                        end_date=lang.strftime(notice.end_date))
                sms.send_sms(client.hb_mobile, text)
                notice.sent = 'sms'
                to_save.append(notice)
            cls.save(to_save)
        super().notify(notices)
