# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The public catalogue of hb_marketplace in headless Chromium.

Commits two demo providers into the test database, serves it with trytond,
then as a keyboard and mouse user: chooses the municipality and the customer
group, sees the services, compares two of them, opens a service; runs
axe-core (WCAG 2.1 A and AA rules) on each page and fails on any serious or
critical violation. Screenshots are kept in HB_ARTIFACTS."""
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


def create_demo():
    "Create master data, two approved providers and a rating"
    from trytond.modules.company.tests import set_company

    from trytond.modules.hb_marketplace.tests.tools import (
        create_master_data,
        create_provider,
        create_wellbeing_area,
    )
    pool = Pool()
    Rating = pool.get('hb.service.rating')
    Party = pool.get('party.party')
    with set_company(create_wellbeing_area()):
        data = create_master_data()
        first = create_provider(data, 0, services=[
                ('Kotisiivous', 'cleaning', Decimal('35.00')),
                ('Ikkunanpesu', 'cleaning', Decimal('42.00')),
                ])
        create_provider(
            data, 1, name='Ateria ja Apu ry', email='ateria@example.com',
            municipalities=('kajaani', 'sotkamo'),
            customer_groups=('avain', 'elderly'),
            services=[('Kotiateria', 'meals', Decimal('9.50'))])
        client, = Party.create([{'name': 'Asiakas Esimerkki'}])
        cleaning, = [s for s in first.contract.services
            if s.name == 'Kotisiivous']
        Rating.create([{
                    'client': client.id,
                    'service': cleaning.id,
                    'rating': 5, 'comment': 'Hyvä <b>palvelu</b>',
                    }])


def serious(violations):
    return [v for v in violations if v.get('impact') in {
            'serious', 'critical'}]


def describe(violations):
    return '\n'.join('%s (%s): %s %s' % (
            v['id'], v.get('impact'), v.get('description'),
            [n.get('target') for n in v.get('nodes', [])][:5])
        for v in violations)


class CatalogueBrowserTestCase(unittest.TestCase):
    "The public catalogue works in a browser and passes axe-core"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(['hb_marketplace'])
        from trytond.modules.hb_marketplace.tests.tools import no_email
        with Transaction().start(DB_NAME, 1) as transaction, no_email():
            create_demo()
            transaction.commit()
        cls.server = TrytondServer(DB_NAME)
        cls.driver = chromium_driver()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.stop()
        drop_db()

    def url(self, path):
        return '%s/%s/hb/%s' % (self.server.url, DB_NAME, path)

    def wait(self, condition, timeout=30):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout).until(condition)

    def assertAccessible(self, name):
        violations = run_axe(self.driver)
        screenshot(self.driver, name)
        self.assertFalse(serious(violations), describe(serious(violations)))

    def test_filter_compare_detail(self):
        "Filter by municipality and group, compare two, open a service"
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import Select

        driver = self.driver
        driver.get(self.url('catalogue?lang=en'))
        self.wait(EC.visibility_of_element_located((By.TAG_NAME, 'h1')))
        self.assertEqual(
            driver.find_element(By.TAG_NAME, 'html').get_attribute('lang'),
            'en')
        self.assertAccessible('catalogue-start')

        # Choose with the keyboard: labels lead to the selects
        municipality = driver.find_element(By.ID, 'municipality')
        Select(municipality).select_by_visible_text('Kajaani')
        Select(driver.find_element(By.ID, 'group')).select_by_visible_text(
            'AVAIN-asiakas')
        driver.find_element(
            By.CSS_SELECTOR, '.filters button[type="submit"]').send_keys(
            Keys.ENTER)
        self.wait(EC.presence_of_element_located((By.ID, 'results-title')))
        services = [e.text for e in driver.find_elements(
                By.CSS_SELECTOR, '.service th[scope="row"] a')]
        self.assertEqual(
            sorted(services), ['Ikkunanpesu', 'Kotiateria', 'Kotisiivous'])
        # cheapest first, across the page
        self.assertEqual(
            services, ['Kotiateria', 'Kotisiivous', 'Ikkunanpesu'])
        self.assertAccessible('catalogue-results')

        # Another group of the same municipality lists fewer services
        Select(driver.find_element(By.ID, 'group')).select_by_visible_text(
            'Ikääntyneet')
        driver.find_element(
            By.CSS_SELECTOR, '.filters button[type="submit"]').click()
        self.wait(EC.text_to_be_present_in_element(
                (By.ID, 'results-title'), 'Ikääntyneet'))
        services = [e.text for e in driver.find_elements(
                By.CSS_SELECTOR, '.service th[scope="row"] a')]
        self.assertEqual(services, ['Kotiateria'])

        # Back to AVAIN, compare two services
        Select(driver.find_element(By.ID, 'group')).select_by_visible_text(
            'AVAIN-asiakas')
        driver.find_element(
            By.CSS_SELECTOR, '.filters button[type="submit"]').click()
        self.wait(EC.text_to_be_present_in_element(
                (By.ID, 'results-title'), 'AVAIN'))
        boxes = driver.find_elements(
            By.CSS_SELECTOR, '.compare-choice input[type="checkbox"]')
        boxes[0].send_keys(Keys.SPACE)  # keyboard
        driver.find_element(
            By.CSS_SELECTOR, 'label[for="%s"]' % boxes[1].get_attribute(
                'id')).click()
        driver.find_element(
            By.CSS_SELECTOR, '.compare-form button[type="submit"]').click()
        table = self.wait(EC.presence_of_element_located(
                (By.CSS_SELECTOR, 'table.compare')))
        headers = table.find_elements(By.CSS_SELECTOR, 'thead th')
        self.assertEqual(len(headers), 2)
        self.assertAccessible('catalogue-compare')

        # The service detail page, with the rating comment escaped
        driver.get(self.url('catalogue?lang=en'))
        Select(driver.find_element(By.ID, 'municipality')
            ).select_by_visible_text('Kajaani')
        Select(driver.find_element(By.ID, 'group')).select_by_visible_text(
            'AVAIN-asiakas')
        driver.find_element(
            By.CSS_SELECTOR, '.filters button[type="submit"]').click()
        self.wait(EC.element_to_be_clickable(
                (By.LINK_TEXT, 'Kotisiivous'))).click()
        self.wait(EC.text_to_be_present_in_element(
                (By.TAG_NAME, 'h1'), 'Kotisiivous'))
        self.assertIn('Hyvä <b>palvelu</b>', driver.find_element(
                By.CSS_SELECTOR, '.ratings').text)
        self.assertAccessible('catalogue-service')

    def test_empty_search_and_forms(self):
        "An empty search, the application form and the login page"
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import Select

        driver = self.driver
        driver.get(self.url('catalogue?lang=fi'))
        Select(driver.find_element(By.ID, 'municipality')
            ).select_by_visible_text('Kuhmo')
        Select(driver.find_element(By.ID, 'group')).select_by_visible_text(
            'AVAIN-asiakas')
        driver.find_element(
            By.CSS_SELECTOR, '.filters button[type="submit"]').click()
        self.wait(EC.presence_of_element_located(
                (By.CSS_SELECTOR, '.results .notice')))
        self.assertEqual(
            driver.find_element(By.TAG_NAME, 'html').get_attribute('lang'),
            'fi')
        self.assertAccessible('catalogue-empty')
        for path, name in [
                ('provider/apply?lang=en', 'provider-apply'),
                ('provider/login?lang=fi', 'provider-login'),
                ]:
            with self.subTest(page=path):
                driver.get(self.url(path))
                self.wait(EC.visibility_of_element_located(
                        (By.TAG_NAME, 'form')))
                self.assertAccessible(name)
