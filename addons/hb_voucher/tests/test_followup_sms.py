# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The SMS of the follow-up warnings (issue 13, item 6)."""
import datetime as dt
import re
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase

from trytond.modules.hb_budget.tests.tools import with_transaction

from .tools import (
    create_budget,
    create_client,
    create_wellbeing_area,
    setup_hb,
)

MOBILE = '+358401130099'


class FollowupSMSTestCase(_DBTestCase):
    "Test the SMS of the follow-up warnings"
    module = 'hb_voucher'

    @with_transaction()
    def test_followup_sms_once(self):
        "A budget far below the plan: one SMS to the client, once a month"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Notice = pool.get('hb.budget.notice')
        Message = pool.get('hb.sms.message')
        Date = pool.get('ir.date')
        today = Date.today()
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            client = create_client(data, MOBILE)
            start = (today - dt.timedelta(days=150)).replace(day=1)
            end = start + relativedelta(years=1, days=-1)
            create_budget(data, client, Decimal('1200.00'),
                start=start, end=end)
            config = Configuration(1)
            config.followup_notify_client = 'sms'
            config.save()

            notice, = Notice.run_followup(today)
            self.assertEqual(notice.kind, 'underuse')
            self.assertEqual(notice.sent, 'sms')
            message, = Message.search([('to', '=', MOBILE)])
            self.assertIn('120000', re.sub(r'\D', '', message.text))
            self.assertIn('less of your budget', message.text)

            self.assertEqual(Notice.run_followup(today), [])
            self.assertEqual(
                Message.search([('to', '=', MOBILE)], count=True), 1)


del _DBTestCase
