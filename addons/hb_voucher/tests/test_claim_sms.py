# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's SMS of claims (issue 14): one SMS per claim, or one daily
digest of several claims, never twice, or none, by the settings"""
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase

from trytond.modules.hb_budget.tests.tools import with_transaction

from .test_claim import MOBILE, make_world
from .tools import create_wellbeing_area


class ClaimSMSTestCase(_DBTestCase):
    "Test the client's SMS of claims"
    module = 'hb_voucher'

    def set_claim_sms(self, value):
        Configuration = Pool().get('hb.configuration')
        Configuration.write([Configuration(1)], {'claim_sms': value})

    def outbox(self):
        Message = Pool().get('hb.sms.message')
        return [m.text for m in Message.search(
                [('to', '=', MOBILE)], order=[('id', 'ASC')])]

    def submit(self, application, authorisation, product, days_ago,
            quantity=1):
        pool = Pool()
        Claim = pool.get('hb.claim')
        Date = pool.get('ir.date')
        claim, _ = Claim.submit(application.party, authorisation, product,
            Date.today() - dt.timedelta(days=days_ago), quantity)
        return claim

    @with_transaction()
    def test_quantity_written_plainly(self):
        "A claim of 10 hours reads '× 10' in its SMS (not '1E+1')"
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world(
                cap=Decimal('400.00'))
            self.set_claim_sms('each')
            before = len(self.outbox())
            self.submit(application, authorisation, product, 1, quantity=10)
            text, = self.outbox()[before:]
            self.assertIn('× 10 ', text)
            self.assertIn('350,00 €', text)
            self.assertNotIn('E+', text)

    @with_transaction()
    def test_default_is_digest(self):
        "The setting defaults to the daily digest"
        Configuration = Pool().get('hb.configuration')
        self.assertEqual(Configuration(1).get_claim_sms(), 'digest')

    @with_transaction()
    def test_each_claim(self):
        "'each': one SMS per claim when it is made, none in the digest"
        pool = Pool()
        Claim = pool.get('hb.claim')
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world()
            self.set_claim_sms('each')
            before = len(self.outbox())
            first = self.submit(application, authorisation, product, 1)
            second = self.submit(
                application, authorisation, product, 2, quantity=2)
            texts = self.outbox()[before:]
            self.assertEqual(len(texts), 2)
            provider = application.party.rec_name
            self.assertIn(provider, texts[0])
            self.assertIn('35,00 €', texts[0])
            self.assertIn(first.rec_name, texts[0])
            self.assertIn('70,00 €', texts[1])
            end = first.dispute_end
            self.assertIn('%d.%d.%d' % (end.day, end.month, end.year),
                texts[0])
            self.assertIn('(7 ', texts[0])  # days left
            self.assertTrue(Claim(first.id).receipt_sms)
            self.assertTrue(Claim(second.id).receipt_sms)
            # The same idempotent claim again sends nothing
            Claim.submit(application.party, authorisation, product,
                first.date, 1, idempotency_key='k1',
                confirm_duplicate=True)
            Claim.submit(application.party, authorisation, product,
                first.date, 1, idempotency_key='k1',
                confirm_duplicate=True)
            self.assertEqual(len(self.outbox()), before + 3)
            # The digest has nothing left to tell
            self.assertEqual(Claim.send_claim_digests(), [])
            self.assertEqual(len(self.outbox()), before + 3)

    @with_transaction()
    def test_digest(self):
        "'digest': one SMS for several claims, none twice"
        pool = Pool()
        Claim = pool.get('hb.claim')
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world()
            self.set_claim_sms('digest')
            before = len(self.outbox())
            claims = [self.submit(application, authorisation, product, d)
                for d in [1, 2, 3]]
            self.assertEqual(len(self.outbox()), before)

            messages = Claim.send_claim_digests()
            self.assertEqual(len(messages), 1)
            texts = self.outbox()[before:]
            self.assertEqual(len(texts), 1)
            self.assertIn('105,00 €', texts[0])  # 3 × 35.00
            self.assertIn(': 3,', texts[0])
            self.assertEqual(texts[0].count(application.party.rec_name), 3)
            self.assertEqual(
                {Claim(c.id).receipt_sms for c in claims}, {messages[0]})

            # Nothing twice
            self.assertEqual(Claim.send_claim_digests(), [])
            self.assertEqual(len(self.outbox()), before + 1)

            # A new claim: the next digest tells of it alone
            self.submit(application, authorisation, product, 4)
            self.assertEqual(len(Claim.send_claim_digests()), 1)
            texts = self.outbox()[before:]
            self.assertEqual(len(texts), 2)
            self.assertIn(': 1,', texts[1])
            self.assertIn('35,00 €', texts[1])

    @with_transaction()
    def test_none(self):
        "'none': no SMS of claims at all"
        pool = Pool()
        Claim = pool.get('hb.claim')
        with set_company(create_wellbeing_area()):
            _, application, _, _, product, authorisation = make_world()
            self.set_claim_sms('none')
            before = len(self.outbox())
            self.submit(application, authorisation, product, 1)
            self.assertEqual(Claim.send_claim_digests(), [])
            self.assertEqual(len(self.outbox()), before)
