# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's side of the budget in headless Chromium (issue 13,
Omasote): the client logs in with the mobile number and the one-time
code, opens the case page from the budget page, sees the plan and the
decision with its letter link (the letter downloads as a PDF), and
sends a message to the own-worker.
axe-core finds no violation on the case page. Screenshots are kept in
HB_ARTIFACTS (client-case-*.png)."""
import unittest
import urllib.request
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.transaction import Transaction

from tests.browser import (
    TrytondServer,
    chromium_driver,
    run_axe,
    screenshot,
)
from trytond.modules.hb_budget.tests.pdf_tools import pdf_text
from trytond.modules.hb_marketplace.tests.tools import (
    activate_with_languages,
)

MOBILE = '+358403335551'


def create_world():
    "A client with a plan and a sent decision on two service categories"
    from trytond.modules.company.tests import set_company

    from trytond.modules.hb_voucher.tests.test_client_case import (
        create_budget_lines,
    )
    from trytond.modules.hb_voucher.tests.tools import (
        create_client,
        create_wellbeing_area,
        setup_hb,
    )
    pool = Pool()
    Configuration = pool.get('hb.configuration')
    with set_company(create_wellbeing_area()):
        data = setup_hb()
        client = create_client(data, MOBILE, name="Selma Selain")
        decision = create_budget_lines(data, client, {
                'home_help': Decimal('300.00'),
                'meals': Decimal('200.00'),
                })
        Configuration.write([Configuration(1)], {
                'hb_login_code_interval': 0,
                'hb_login_answer_time': 0,
                })
        return {'client': client.id, 'decision': decision.id,
            'number': decision.number}


def code_sent(mobile):
    from trytond.modules.hb_voucher.tests.tools import last_code
    with Transaction().start(DB_NAME, 0, readonly=True):
        return last_code(mobile)


class ClientCaseBrowserTestCase(unittest.TestCase):
    "The client's case page in a browser"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_with_languages(['hb_voucher'], ('fi', 'sv'))
        from trytond.modules.hb_voucher.tests.tools import (
            run_in_transaction,
        )
        # retried as Tryton's request handlers do when it needs locks
        cls.ids = run_in_transaction(create_world, prelocked=True)
        cls.server = TrytondServer(DB_NAME)
        cls.driver = chromium_driver()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.stop()
        drop_db()

    def url(self, path, lang='en'):
        separator = '&' if '?' in path else '?'
        return '%s/%s/hb/%s%slang=%s' % (
            self.server.url, DB_NAME, path, separator, lang)

    def wait_for(self, by, value):
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, 30).until(
            EC.visibility_of_element_located((by, value)))

    def download(self, url):
        "Return (status, headers, body) of url got with the browser's cookies"
        cookies = '; '.join('%s=%s' % (c['name'], c['value'])
            for c in self.driver.get_cookies())
        request = urllib.request.Request(url, headers={'Cookie': cookies})
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers, response.read()

    def test_client_sees_plan_letter_and_sends_message(self):
        from selenium.webdriver.common.by import By
        driver = self.driver
        driver.get(self.url('client/login'))
        self.wait_for(By.NAME, 'mobile').send_keys(MOBILE)
        driver.find_element(
            By.CSS_SELECTOR, 'form button[type="submit"]').click()
        code = self.wait_for(By.NAME, 'code')
        code.send_keys(code_sent(MOBILE))
        driver.find_element(
            By.CSS_SELECTOR, 'form button[type="submit"]').click()
        self.wait_for(By.TAG_NAME, 'h1')
        self.assertIn("Selma Selain", driver.page_source)

        # From the budget page to the case page
        driver.find_element(
            By.CSS_SELECTOR, 'a[href*="/client/case"]').click()
        heading = self.wait_for(By.TAG_NAME, 'h1')
        self.assertEqual(heading.text, "My decisions and requests")
        text = driver.find_element(By.TAG_NAME, 'main').text
        self.assertIn("My plan", text)
        self.assertIn("Agreed home_help", text)
        self.assertIn(self.ids['number'], text)
        letter = driver.find_element(By.CSS_SELECTOR, 'a.letter')
        self.assertIn('/client/case/letter/%d' % self.ids['decision'],
            letter.get_attribute('href'))
        # The link downloads the letter archived when sent: a PDF
        # (LibreOffice converts it; browser tests run on PostgreSQL,
        # where it is required), fetched with the browser's session
        status, headers, data = self.download(letter.get_attribute('href'))
        self.assertEqual((status, headers['Content-Type']),
            (200, 'application/pdf'))
        self.assertTrue(data.startswith(b'%PDF'), data[:20])
        self.assertRegex(headers['Content-Disposition'],
            r'^attachment; filename="[A-Za-z0-9._-]+\.pdf"$')
        self.assertIn("The client is granted a personal budget of",
            pdf_text(data))
        violations = run_axe(driver)
        screenshot(driver, 'client-case-en')
        self.assertFalse(violations, '\n'.join(
                '%s (%s): %s %s' % (v['id'], v.get('impact'),
                    v.get('description'),
                    [n.get('target') for n in v.get('nodes', [])][:5])
                for v in violations))

        # A message to the own-worker
        driver.find_element(By.ID, 'message-text').send_keys(
            "Voimmeko tavata ensi viikolla?")
        driver.find_element(By.CSS_SELECTOR,
            'form[action$="/client/case/message"] button').click()
        notice = self.wait_for(By.CSS_SELECTOR, '.notice')
        self.assertIn("Your message was sent", notice.text)
        self.assertIn("Voimmeko tavata ensi viikolla?",
            driver.find_element(By.TAG_NAME, 'main').text)
        screenshot(driver, 'client-case-message')

        # In Finnish: the same page with "palveluluokka"
        driver.get(self.url('client/case', 'fi'))
        self.wait_for(By.TAG_NAME, 'h1')
        self.assertEqual(driver.find_element(By.TAG_NAME, 'h1').text,
            "Omat päätökset ja pyynnöt")
        self.assertIn("Palveluluokasta", driver.page_source)
        violations = run_axe(driver)
        screenshot(driver, 'client-case-fi')
        self.assertFalse(violations, [v['id'] for v in violations])

        def requests():
            with Transaction().start(DB_NAME, 0, readonly=True):
                Request = Pool().get('hb.client.request')
                return [(r.kind, r.state, r.text) for r in Request.search(
                        [('client', '=', self.ids['client'])])]
        self.assertEqual(requests(), [
                ('message', 'open', "Voimmeko tavata ensi viikolla?")])
