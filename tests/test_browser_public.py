# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Every public page in headless Chromium, in Finnish, Swedish and English.

axe-core (WCAG 2.1 A and AA rules) finds no violation of any impact on
any public page in any language; the catalogue of nine services uses the
width of the window (one table, not a column of narrow cards) and lists
the services in the chosen order across the page. Screenshots are kept in
HB_ARTIFACTS (public-<page>-<lang>.png)."""
import unittest
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
from trytond.modules.hb_marketplace.tests.tools import (
    activate_with_languages,
)

LANGUAGES = ['fi', 'sv', 'en']
# name, category, price: nine services of three providers, the categories
# interleaved in price order
SERVICES = [
    [('Kotisiivous', 'cleaning', Decimal('35.00')),
        ('Ikkunanpesu', 'cleaning', Decimal('42.00')),
        ('Kodin apu', 'home_help', Decimal('38.00'))],
    [('Kotiateria', 'meals', Decimal('9.50')),
        ('Juhla-ateria', 'meals', Decimal('14.00')),
        ('Asiointiapu', 'escort', Decimal('30.00'))],
    [('Perussiivous', 'cleaning', Decimal('29.90')),
        ('Saattaja lääkäriin', 'escort', Decimal('33.00')),
        ('Kauppa-apu', 'home_help', Decimal('31.00'))],
    ]


def create_world():
    "Three approved providers with nine services, a rating; fi and sv"
    from trytond.modules.company.tests import set_company

    from trytond.modules.hb_marketplace.tests.tools import (
        create_master_data,
        create_provider,
        create_wellbeing_area,
    )
    pool = Pool()
    Rating = pool.get('hb.service.rating')
    Party = pool.get('party.party')
    ids = {}
    with set_company(create_wellbeing_area()):
        data = create_master_data()
        for index, (name, email, services) in enumerate(zip(
                ['Siivous Esimerkki Oy', 'Ateria ja Apu ry',
                    'Kainuun Kotipalvelu Oy'],
                ['siivous@example.com', 'ateria@example.com',
                    'koti@example.com'],
                SERVICES)):
            provider = create_provider(data, index, name=name, email=email,
                municipalities=('kajaani', 'sotkamo'),
                customer_groups=('avain', 'elderly'), services=services)
            for service in provider.contract.services:
                ids[service.name] = service.id
        client, = Party.create([{'name': 'Asiakas Esimerkki'}])
        Rating.create([{'client': client.id, 'service': ids['Kotisiivous'],
                    'rating': r} for r in [4, 3]])
        ids.update({k: data[k].id for k in ['kajaani', 'kuhmo', 'avain']})
    return ids


class PublicPagesBrowserTestCase(unittest.TestCase):
    "The public pages in a browser: axe-core, layout, order"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_with_languages(['hb_voucher'], ('fi', 'sv'))
        from trytond.modules.hb_marketplace.tests.tools import no_email
        with Transaction().start(DB_NAME, 1) as transaction, no_email():
            cls.ids = create_world()
            transaction.commit()
        cls.server = TrytondServer(DB_NAME)
        cls.driver = chromium_driver()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.stop()
        drop_db()

    def url(self, path, lang):
        separator = '&' if '?' in path else '?'
        return '%s/%s/hb/%s%slang=%s' % (
            self.server.url, DB_NAME, path, separator, lang)

    def results(self):
        return 'catalogue?municipality=%d&group=%d' % (
            self.ids['kajaani'], self.ids['avain'])

    def pages(self):
        return [
            ('catalogue', 'catalogue'),
            ('results', self.results()),
            ('empty', 'catalogue?municipality=%d&group=%d' % (
                    self.ids['kuhmo'], self.ids['avain'])),
            ('service', 'catalogue/service/%d' % self.ids['Kotisiivous']),
            ('compare', 'catalogue/compare?service=%d&service=%d' % (
                    self.ids['Kotisiivous'], self.ids['Kotiateria'])),
            ('apply', 'provider/apply'),
            ('login', 'provider/login'),
            ('password', 'provider/password'),
            ('client-login', 'client/login'),
            ('rulebook', 'info/rulebook'),
            ('accessibility', 'info/accessibility'),
            ('privacy', 'info/privacy'),
            ('contact', 'info/contact'),
            ]

    def open(self, path, lang):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
        self.driver.get(self.url(path, lang))
        WebDriverWait(self.driver, 30).until(
            EC.visibility_of_element_located((By.TAG_NAME, 'h1')))

    def test_axe_every_page(self):
        "No axe-core violation of any impact on any public page"
        from selenium.webdriver.common.by import By
        for name, path in self.pages():
            for lang in LANGUAGES:
                with self.subTest(page=name, lang=lang):
                    self.open(path, lang)
                    self.assertEqual(self.driver.find_element(
                            By.TAG_NAME, 'html').get_attribute('lang'),
                        lang)
                    violations = run_axe(self.driver)
                    screenshot(self.driver, 'public-%s-%s' % (name, lang))
                    self.assertFalse(violations, '\n'.join(
                            '%s (%s): %s %s' % (v['id'], v.get('impact'),
                                v.get('description'),
                                [n.get('target')
                                    for n in v.get('nodes', [])][:5])
                            for v in violations))

    def test_catalogue_uses_the_width(self):
        """Nine services fit one screen and a half at 1280 px (they took
        4,000 px as cards under their categories), in price order across
        the page"""
        from selenium.webdriver.common.by import By
        self.open(self.results(), 'fi')
        driver = self.driver
        height = driver.execute_script(
            'return document.documentElement.scrollHeight')
        self.assertLess(height, 1500)
        table = driver.find_element(By.CSS_SELECTOR, 'table.services')
        main = driver.find_element(By.TAG_NAME, 'main')
        self.assertGreater(table.size['width'], 0.9 * (
                main.size['width'] - 48))
        names = [e.text for e in driver.find_elements(
                By.CSS_SELECTOR, 'table.services th[scope="row"] a')]
        prices = sorted((p, n) for row in SERVICES for n, _, p in row)
        self.assertEqual(names, [n for _, n in prices])
        # Provider, price, rating and municipalities at a glance: one row
        row = driver.find_element(By.CSS_SELECTOR, 'tr.service').text
        self.assertIn('Ateria ja Apu ry', row)
        self.assertIn('9,50', row)
        self.assertIn('Kajaani', row)
        rated = driver.find_element(By.XPATH,
            '//tr[th/a[text()="Kotisiivous"]]').text
        self.assertIn('3,5 / 5', rated)
        screenshot(driver, 'public-results-width')
        # By name: the order of the names across the page
        self.open(self.results() + '&sort=name', 'sv')
        names = [e.text for e in driver.find_elements(
                By.CSS_SELECTOR, 'table.services th[scope="row"] a')]
        self.assertEqual(names, sorted(names, key=str.lower))
