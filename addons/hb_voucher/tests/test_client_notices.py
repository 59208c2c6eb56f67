# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The follow-up warnings on the client page (issue 13, item 6): the
warnings sent to the page are shown in Finnish, Swedish and English; a
warning sent by SMS is not; with the settings at "No" or "SMS" the page
shows none."""
import datetime as dt
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import module_po_path

from . import test_client_case
from .tools import (
    create_client,
    create_wellbeing_area,
    last_code,
    run_in_transaction,
    setup_hb,
)

MOBILE = '+358403333461'
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


class ClientNoticesTestCase(RouteTestCase):
    "The follow-up warnings on the client page"
    module = 'hb_voucher'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Notice = pool.get('hb.budget.notice')
        Budget = pool.get('hb.budget')
        Date = pool.get('ir.date')
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        for code in ['fi', 'sv']:
            lang, = Lang.search([('code', '=', code)])
            lang.translatable = True
            lang.save()
            Translation.translation_import(
                code, 'hb_voucher', module_po_path('hb_voucher', code))
        company = create_wellbeing_area()
        with set_company(company):
            data = setup_hb()
            client = create_client(data, MOBILE, name="Noora Ilmoitus")
            test_client_case.create_budget_lines(data, client, {
                    'home_help': Decimal('300.00'),
                    'meals': Decimal('200.00'),
                    })
            budget, = Budget.search([('client', '=', client.id)])
            today = Date.today()
            cls.end_date = budget.end_date
            cls.runs_out = today + dt.timedelta(days=40)
            values = {
                'company': company.id, 'budget': budget.id,
                'client': client.id, 'date': today,
                'month': today.replace(day=1), 'end_date': budget.end_date,
                }
            Notice.create([
                    dict(values, kind='exhaustion', sent='page',
                        available=Decimal('123.45'),
                        forecast_exhaustion_date=cls.runs_out),
                    dict(values, kind='low_balance', sent='page',
                        available=Decimal('67.89')),
                    # sent by SMS: not on the page
                    dict(values, kind='underuse', sent='sms',
                        available=Decimal('456.00')),
                    ])
            Configuration.write([Configuration(1)], {
                    'hb_login_code_interval': 0,
                    'hb_login_code_limit': 1000,
                    'hb_login_ip_limit': 1000,
                    'hb_login_answer_time': 0,
                    'followup_notify_client': 'page',
                    })

    def url(self, path=''):
        return '/%s/hb/%s' % (DB_NAME, path)

    def run_pool(self, func):
        def run():
            pool = Pool()
            Company = pool.get('company.company')
            company, = Company.search([], limit=1)
            with Transaction().set_context(company=company.id):
                return func(pool)
        return run_in_transaction(run, user=0)

    def login(self):
        client = self.client()
        response = client.get(self.url('client/login?lang=en'))
        token = CSRF.search(response.get_data(as_text=True)).group(1)
        client.post(self.url('client/login'), data={
                'mobile': MOBILE, 'csrf_token': token, 'lang': 'en'})
        code = self.run_pool(lambda pool: last_code(MOBILE))
        response = client.post(self.url('client/login'), data={
                'mobile': MOBILE, 'code': code, 'csrf_token': token,
                'lang': 'en'})
        self.assertEqual(response.status_code, 302)
        return client

    def home(self, client, language):
        response = client.get(self.url('client?lang=%s' % language))
        self.assertEqual(response.status_code, 200)
        # one space for the non-breaking spaces of amounts
        return response.get_data(as_text=True).replace('\u00a0', ' ')

    def set_notify(self, value):
        def write(pool):
            Configuration = pool.get('hb.configuration')
            Configuration.write([Configuration(1)], {
                    'followup_notify_client': value})
        self.run_pool(write)

    @staticmethod
    def nordic(date):
        return '%d.%d.%d' % (date.day, date.month, date.year)

    def test_notices_in_each_language(self):
        "The page's warnings in Finnish, Swedish and English"
        client = self.login()
        end, runs_out = self.end_date, self.runs_out
        text = self.home(client, 'fi')
        self.assertIn("Ilmoitukset budjetistani", text)
        self.assertIn("Nykyisellä käyttötahdilla budjettisi loppuu %s, "
            "ennen kauden päättymistä %s." % (
                self.nordic(runs_out), self.nordic(end)), text)
        self.assertIn("Saldosi on vähissä: %s päättyvälle kaudelle on "
            "jäljellä 67,89 €." % self.nordic(end), text)
        self.assertNotIn("456,00", text)
        self.assertNotIn("selvästi suunniteltua vähemmän", text)

        text = self.home(client, 'sv')
        self.assertIn("Meddelanden om min budget", text)
        self.assertIn("I nuvarande takt tar din budget slut %s, innan "
            "perioden slutar %s." % (
                self.nordic(runs_out), self.nordic(end)), text)
        self.assertIn("Ditt saldo är lågt: 67,89 € återstår för perioden "
            "som slutar %s." % self.nordic(end), text)
        self.assertNotIn("mycket mindre av din budget", text)

        text = self.home(client, 'en')
        self.assertIn("Notices about my budget", text)
        self.assertIn("At the current pace your budget runs out on %s, "
            "before its period ends on %s." % (
                runs_out.isoformat(), end.isoformat()), text)
        self.assertIn("Your balance is low: €67.89 is left for the period "
            "ending %s." % end.isoformat(), text)
        self.assertNotIn("much less of your budget", text)

    def test_settings_none_or_sms(self):
        "With the settings at No or SMS the page shows no warning"
        client = self.login()
        try:
            for value in ['none', 'sms']:
                with self.subTest(notify=value):
                    self.set_notify(value)
                    text = self.home(client, 'en')
                    self.assertNotIn("Notices about my budget", text)
                    self.assertNotIn("Your balance is low", text)
        finally:
            self.set_notify('page')
        self.assertIn("Your balance is low", self.home(client, 'en'))


del RouteTestCase
