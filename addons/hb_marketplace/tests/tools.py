# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Test data of the marketplace: master data and approved providers.

All people and businesses are fictional; business IDs are valid check-digit
numbers made up for the tests."""
import functools
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from unittest.mock import patch

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.currency.tests import create_currency
from trytond.pool import Pool
from trytond.transaction import Transaction

# Fictional business IDs with valid check digits
BUSINESS_IDS = ['1234567-1', '7654321-2', '1111112-8', '2222223-7']
IBANS = [
    'FI21 1234 5600 0007 85', 'FI17 4000 1020 0001 38',
    'FI14 1009 3000 1234 58', 'FI82 5000 0120 2543 07']
BIC = 'NDEAFIHH'
CHECKLIST = {
    'check_prepayment_register': True,
    'check_social_service_register': True,
    'check_liability_insurance': True,
    'check_self_monitoring_plan': True,
    'check_quality': True,
    'check_staff_suitability': True,
    }


def create_wellbeing_area():
    "Create the company (the wellbeing area) with euros"
    return create_company(
        name='Kainuun hyvinvointialue', currency=create_currency('EUR'))


def with_company(func):
    "Run the decorated test (in a transaction) as the wellbeing area"
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with set_company(create_wellbeing_area()):
            return func(*args, **kwargs)
    return wrapper


def no_email():
    "Patch the sending of emails (they are still kept as ir.email)"
    return patch(
        'trytond.modules.hb_marketplace.mail.send_message_transactional')


def create_master_data():
    """Create Kainuu municipalities, customer groups and categories.

    Return a dict of them by short name."""
    pool = Pool()
    Municipality = pool.get('hb.municipality')
    CustomerGroup = pool.get('hb.customer.group')
    Category = pool.get('hb.service.category')
    kajaani, sotkamo, kuhmo = Municipality.create([
            {'name': 'Kajaani', 'code': '205'},
            {'name': 'Sotkamo', 'code': '765'},
            {'name': 'Kuhmo', 'code': '290'},
            ])
    avain, elderly = CustomerGroup.create([
            {'name': 'AVAIN-asiakas', 'code': 'AVAIN'},
            {'name': 'Ikääntyneet', 'code': 'ELDERLY'},
            ])
    home_help, = Category.create([{
                'name': 'Kotiapu', 'code': 'HOMEHELP', 'unit': 'hour',
                'price_cap': Decimal('60.00'),
                }])
    cleaning, meals = Category.create([{
                'name': 'Siivous', 'code': 'CLEANING', 'unit': 'hour',
                'parent': home_help.id,
                }, {
                'name': 'Ateriapalvelu', 'code': 'MEALS', 'unit': 'piece',
                'price_cap': Decimal('15.00'),
                }])
    escort, = Category.create([{
                'name': 'Saattaja', 'code': 'ESCORT', 'unit': 'hour',
                'price_cap': Decimal('50.00'),
                }])
    return {
        'kajaani': kajaani, 'sotkamo': sotkamo, 'kuhmo': kuhmo,
        'avain': avain, 'elderly': elderly,
        'home_help': home_help, 'cleaning': cleaning, 'meals': meals,
        'escort': escort,
        }


def application_values(data, index=0, name='Siivouspalvelu Esimerkki Oy',
        email='palvelu@example.com', municipalities=('kajaani',),
        customer_groups=('avain',), services=None, **extra):
    "Return the values of a complete application"
    if services is None:
        services = [('Kotisiivous', 'cleaning', Decimal('35.00'))]
    return {
        **extra,
        'name': name,
        'business_id': BUSINESS_IDS[index],
        'street': 'Kauppakatu %d' % (index + 1),
        'postal_code': '87100',
        'city': 'Kajaani',
        'contact_name': 'Maija Esimerkki',
        'email': email,
        'phone': '+358 40 123 456%d' % index,
        'iban': IBANS[index],
        'bic': BIC,
        'language': 'fi',
        'rulebook_accepted': True,
        'municipalities': [('add', [data[m].id for m in municipalities])],
        'customer_groups': [('add', [data[g].id for g in customer_groups])],
        'services': [('create', [{
                        'name': service_name,
                        'category': data[category].id,
                        'unit': data[category].unit,
                        'price': price,
                        'languages': ['fi', 'en'],
                        } for service_name, category, price in services])],
        }


def create_provider(data, index=0, patch_email=True, **kwargs):
    """Create, submit and approve an application; return the approved
    application (its party, contract, web_user and services are set)"""
    pool = Pool()
    Application = pool.get('hb.provider.application')
    with no_email() if patch_email else nullcontext():
        application, = Application.create(
            [application_values(data, index, **kwargs)])
        Application.submit([application])
        Application.write([application], CHECKLIST)
        Application.approve([application])
    return application


@contextmanager
def savepoint():
    """Undo on exit what the block wrote (as a failed request's
    transaction would be rolled back)"""
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    cursor.execute('SAVEPOINT hb_test')
    try:
        yield
    finally:
        cursor.execute('ROLLBACK TO SAVEPOINT hb_test')
        for cache in transaction.cache.values():
            cache.clear()


def set_password(web_user, password):
    pool = Pool()
    WebUser = pool.get('web.user')
    web_user = WebUser(web_user.id)
    web_user.password = password
    web_user.save()


def activate_with_languages(modules, codes, activate=None):
    """Activate modules (as trytond's activate_module) with the translations
    of the language codes loaded (as Lang.load_translations does), kept in
    the test database cache under a name of its own: a language is loaded
    once per cache, not once per test class (a minute or more each)"""
    from trytond.tests import test_tryton
    if isinstance(modules, str):
        modules = [modules]
    name = '%s--with-%s' % ('-'.join(modules), '-'.join(sorted(codes)))
    if (not test_tryton.db_exist(test_tryton.DB_NAME)
            and test_tryton.restore_db_cache(name)):
        return
    (activate or test_tryton.activate_module)(modules)
    with Transaction().start(test_tryton.DB_NAME, 0) as transaction:
        Lang = Pool().get('ir.lang')
        Lang.load_translations(Lang.search([('code', 'in', list(codes))]))
        transaction.commit()
    # (looked up at call time: the parallel test runner wraps it)
    test_tryton.backup_db_cache(name)


class CachedLanguages:
    """Mixin (first among the bases) of a trytond database test case whose
    database has the translations of `languages` loaded, from the test
    database cache (activate_with_languages)"""
    languages = ('fi',)

    @classmethod
    def setUpClass(cls):
        from trytond.tests import test_tryton
        activate_module = test_tryton.activate_module

        def activate(modules, lang='en'):
            activate_with_languages(modules, cls.languages,
                activate=activate_module)
        # _DBTestCase.setUpClass looks activate_module up when it runs
        test_tryton.activate_module = activate
        try:
            super().setUpClass()
        finally:
            test_tryton.activate_module = activate_module
