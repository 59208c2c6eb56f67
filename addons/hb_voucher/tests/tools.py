# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Test data of the money path: the wellbeing area with its accounting,
an approved provider, a client with an approved budget.

Reusable by later benchmark and security tests::

    with set_company(create_wellbeing_area()):
        data = setup_hb()          # accounting, master data, settings
        provider = create_provider_with_service(data)
        client = create_client(data, '+358401234567')
        budget = create_budget(data, client, Decimal('500.00'))

All people and businesses are fictional; HETUs are temporary codes."""
import datetime as dt
from decimal import Decimal

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction, TransactionError

from trytond.modules.hb_budget.plan import CRITERIA
from trytond.modules.hb_budget.tests.tools import (
    module_po_path,
    prelock,
    temporary_hetu,
)
from trytond.modules.hb_marketplace.tests.tools import (
    create_master_data,
    create_provider,
    create_wellbeing_area,
)

__all__ = [
    'run_in_transaction',
    'create_wellbeing_area', 'setup_accounting', 'setup_hb',
    'create_provider_with_service', 'create_client', 'create_budget',
    'last_code', 'create_api_key']

COMPANY_IBAN = 'FI84 1234 5600 0001 36'


def run_in_transaction(func, *args, user=1, prelocked=False, **kwargs):
    """Run func in a new transaction (committed), retrying as Tryton's
    request handlers do when it needs locks; return its result.

    prelocked: lock first the tables that the accounting and HB lock later
    (hb_budget.tests.tools.prelock), so that a long set-up is not run again
    for each lock; not for transactions that must race each other."""
    extras = {}
    while True:
        with Transaction().start(DB_NAME, user, **extras) as transaction:
            try:
                if prelocked:
                    prelock()
                return func(*args, **kwargs)
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)


def load_finnish(modules=('hb_voucher',)):
    "Make Finnish translatable and load the translations of modules"
    pool = Pool()
    Lang = pool.get('ir.lang')
    Translation = pool.get('ir.translation')
    fi, = Lang.search([('code', '=', 'fi')])
    if not fi.translatable:
        fi.translatable = True
        fi.save()
    for module in modules:
        Translation.translation_import('fi', module, module_po_path(module))


def setup_accounting(company, today=None):
    """Create the chart of accounts, the fiscal year with periods, the HB
    accounts (expense, clearing) and the settings using them.
    Return a dict of the accounts."""
    pool = Pool()
    Account = pool.get('account.account')
    AccountType = pool.get('account.account.type')
    FiscalYear = pool.get('account.fiscalyear')
    Configuration = pool.get('hb.configuration')
    create_chart(company)
    fiscalyear = set_invoice_sequences(
        get_fiscalyear(company, today=today))
    fiscalyear.save()
    FiscalYear.create_period([fiscalyear])
    expense, = Account.search([
            ('type.expense', '=', True), ('company', '=', company.id)],
        limit=1)
    payable, = Account.search([
            ('type.payable', '=', True), ('company', '=', company.id)],
        limit=1)
    revenue, = Account.search([
            ('type.revenue', '=', True), ('company', '=', company.id)],
        limit=1)
    cash, = Account.search([
            ('code', '=', '1.1.1'), ('company', '=', company.id)], limit=1)
    debt_type, = AccountType.search([
            ('company', '=', company.id),
            ('statement', '=', 'balance'),
            ('payable', '=', False),
            ('assets', '=', False),
            ], order=[('sequence', 'DESC'), ('id', 'DESC')], limit=1)
    debt_type.debt = True
    debt_type.save()
    clearing = Account(
        name="HB charges to be billed", code='2.9.9', company=company,
        type=debt_type, parent=payable.parent)
    clearing.save()
    hb_expense = Account(
        name="HB service expense", code='5.9.9', company=company,
        type=expense.type, parent=expense.parent)
    hb_expense.save()
    config = Configuration(1)
    config.hb_expense_account = hb_expense
    config.hb_clearing_account = clearing
    config.save()
    return {
        'fiscalyear': fiscalyear, 'expense': hb_expense,
        'clearing': clearing, 'payable': payable, 'revenue': revenue,
        'cash': cash,
        }


def payment_clearing(company):
    """Return the clearing account (payments sent, not yet on a bank
    statement) and journal of the provider payments: with them the
    payments the bank confirms settle the bills"""
    pool = Pool()
    Account = pool.get('account.account')
    Journal = pool.get('account.journal')
    ModelData = pool.get('ir.model.data')
    cash, = Account.search([
            ('code', '=', '1.1.1'), ('company', '=', company.id)], limit=1)
    accounts = Account.search([
            ('code', '=', '1.1.9'), ('company', '=', company.id)], limit=1)
    if accounts:
        account, = accounts
    else:
        account = Account(
            name="Provider payments in transit", code='1.1.9',
            company=company, type=cash.type, parent=cash.parent,
            reconcile=True)
        account.save()
    return account, Journal(ModelData.get_id('account', 'journal_cash'))


def setup_payment_journal(company):
    """Create the company's bank account and the SEPA payment journal
    (pain.001.001.03, with its payment clearing) paying HB vendor bills;
    return the journal"""
    pool = Pool()
    Bank = pool.get('bank')
    BankAccount = pool.get('bank.account')
    Party = pool.get('party.party')
    Journal = pool.get('account.payment.journal')
    Configuration = pool.get('hb.configuration')
    banks = Bank.search([('bic', '=', 'NDEAFIHH')], limit=1)
    if banks:
        bank, = banks
    else:
        bank_party, = Party.create([{'name': 'Pankki Oyj'}])
        bank, = Bank.create([{'party': bank_party.id, 'bic': 'NDEAFIHH'}])
    account, = BankAccount.create([{
                'bank': bank.id,
                'owners': [('add', [company.party.id])],
                'currency': company.currency.id,
                'numbers': [('create', [{
                                'type': 'iban',
                                'number': COMPANY_IBAN,
                                }])],
                }])
    journal = Journal(
        name="HB provider payments", company=company,
        currency=company.currency, process_method='sepa',
        sepa_bank_account_number=account.numbers[0],
        sepa_payable_flavor='pain.001.001.03',
        sepa_receivable_flavor='pain.008.001.02')
    journal.clearing_account, journal.clearing_journal = payment_clearing(
        company)
    journal.save()
    config = Configuration(1)
    config.hb_payment_journal = journal
    config.save()
    return journal


def setup_hb(today=None):
    """Set up the company's accounting and the HB master data (in the
    company context). Return a dict of both."""
    pool = Pool()
    Company = pool.get('company.company')
    company = Company(Transaction().context['company'])
    data = create_master_data()
    data.update(setup_accounting(company, today=today))
    data['company'] = company
    data['payment_journal'] = setup_payment_journal(company)
    return data


def create_provider_with_service(data, index=0, price=Decimal('35.00'),
        **kwargs):
    """Create an approved provider selling cleaning for price per hour;
    return the approved application (party, contract, web_user set)"""
    kwargs.setdefault('services', [('Kotisiivous', 'cleaning', price)])
    kwargs.setdefault('municipalities', ('kajaani',))
    kwargs.setdefault('customer_groups', ('avain',))
    kwargs.setdefault('email', 'palvelu%d@example.com' % index)
    if index:
        kwargs.setdefault('name', 'Palvelu %d Oy' % index)
    return create_provider(data, index, **kwargs)


def provider_product(application):
    "Return the first catalogue product of the provider"
    pool = Pool()
    Product = pool.get('product.product')
    product, = Product.search([
            ('template.hb_provider', '=', application.party.id),
            ], limit=1, order=[('id', 'ASC')])
    return product


def create_client(data, mobile, individual=901, municipality='kajaani',
        groups=('avain',), name="Testi Asiakas", lang=None):
    pool = Pool()
    Party = pool.get('party.party')
    Lang = pool.get('ir.lang')
    values = {
        'name': name,
        'hb_client': True,
        'hb_hetu': temporary_hetu(individual=individual),
        'hb_municipality': data[municipality].id,
        'hb_customer_groups': [('add', [data[g].id for g in groups])],
        'hb_mobile': mobile,
        }
    if lang:
        values['lang'] = Lang.get(lang).id
    client, = Party.create([values])
    return client


def create_budget(data, client, amount=Decimal('500.00'),
        category='home_help', start=None, end=None):
    """Agree a plan, propose and approve a decision for client giving
    amount on category; return the active budget"""
    pool = Pool()
    Date = pool.get('ir.date')
    Plan = pool.get('hb.plan')
    Decision = pool.get('hb.decision')
    today = Date.today()
    start = start or today.replace(day=1)
    end = end or (start + dt.timedelta(days=400)).replace(day=1) - (
        dt.timedelta(days=1))
    plan, = Plan.create([{
                'company': data['company'].id,
                'client': client.id,
                'valid_from': start,
                'valid_to': end,
                'next_review': end,
                'needs': "Help at home",
                'goals': "Living at home",
                'services': [('create', [{
                                'category': data[category].id,
                                'quantity': Decimal('4.00'),
                                'unit_cost': Decimal('40.00'),
                                }])],
                'checklist': [('create', [{
                                'criterion': c, 'answer': 'yes',
                                'note': "Assessed with the client",
                                } for c, _ in CRITERIA])],
                }])
    Plan.agree([plan])
    decision, = Decision.create([{
                'company': data['company'].id,
                'client': client.id,
                'plan': plan.id,
                'start_date': start,
                'end_date': end,
                'value_method': 'manual',
                'justification': "Agreed with the client",
                'amount': amount,
                'lines': [('create', [{
                                'category': data[category].id,
                                'amount': amount,
                                }])],
                }])
    with Transaction().set_user(0):
        Decision.propose([decision])
        Decision.approve([decision])
    return Decision(decision.id).budget


def last_code(mobile):
    "Return the one-time code of the last SMS sent to mobile"
    pool = Pool()
    Message = pool.get('hb.sms.message')
    import re
    for message in Message.search([('to', '=', mobile)],
            order=[('id', 'DESC')]):
        match = re.search(r'\b(\d{6})\b', message.text)
        if match:
            return match.group(1)


def create_api_key(application):
    "Return a new API key of the provider of the approved application"
    pool = Pool()
    UserApplication = pool.get('res.user.application')
    return UserApplication.hb_create_key(application.party)
