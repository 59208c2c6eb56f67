# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Issue 16, item 4: SMS go through an outbox sent after commit. A request
retried after a lock conflict sends one SMS, once its transaction has
committed; a rolled-back attempt sends nothing; a failing gateway is
tried again by the scheduled task."""
import datetime as dt
import re
from unittest.mock import patch

from trytond import backend
from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from .tools import (
    create_client,
    create_wellbeing_area,
    run_in_transaction,
    setup_hb,
)

MOBILE_RETRY = '+358405555501'
MOBILE_FAIL = '+358405555502'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
GATEWAY = 'trytond.modules.hb_voucher.tests.test_sms_outbox.gateway'

CALLS = []
FAIL = []


def gateway(to, text):
    """A gateway recording each call and whether the message was committed
    when it is called (seen from another transaction)"""
    if FAIL:
        raise ConnectionError("gateway down")
    Message = Pool().get('hb.sms.message')
    with Transaction().new_transaction(readonly=True):
        committed = Message.search(
            [('to', '=', to), ('text', '=', text)], count=True)
    CALLS.append((to, text, committed))


class SMSOutboxTestCase(RouteTestCase):
    "SMS sent after commit through the settings' gateway"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            for index, mobile in enumerate([MOBILE_RETRY, MOBILE_FAIL]):
                create_client(data, mobile, individual=930 + index,
                    name="Viestiasiakas %d" % index)

    def setUp(self):
        super().setUp()
        del CALLS[:]
        del FAIL[:]
        self.configure(hb_sms_gateway=GATEWAY)

    def run_pool(self, func):
        def run():
            pool = Pool()
            Company = pool.get('company.company')
            company, = Company.search([], limit=1)
            with Transaction().set_context(company=company.id):
                return func(pool)
        return run_in_transaction(run, user=0)

    def configure(self, **values):
        "Write the HB settings values, restored after the test"
        def run(pool):
            Configuration = pool.get('hb.configuration')
            config = Configuration(1)
            old = {name: getattr(config, name) for name in values}
            Configuration.write([config], values)
            return old
        old = self.run_pool(run)
        self.addCleanup(self.run_pool, lambda pool: pool.get(
                'hb.configuration').write(
                [pool.get('hb.configuration')(1)], old))

    def messages(self, mobile):
        return self.run_pool(lambda pool: pool.get(
                'hb.sms.message').search_read([('to', '=', mobile)],
                fields_names=['text', 'state', 'attempts', 'sent_date']))

    def url(self, path=''):
        return '/%s/hb/%s' % (DB_NAME, path)

    def post_login(self, mobile):
        client = self.client()
        response = client.get(self.url('client/login?lang=en'))
        self.assertEqual(response.status_code, 200)
        token = CSRF.search(response.get_data(as_text=True)).group(1)
        return client.post(self.url('client/login'), data={
                'csrf_token': token, 'lang': 'en', 'mobile': mobile})

    def test_retried_request_sends_once(self):
        """A request retried after a lock conflict leaves one message, sent
        once through the gateway after its commit; the rolled-back
        attempt's message is never sent"""
        Login = Pool(DB_NAME).get('hb.client.login')
        original = Login.send_code.__func__
        attempts = []

        def send_code(cls, *args, **kwargs):
            result = original(cls, *args, **kwargs)
            attempts.append(result)
            if len(attempts) == 1:
                # as PostgreSQL answers a lock conflict: the request's
                # transaction is rolled back and run again
                raise backend.DatabaseOperationalError(
                    'could not obtain lock')
            return result
        with patch.object(Login, 'send_code', classmethod(send_code)):
            response = self.post_login(MOBILE_RETRY)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(attempts), 2)
        message, = self.messages(MOBILE_RETRY)
        self.assertEqual(CALLS, [(MOBILE_RETRY, message['text'], 1)])
        self.assertEqual(message['state'], 'sent')
        self.assertTrue(message['sent_date'])

    def test_gateway_failure_retried(self):
        """A failing gateway leaves the message queued, tried again by the
        scheduled task; failed after MAX_ATTEMPTS"""
        from trytond.modules.hb_voucher import sms
        FAIL.append(True)
        response = self.post_login(MOBILE_FAIL)
        self.assertEqual(response.status_code, 200)
        message, = self.messages(MOBILE_FAIL)
        self.assertEqual((message['state'], message['attempts']),
            ('queued', 1))
        self.assertEqual(CALLS, [])

        def cron(pool):
            pool.get('hb.sms.message').send_queued(delay=dt.timedelta(0))
        # still down: failed for good after MAX_ATTEMPTS
        for _ in range(sms.MAX_ATTEMPTS - 2):
            self.run_pool(cron)
        message, = self.messages(MOBILE_FAIL)
        self.assertEqual((message['state'], message['attempts']),
            ('queued', sms.MAX_ATTEMPTS - 1))
        del FAIL[:]
        self.run_pool(lambda pool: pool.get(
                'hb.sms.message').send_queued())  # too recent: left
        self.assertEqual(CALLS, [])
        self.run_pool(cron)
        message, = self.messages(MOBILE_FAIL)
        self.assertEqual(message['state'], 'sent')
        self.assertEqual(len(CALLS), 1)
        self.run_pool(cron)  # sent: not again
        self.assertEqual(len(CALLS), 1)

        FAIL.append(True)
        self.run_pool(lambda pool: pool.get('hb.sms.message').send([
                    sms.queue_sms(MOBILE_FAIL, 'x')] * 1))
        for _ in range(sms.MAX_ATTEMPTS - 1):
            self.run_pool(cron)
        self.assertEqual(
            sorted(m['state'] for m in self.messages(MOBILE_FAIL)),
            ['failed', 'sent'])

    def test_gateway_setting_validated(self):
        "The gateway setting must name a function"
        def write(name):
            def run(pool):
                Configuration = pool.get('hb.configuration')
                Configuration.write([Configuration(1)],
                    {'hb_sms_gateway': name})
            return run
        for name in ['no_such_module.send', 'trytond.modules.hb_voucher.sms',
                'trytond.modules.hb_voucher.sms.nothing']:
            with self.subTest(name=name), \
                    self.assertRaises(ValidationError):
                self.run_pool(write(name))
        self.run_pool(write(None))
        self.run_pool(write('trytond.modules.hb_voucher.sms.mark_sent'))
