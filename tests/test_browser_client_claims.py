# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The client's standing authorisation and dispute in headless Chromium
(issue 14): the client logs in on the Finnish client page, authorises a
provider with the one-time code sent by SMS and sees the authorisation;
a claim is then made under it, the client sees it on the page and
disputes it: it is frozen. axe-core finds no violation on the page.
Screenshots are kept in HB_ARTIFACTS (client-claims-*.png)."""
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
from trytond.transaction import Transaction

from tests.browser import (
    TrytondServer,
    chromium_driver,
    run_axe,
    screenshot,
)

MOBILE = '+358403335661'


def create_world():
    """A client with a budget of home help and two providers of cleaning
    (the form lists the providers first)"""
    from trytond.modules.company.tests import set_company

    from trytond.modules.hb_voucher.tests.tools import (
        create_budget,
        create_client,
        create_provider_with_service,
        create_wellbeing_area,
        provider_product,
        setup_hb,
    )
    pool = Pool()
    Lang = pool.get('ir.lang')
    Configuration = pool.get('hb.configuration')
    Lang.load_translations(Lang.search([('code', 'in', ['fi', 'sv'])]))
    company = create_wellbeing_area()
    with set_company(company):
        data = setup_hb()
        application = create_provider_with_service(data)
        other = create_provider_with_service(data, index=1,
            services=[('Ikkunanpesu', 'cleaning', Decimal('40.00'))])
        client = create_client(data, MOBILE, name="Kaisa Kotona")
        budget = create_budget(data, client, Decimal('600.00'))
        Configuration.write([Configuration(1)], {
                'hb_login_code_interval': 0,
                'hb_login_answer_time': 0,
                'claim_sms': 'each',
                })
        return {'client': client.id, 'budget': budget.id,
            'company': company.id,
            'provider': application.party.id,
            'provider_name': application.party.rec_name,
            'product': provider_product(application).id,
            'other_product': provider_product(other).id}


def code_sent(mobile):
    from trytond.modules.hb_voucher.tests.tools import last_code
    with Transaction().start(DB_NAME, 0, readonly=True):
        return last_code(mobile)


class ClientClaimsBrowserTestCase(unittest.TestCase):
    "The client's authorisations and claims in a browser"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(['hb_voucher'])
        from trytond.modules.hb_voucher.tests.tools import (
            run_in_transaction,
        )
        cls.ids = run_in_transaction(create_world, prelocked=True)
        cls.server = TrytondServer(DB_NAME)
        cls.driver = chromium_driver(language='fi')

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.stop()
        drop_db()

    def url(self, path, lang='fi'):
        separator = '&' if '?' in path else '?'
        return '%s/%s/hb/%s%slang=%s' % (
            self.server.url, DB_NAME, path, separator, lang)

    def wait_for(self, by, value):
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, 30).until(
            EC.visibility_of_element_located((by, value)))

    def in_db(self, func):
        from trytond.modules.hb_voucher.tests.tools import (
            run_in_transaction,
        )

        def run():
            with Transaction().set_context(company=self.ids['company']):
                return func(Pool())
        return run_in_transaction(run, user=0)

    def assertNoViolations(self, name):
        violations = run_axe(self.driver)
        screenshot(self.driver, name)
        self.assertFalse(violations, '\n'.join(
                '%s (%s): %s %s' % (v['id'], v.get('impact'),
                    v.get('description'),
                    [n.get('target') for n in v.get('nodes', [])][:5])
                for v in violations))

    def test_authorise_and_dispute(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select
        driver = self.driver
        driver.get(self.url('client/login'))
        self.wait_for(By.NAME, 'mobile').send_keys(MOBILE)
        driver.find_element(
            By.CSS_SELECTOR, 'form button[type="submit"]').click()
        self.wait_for(By.NAME, 'code').send_keys(code_sent(MOBILE))
        driver.find_element(
            By.CSS_SELECTOR, 'form button[type="submit"]').click()
        self.wait_for(By.TAG_NAME, 'h1')
        self.assertIn("Kaisa Kotona", driver.page_source)
        heading = self.wait_for(By.ID, 'authorisations-title')
        self.assertEqual(heading.text, "Pysyvät valtuutukset")
        self.assertIn("Sinulla ei ole pysyviä valtuutuksia.",
            driver.find_element(By.TAG_NAME, 'main').text)

        # The form: on asking, first the provider, then its services
        # (only its own)
        self.assertEqual(driver.find_element(By.ID,
                'authorisation-new-title').text, "Valtuuta palveluntuottaja")
        self.assertFalse(driver.find_elements(By.ID, 'auth-provider'))
        driver.find_element(By.XPATH,
            '//button[text()="Valitse palveluntuottaja"]').click()
        self.wait_for(By.ID, 'auth-provider')
        self.assertNoViolations('client-claims-providers')
        self.assertEqual(driver.find_element(
                By.CSS_SELECTOR, 'label[for="auth-provider"]').text,
            "Palveluntuottaja")
        Select(driver.find_element(By.ID, 'auth-provider')
            ).select_by_value(str(self.ids['provider']))
        driver.find_element(By.XPATH,
            '//button[text()="Näytä palveluntuottajan palvelut"]').click()
        service = Select(self.wait_for(By.ID, 'auth-service'))
        self.assertEqual(
            [o.get_attribute('value') for o in service.options],
            ['', str(self.ids['product'])])
        self.assertIn(self.ids['provider_name'],
            driver.find_element(By.ID, 'auth-provider').text)
        self.assertIn("valitse toinen palveluntuottaja",
            driver.find_element(By.ID, 'auth-provider').text)
        self.assertNoViolations('client-claims-provider-chosen')
        service.select_by_value('')
        driver.find_element(By.ID, 'auth-cap').send_keys('150')
        self.assertEqual(driver.find_element(
                By.CSS_SELECTOR, 'label[for="auth-cap"]').text,
            "Kuukausittainen enimmäismäärä (€)")
        driver.find_element(By.CSS_SELECTOR,
            'form[action$="/client/authorisation"] button').click()
        code_field = self.wait_for(By.ID, 'auth-code')
        notice = driver.find_element(By.CSS_SELECTOR, '.notice')
        self.assertIn("Kertakäyttöinen koodi lähetettiin numeroon %s"
            % MOBILE, notice.text)

        # A wrong code authorises nothing
        code = code_sent(MOBILE)
        code_field.send_keys('000000' if code != '000000' else '111111')
        driver.find_element(By.CSS_SELECTOR,
            'form[action$="/confirm"] button').click()
        error = self.wait_for(By.CSS_SELECTOR, '.error')
        self.assertIn("Koodi on väärä: mitään ei valtuutettu", error.text)

        def authorisations(pool):
            Authorisation = pool.get('hb.authorisation')
            return [(a.id, a.state, a.monthly_cap, a.consent_method)
                for a in Authorisation.search([
                        ('client', '=', self.ids['client'])])]
        self.assertEqual(self.in_db(authorisations), [])

        # The right code gives it
        self.wait_for(By.ID, 'auth-code').send_keys(code)
        driver.find_element(By.CSS_SELECTOR,
            'form[action$="/confirm"] button').click()
        notice = self.wait_for(By.CSS_SELECTOR, '.notice')
        self.assertIn("Valtuutus annettiin", notice.text)
        (authorisation_id, state, cap, method), = self.in_db(authorisations)
        self.assertEqual((state, cap, method),
            ('active', Decimal('150.00'), 'client_code'))
        item = driver.find_element(
            By.ID, 'authorisation-%d' % authorisation_id).text
        self.assertIn(self.ids['provider_name'], item)
        self.assertIn("enintään 150,00 € kuukaudessa", item)
        self.assertIn("(voimassa)", item)
        self.assertNoViolations('client-claims-authorised')

        # A claim is made under it (the provider's side)
        def claim(pool):
            Claim = pool.get('hb.claim')
            Date = pool.get('ir.date')
            claim, _ = Claim.submit(self.ids['provider'], authorisation_id,
                self.ids['product'], Date.today(), 2)
            return claim.id
        claim_id = self.in_db(claim)
        # the receipt SMS (the settings: one per claim)
        self.assertIn("laskutti 70,00 €", self.in_db(
                lambda pool: pool.get('hb.sms.message').search(
                    [('to', '=', MOBILE)], order=[('id', 'DESC')],
                    limit=1)[0].text))

        driver.get(self.url('client'))
        item = self.wait_for(By.ID, 'claim-%d' % claim_id)
        self.assertIn(self.ids['provider_name'], item.text)
        self.assertIn("70,00 €", item.text)
        self.assertIn("voit kiistää sen", item.text)
        self.assertEqual(
            self.wait_for(By.ID, 'claims-title').text, "Laskutetut palvelut")
        driver.find_element(By.ID, 'reason-%d' % claim_id).send_keys(
            "Siivoaja ei käynyt tällä viikolla")
        item.find_element(By.CSS_SELECTOR, 'button').click()
        notice = self.wait_for(By.CSS_SELECTOR, '.notice')
        self.assertIn("Laskutus on kiistetty", notice.text)
        self.assertNoViolations('client-claims-disputed')

        def state(pool):
            claim = pool.get('hb.claim')(claim_id)
            return claim.state, claim.dispute_reason
        self.assertEqual(self.in_db(state),
            ('disputed', "Siivoaja ei käynyt tällä viikolla"))
        self.assertNotIn('/claim/%d/dispute' % claim_id, driver.page_source)
