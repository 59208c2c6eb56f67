# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The accounts, journals and payment method of the settings are per
company (issue 16): each company reads its own."""
from trytond import backend
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction

from .tools import create_wellbeing_area, setup_accounting


class SettingsTestCase(_DBTestCase):
    "Test the settings per company"
    module = 'hb_voucher'

    @with_transaction()
    def test_accounts_per_company(self):
        "Two companies: each has its own accounts and journals"
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Journal = pool.get('account.journal')
        Value = pool.get('hb.configuration.account')
        first = create_wellbeing_area()
        second = create_company(
            name="Toinen hyvinvointialue", currency=first.currency)
        with set_company(first):
            accounts_1 = setup_accounting(first)
            journal, = Journal.search([('type', '=', 'expense')], limit=1)
            config = Configuration(1)
            config.hb_invoice_journal = journal
            config.save()
        with set_company(second):
            accounts_2 = setup_accounting(second)
        self.assertNotEqual(accounts_1['clearing'], accounts_2['clearing'])
        for company, accounts, invoice_journal in [
                (first, accounts_1, journal),
                (second, accounts_2, None)]:
            with set_company(company):
                config = Configuration(1)
                self.assertEqual(
                    config.hb_clearing_account, accounts['clearing'])
                self.assertEqual(
                    config.hb_expense_account, accounts['expense'])
                self.assertEqual(config.hb_invoice_journal, invoice_journal)
                # the default of a company's value
                self.assertEqual(config.hb_sale_journal.type, 'revenue')
        self.assertEqual(
            sorted(v.company.id for v in Value.search([])),
            sorted([first.id, second.id]))

    @with_transaction()
    def test_migration_to_company_values(self):
        """The values of the former columns of the settings move to the
        company of their accounts"""
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Value = pool.get('hb.configuration.account')
        Journal = pool.get('account.journal')
        company = create_wellbeing_area()
        with set_company(company):
            accounts = setup_accounting(company)
        journal, = Journal.search([('type', '=', 'expense')], limit=1)
        Value.delete(Value.search([]))
        # the settings as they were: the values in their own columns
        handler = backend.TableHandler(Configuration)
        for name in ['hb_clearing_account', 'hb_expense_account',
                'hb_invoice_journal']:
            handler.add_column(name, 'INTEGER')
        cursor = Transaction().connection.cursor()
        cursor.execute('UPDATE hb_configuration SET '
            'hb_clearing_account = %s, hb_expense_account = %s, '
            'hb_invoice_journal = %s' % (accounts['clearing'].id,
                accounts['expense'].id, journal.id))
        Value._migrate_settings()
        value, = Value.search([])
        self.assertEqual(value.company, company)
        self.assertEqual(value.hb_clearing_account, accounts['clearing'])
        self.assertEqual(value.hb_expense_account, accounts['expense'])
        self.assertEqual(value.hb_invoice_journal, journal)
        self.assertIsNone(value.hb_payment_journal)
