# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Smoke test of the web client: sao served by trytond, in headless Chromium.

Logs in as admin on a database with all four HB modules and checks that
the "Personal Budgets" menu is there and that the HB settings form opens.
Keeps screenshots in HB_ARTIFACTS."""
import unittest

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
from trytond.transaction import Transaction

from tests.browser import (
    TrytondServer,
    chromium_driver,
    console_errors,
    screenshot,
)

PASSWORD = 'sao-smoke-Test-1'


class SaoSmokeTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(['hb_avain'])
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            User = pool.get('res.user')
            Item = pool.get('ir.module.config_wizard.item')
            admin, = User.search([('login', '=', 'admin')])
            admin.password = PASSWORD
            admin.save()
            # No first-login configuration wizard: go straight to the menu
            Item.write(Item.search([]), {'state': 'done'})
            transaction.commit()
        cls.server = TrytondServer(DB_NAME)
        # Load the database's pool now: the first login in sao would wait
        # for it, and on a busy machine that took longer than the waits
        cls.server.rpc('common.db.login', 'admin', {'password': PASSWORD},
            'en')
        cls.driver = chromium_driver()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.stop()
        drop_db()

    def wait(self, condition, timeout=60):
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, timeout).until(condition)
        except TimeoutException:
            path = screenshot(self.driver, 'sao-failure')
            self.fail('timed out waiting in sao; screenshot: %s; console '
                'errors: %s' % (path, console_errors(self.driver)))

    def test_login_and_menu(self):
        "Log in to sao as admin, see the Personal Budgets menu and settings"
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support import expected_conditions as EC

        driver = self.driver
        driver.get('%s/#%s' % (self.server.url, DB_NAME))
        login = self.wait(EC.visibility_of_element_located((By.ID, 'login')))
        # The login dialog first asks the server for its databases: typing
        # before the answer could be lost when the dialog fills itself in
        self.wait(lambda d: d.execute_script(
                'return window.jQuery && jQuery.active === 0;'))
        login.send_keys('admin')
        login.send_keys(Keys.ENTER)
        password = self.wait(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, '.modal input[type="password"]')))
        password.send_keys(PASSWORD)
        password.send_keys(Keys.ENTER)

        menu = self.wait(EC.visibility_of_element_located((By.XPATH,
                    '//*[@id="menu"]//*[normalize-space(text())='
                    '"Personal Budgets"]')))
        screenshot(driver, 'sao-menu')
        self.assertEqual(menu.text.strip(), "Personal Budgets")

        # Open the settings form: Personal Budgets > Configuration > Settings
        menu.click()
        self.wait(EC.element_to_be_clickable((By.XPATH,
                    '//*[@id="menu"]//*[normalize-space(text())='
                    '"Configuration"]'))).click()
        settings = self.wait(EC.element_to_be_clickable((By.XPATH,
                    '//*[@id="menu"]//*[normalize-space(text())="Settings"]')))
        settings.click()
        label = self.wait(EC.visibility_of_element_located((By.XPATH,
                    '//label[normalize-space(text())='
                    '"Default Period Length:"]')))
        screenshot(driver, 'sao-settings')
        self.assertTrue(label.is_displayed())
        self.assertIn(
            "Personal Budgets / Configuration / Settings",
            driver.find_element(By.ID, 'tabs').text)
