# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Kainuu demo data: the wellbeing area with a small chart of accounts, its
municipalities, customer groups and service categories, the AVAIN pilot
settings, approved providers with services, clients with plans, decisions
and budgets, AVAIN conversions, comparison clients, and a few weeks of
charges. Called by scripts/demo_data.py; idempotent: each part looks for
what it would create and adds only what is missing.

All people and firms are fictional; HETUs use the temporary 900-999 range
only, business IDs and IBANs are made up with valid check digits."""
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

from dateutil.relativedelta import relativedelta
from trytond.transaction import Transaction

from .demo_bank import load_bank_statement
from .demo_claims import load_claims
from .demo_delegations import load_delegations
from .demo_einvoice import load_einvoice
from .demo_finance import load_finance, load_settlement
from .demo_requests import load_requests

# proteus, the client library, is needed only to load the demo (not by the
# module at run time): load() imports it
Model = Wizard = None

COMPANY_NAME = "Kainuun hyvinvointialue (demo)"

# Statistics Finland codes (domain.md)
MUNICIPALITIES = [
    ('105', "Hyrynsalmi", "Hyrynsalmi"),
    ('205', "Kajaani", "Kajana"),
    ('290', "Kuhmo", "Kuhmo"),
    ('578', "Paltamo", "Paltamo"),
    ('620', "Puolanka", "Puolanka"),
    ('697', "Ristijärvi", "Ristijärvi"),
    ('765', "Sotkamo", "Sotkamo"),
    ('777', "Suomussalmi", "Suomussalmi"),
    ]

CUSTOMER_GROUPS = [
    ('avain', "AVAIN-asiakas",
        "AVAIN client (carer of a child with special needs)"),
    ('elderly', "Ikäihmiset", "Older people"),
    ('disabled', "Vammaiset henkilöt", "People with disabilities"),
    ('intellectual', "Kehitysvammaiset henkilöt",
        "People with intellectual disabilities"),
    ]

# code, Finnish, English, unit, price cap per unit (VAT included)
FAMILY_HOME_HELP = (
    'family-home-help', "Lapsiperheen kotipalvelu", "Family home help",
    'hour', '52.00')
SUPPORT_PARENT = (
    'home-help-support', "Kotipalvelun tukipalvelut",
    "Home-help support services", 'hour', '45.00')
SUPPORT_SERVICES = [
    ('cleaning', "Siivous", "Cleaning", 'hour', '42.00'),
    ('window-cleaning', "Ikkunanpesu", "Window cleaning", 'hour', '45.00'),
    ('meals', "Ateriapalvelu", "Meals", 'piece', '12.00'),
    ('grocery', "Kauppapalvelu", "Grocery shopping", 'visit', '25.00'),
    ('errands', "Asiointipalvelu", "Errands", 'hour', '38.00'),
    ('escort', "Saattajapalvelu", "Escort", 'hour', '38.00'),
    ('transport', "Kuljetuspalvelu", "Transport", 'km', '2.50'),
    ('laundry', "Pyykkipalvelu", "Laundry", 'visit', '30.00'),
    ('bathing', "Kylvetys- ja saunapalvelu", "Bathing and sauna help",
        'visit', '40.00'),
    ('safety-alarm', "Turvapuhelinpalvelu", "Safety alarm", 'month',
        '35.00'),
    ('snow-clearing', "Lumityöt", "Snow clearing", 'hour', '45.00'),
    ('yard-work', "Pihatyöt", "Yard work", 'hour', '42.00'),
    ('childcare', "Lastenhoito kotona", "Childcare at home", 'hour',
        '40.00'),
    ('companionship', "Seuranpito", "Companionship", 'hour', '35.00'),
    ('leisure', "Harrastus- ja vapaa-ajan tuki",
        "Hobby and leisure support", 'hour', '38.00'),
    ('housekeeping', "Kodinhoito", "Housekeeping", 'hour', '42.00'),
    ('home-maintenance', "Kodin huoltoapu", "Home maintenance help",
        'hour', '45.00'),
    ]


def _translate(config, record, **values):
    "Write the English values of record's translatable fields"
    with config.set_context(language='en'):
        record = type(record)(record.id)
        for name, value in values.items():
            setattr(record, name, value)
        record.save()


def load_company(config):
    Company = Model.get('company.company')
    Currency = Model.get('currency.currency')
    Party = Model.get('party.party')
    User = Model.get('res.user')

    companies = Company.find([('party.name', '=', COMPANY_NAME)])
    if companies:
        company, = companies
    else:
        currencies = Currency.find([('code', '=', 'EUR')])
        if currencies:
            currency, = currencies
        else:
            currency = Currency(
                name="Euro", symbol="€", code='EUR',
                rounding=Decimal('0.01'), digits=2)
            currency.save()
        party = Party(name=COMPANY_NAME)
        party.save()
        company_config = Wizard('company.company.config')
        company_config.execute('company')
        company = company_config.form
        company.party = party
        company.currency = currency
        company_config.execute('add')
        company, = Company.find([('party.name', '=', COMPANY_NAME)])
    admin, = User.find([('login', '=', 'admin')])
    if company not in admin.companies:
        admin.companies.append(company)
    admin.company = company
    admin.save()
    config._context = User.get_preferences(True, {})
    return company


def load_master_data(config):
    Municipality = Model.get('hb.municipality')
    CustomerGroup = Model.get('hb.customer.group')
    Category = Model.get('hb.service.category')

    existing = {m.code for m in Municipality.find([])}
    for code, name, name_sv in MUNICIPALITIES:
        if code not in existing:
            Municipality(code=code, name=name, name_sv=name_sv).save()

    existing = {g.code for g in CustomerGroup.find([])}
    for code, name, name_en in CUSTOMER_GROUPS:
        if code not in existing:
            group = CustomerGroup(code=code, name=name)
            # AVAIN is one narrow service by design: the 2018 criteria
            # guide its assessment, they are no gate
            if code == 'avain':
                group.criteria_mode = 'guidance'
            group.save()
            _translate(config, group, name=name_en)

    existing = {c.code: c for c in Category.find([])}

    def category(code, name, name_en, unit, cap, parent=None):
        if code in existing:
            return existing[code]
        record = Category(
            code=code, name=name, unit=unit, price_cap=Decimal(cap),
            parent=parent)
        record.save()
        _translate(config, record, name=name_en)
        existing[code] = record
        return record

    category(*FAMILY_HOME_HELP)
    parent = category(*SUPPORT_PARENT)
    for values in SUPPORT_SERVICES:
        category(*values, parent=parent)


def load(config):
    global Model, Wizard
    from proteus import Model, Wizard
    company = load_company(config)
    load_master_data(config)
    load_chart(config, company)
    for part in [load_accounting, load_users, load_pilot_settings,
            load_legal_bases, load_delegations, load_providers,
            load_portal_passwords, load_clients,
            load_comparison, load_charges, load_finance, load_einvoice,
            load_billing, load_bank_statement,
            load_claims, load_requests,
            load_ratings_and_gaps, load_settlement]:
        run(config, company, part)
    # What each role finds waiting for it, and no first-login wizard
    for part in [load_waiting_work, load_first_login]:
        run(config, company, part)


def run(config, company, function):
    """Run function in a transaction of the demo database as the admin
    user of the wellbeing area, committed at the end; retried as Tryton's
    dispatcher does when it needs a table lock"""
    from trytond.transaction import TransactionError
    context = dict(config.context or {})
    context['company'] = company.id
    context.pop('_check_access', None)
    extras = {}
    while True:
        with Transaction().start(config.database_name, config.user,
                context=context, **extras) as transaction, no_email():
            try:
                return function()
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)


def no_email():
    "Keep the emails to the fictional providers from being sent"
    return patch(
        'trytond.modules.hb_marketplace.mail.send_message_transactional')


def pool():
    from trytond.pool import Pool
    return Pool()


HETU_CHECK = '0123456789ABCDEFHJKLMNPRSTUVWXY'


def temporary_hetu(birth_date, individual):
    "Return a temporary HETU (individual number 900-999) with its check"
    assert 900 <= individual <= 999
    sign = '-' if birth_date.year < 2000 else 'A'
    digits = '%s%03d' % (birth_date.strftime('%d%m%y'), individual)
    return '%s%s%03d%s' % (
        birth_date.strftime('%d%m%y'), sign, individual,
        HETU_CHECK[int(digits) % 31])


def business_id(number):
    "Return the Y-tunnus of the 7-digit number with its check digit or None"
    digits = '%07d' % number
    remainder = sum(int(d) * w for d, w in zip(
            digits, [7, 9, 10, 5, 8, 4, 2])) % 11
    if remainder == 1:
        return None
    return '%s-%d' % (digits, 0 if remainder == 0 else 11 - remainder)


def finnish_iban(bban):
    "Return the Finnish IBAN of the 14-digit BBAN"
    number = int(bban + '1518' + '00')  # F=15, I=18
    return 'FI%02d%s' % (98 - number % 97, bban)


def demo_dates():
    """Return (today, pilot start, pilot end): the pilot started on the
    first day of the month two months ago and lasts a year"""
    Date = pool().get('ir.date')
    today = Date.today()
    start = today.replace(day=1) - relativedelta(months=2)
    return today, start, start + relativedelta(months=12, days=-1)


def load_chart(config, company):
    """Create the minimal chart of accounts with Tryton's create_chart
    wizard and a fiscal year covering the pilot, with its periods"""
    from trytond.modules.account.tests.tools import (
        create_chart,
        create_fiscalyear,
    )
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences,
    )
    Account = Model.get('account.account')
    FiscalYear = Model.get('account.fiscalyear')
    if not Account.find([('company', '=', company.id)], limit=1):
        create_chart(company, config=config)
    if not FiscalYear.find([('company', '=', company.id)], limit=1):
        today = dt.date.today()
        start = today.replace(day=1) - relativedelta(months=2)
        end = start + relativedelta(months=12, days=-1)
        # Tryton's tools find the sequence types by their English names
        with config.set_context(language='en'):
            fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(
                    company, today=(start.replace(month=1, day=1),
                        end.replace(month=12, day=31)),
                    config=config), config=config)
        fiscalyear.save()
        fiscalyear.click('create_period')


def load_accounting():
    """Add the accounts of the HB flow (what hb_voucher books on): the HB
    service expense account and the clearing account of charges to be
    billed, and set them in the settings"""
    P = pool()
    Account = P.get('account.account')
    AccountType = P.get('account.account.type')
    Configuration = P.get('hb.configuration')
    company = Transaction().context['company']
    config = Configuration(1)
    if config.hb_expense_account and config.hb_clearing_account:
        return
    expense, = Account.search([
            ('type.expense', '=', True), ('company', '=', company),
            ('type.statement', '=', 'income')], limit=1)
    payable, = Account.search([
            ('type.payable', '=', True), ('company', '=', company)],
        limit=1)
    # The clearing account is a debt (hb_voucher's settings require it):
    # mark the last liability type that is neither payable nor receivable
    debt_type, = AccountType.search([
            ('company', '=', company),
            ('statement', '=', 'balance'),
            ('payable', '=', False),
            ('receivable', '=', False),
            ('assets', '=', False),
            ], order=[('sequence', 'DESC'), ('id', 'DESC')], limit=1)
    if not debt_type.debt:
        debt_type.debt = True
        debt_type.save()
    clearing = Account(
        name="HB-veloitukset laskuttamatta", code='2999', company=company,
        type=debt_type, parent=payable.parent)
    hb_expense = Account(
        name="HB-palvelujen kulut", code='5999', company=company,
        type=expense.type, parent=expense.parent)
    Account.save([clearing, hb_expense])
    config.hb_expense_account = hb_expense
    config.hb_clearing_account = clearing
    config.save()


# The demo's users, one or more per role: login, name, role, groups (as
# "module.xml_id"). The per-role browser test and the translation-coverage
# script read this list, so a role added here is tested there.
USERS = [
    ('sanna', "Sanna Omatyöntekijä", 'own_worker',
        ['hb_budget.group_hb_own_worker']),
    ('mikko', "Mikko Omatyöntekijä", 'own_worker',
        ['hb_budget.group_hb_own_worker']),
    ('pirjo', "Pirjo Esihenkilö", 'supervisor',
        ['hb_budget.group_hb_supervisor']),
    ('leena', "Leena Palvelupäällikkö", 'service_manager',
        ['hb_budget.group_hb_service_manager',
            'hb_marketplace.group_hb_marketplace']),
    ('tuula', "Tuula Talousasiantuntija", 'finance',
        ['hb_voucher.group_hb_finance', 'account.group_account',
            'account_payment.group_payment',
            'account_payment.group_payment_approval',
            'sale_point.group_sale_point']),
    # four eyes on the payment runs: one makes a run, the other approves
    # its payment group before the file is released
    ('teemu', "Teemu Maksuliikenne", 'finance',
        ['hb_voucher.group_hb_finance', 'account.group_account',
            'account_payment.group_payment',
            'account_payment.group_payment_approval',
            'sale_point.group_sale_point']),
    ('helena', "Helena Hyväksyjä", 'finance',
        ['hb_voucher.group_hb_finance', 'account.group_account',
            'account_payment.group_payment',
            'account_payment.group_payment_approval',
            'sale_point.group_sale_point']),
    ('paavo', "Paavo Pilottivastaava", 'pilot_admin',
        ['hb_budget.group_hb_admin', 'hb_marketplace.group_hb_marketplace']),
    ]


def demo_password():
    """Return the demo's password: the environment variable
    HB_DEMO_PASSWORD (the demo command sets it to the admin password it
    generated) or None"""
    import os
    return (os.environ.get('HB_DEMO_PASSWORD')
        or os.environ.get('HB_DEMO_PORTAL_PASSWORD') or None)


def load_users():
    """Create the demo's users of each role, in Finnish, with the demo
    password when there is one; give existing ones the groups of USERS"""
    P = pool()
    User = P.get('res.user')
    Lang = P.get('ir.lang')
    ModelData = P.get('ir.model.data')
    company = Transaction().context['company']
    # Finnish when the database has it loaded (a user's language must be
    # translatable)
    finnish = Lang.search([
            ('code', '=', 'fi'), ('translatable', '=', True)], limit=1)
    password = demo_password()
    existing = {u.login: u for u in User.search([
                ('login', 'in', [u[0] for u in USERS])])}
    users = []
    for login, name, _role, groups in USERS:
        group_ids = [ModelData.get_id(*g.split('.', 1)) for g in groups]
        user = existing.get(login)
        if user:
            missing = set(group_ids) - {g.id for g in user.groups}
            if missing:
                user.groups = list(user.groups) + sorted(missing)
            changed = bool(missing)
            if password and not user.password_hash:
                user.password = password
                changed = True
            if finnish and not user.language:
                user.language, = finnish
                changed = True
            if not changed:
                continue
        else:
            user = User(
                login=login, name=name, companies=[company],
                company=company, groups=group_ids)
            if finnish:
                user.language, = finnish
            if password:
                user.password = password
        users.append(user)
    User.save(users)


def load_first_login():
    """Mark Tryton's first-login configuration steps (the "Module
    Configuration" wizard: company, chart of accounts) done: the demo has
    made them, so admin lands on the menu"""
    Item = pool().get('ir.module.config_wizard.item')
    Item.write(Item.search([('state', '!=', 'done')]), {'state': 'done'})


def demo_user(login):
    return pool().get('res.user').search([('login', '=', login)])[0]


def load_legal_bases():
    """The legal basis cited on decision letters: the Social Welfare Act
    for everyone, the Act on Support for Informal Care for AVAIN carers and
    the Disability Services Act for people with disabilities"""
    P = pool()
    LegalBasis = P.get('hb.legal.basis')
    Group = P.get('hb.customer.group')
    if LegalBasis.search([], limit=1):
        return
    groups = {g.code: g for g in Group.search([])}
    bases = [LegalBasis(sequence=10, statute='social_welfare')]
    for code, statute in [('avain', 'informal_care'),
            ('disabled', 'disability'), ('intellectual', 'disability')]:
        if code in groups:
            bases.append(LegalBasis(
                    sequence=20, customer_group=groups[code],
                    statute=statute))
    LegalBasis.save(bases)


def load_pilot_settings():
    """The AVAIN pilot's rules: its customer group, days off, a day off
    worth €100, family home help and the home-help support services, and
    the pilot period"""
    P = pool()
    Configuration = P.get('hb.configuration')
    Group = P.get('hb.customer.group')
    Category = P.get('hb.service.category')
    config = Configuration(1)
    if config.avain_customer_group:
        return
    _, start, end = demo_dates()
    config.avain_customer_group, = Group.search([('code', '=', 'avain')])
    config.avain_categories = Category.search([
            ('code', 'in', ['family-home-help', 'home-help-support'])])
    config.avain_day_value = Decimal('100.00')
    config.avain_carry_over = True
    config.avain_start_date = start
    config.avain_end_date = end
    config.save()


# name, business number, city, municipalities, groups,
# services (name, category, price)
PROVIDERS = [
    ("Kajaanin Kotiapu Oy", 1010101, "Kajaani",
        ['205', '578', '697'], ['avain', 'elderly'],
        [("Kotisiivous", 'cleaning', '38.00'),
            ("Ikkunanpesu", 'window-cleaning', '42.00'),
            ("Lastenhoito kotona", 'childcare', '36.00')]),
    ("Sotkamon Perhepalvelu Ky", 1020202, "Sotkamo",
        ['765', '205'], ['avain'],
        [("Lapsiperheen kotipalvelu", 'family-home-help', '48.00'),
            ("Lastenhoito kotona", 'childcare', '35.00')]),
    ("Kuhmon Ateriat Oy", 1030303, "Kuhmo",
        ['290', '765'], ['avain', 'elderly', 'disabled'],
        [("Kotiin kuljetettu ateria", 'meals', '10.50'),
            ("Kauppapalvelu", 'grocery', '22.00')]),
    ("Suomussalmen Saattopalvelu Tmi", 1040404, "Suomussalmi",
        ['777', '105', '620'], ['avain', 'elderly', 'disabled',
            'intellectual'],
        [("Saattaja asiointiin", 'escort', '34.00'),
            ("Asiointipalvelu", 'errands', '34.00'),
            ("Kuljetus", 'transport', '2.20')]),
    ("Kainuun Pyykki ja Puhdas Oy", 1050505, "Kajaani",
        ['205', '765', '578'], ['avain', 'elderly'],
        [("Pyykkipalvelu", 'laundry', '28.00'),
            ("Kodinhoito", 'housekeeping', '39.00')]),
    ("Paltamon Piha- ja Lumityö Oy", 1060606, "Paltamo",
        ['578', '205', '697'], ['avain', 'elderly', 'disabled'],
        [("Lumityöt", 'snow-clearing', '40.00'),
            ("Pihatyöt", 'yard-work', '38.00'),
            ("Kodin huoltoapu", 'home-maintenance', '42.00')]),
    ("Hyvän Mielen Seura ry", 1070707, "Kajaani",
        ['205', '290', '765', '777'], ['avain', 'intellectual',
            'disabled'],
        [("Seuranpito", 'companionship', '25.00'),
            ("Harrastustuki", 'leisure', '30.00')]),
    ("Puolangan Kotihoiva Oy", 1080808, "Puolanka",
        ['620', '105'], ['avain', 'elderly'],
        [("Kylvetys- ja saunapalvelu", 'bathing', '36.00'),
            ("Kotisiivous", 'cleaning', '40.00')]),
    ("Turvakaista Kainuu Oy", 1090909, "Kajaani",
        ['105', '205', '290', '578', '620', '697', '765', '777'],
        ['elderly', 'disabled'],
        [("Turvapuhelin", 'safety-alarm', '29.00')]),
    ("Ristijärven Lapsiperheapu Osk", 1101010, "Ristijärvi",
        ['697', '205', '578'], ['avain'],
        [("Lapsiperheen kotipalvelu", 'family-home-help', '50.00'),
            ("Lastenhoito kotona", 'childcare', '34.00')]),
    ]
BANKS = [('1', 'NDEAFIHH'), ('5', 'OKOYFIHH'), ('8', 'DABAFIHH')]


def provider_business_id(number):
    while business_id(number) is None:
        number += 1
    return business_id(number)


def load_providers():
    """Apply, review and approve the providers through the marketplace's
    application workflow (party, bank account, contract, portal login and
    catalogue services); their contracts run from the pilot's start"""
    P = pool()
    Application = P.get('hb.provider.application')
    Municipality = P.get('hb.municipality')
    Group = P.get('hb.customer.group')
    Category = P.get('hb.service.category')
    Contract = P.get('hb.provider.contract')
    _, start, _ = demo_dates()
    municipalities = {m.code: m for m in Municipality.search([])}
    groups = {g.code: g for g in Group.search([])}
    categories = {c.code: c for c in Category.search([])}
    existing = {a.business_id for a in Application.search([])}
    checklist = {
        'check_prepayment_register': True,
        'check_social_service_register': True,
        'check_liability_insurance': True,
        'check_self_monitoring_plan': True,
        'check_quality': True,
        'check_staff_suitability': True,
        }
    for index, (name, number, city, codes, group_codes, services) in (
            enumerate(PROVIDERS)):
        ytunnus = provider_business_id(number)
        if ytunnus in existing:
            continue
        bank, bic = BANKS[index % len(BANKS)]
        iban = finnish_iban('%s%013d' % (bank, 4000000 + index * 1013))
        slug = name.split()[0].lower().replace('ä', 'a').replace('ö', 'o')
        application, = Application.create([{
                    'name': name,
                    'business_id': ytunnus,
                    'street': 'Kauppakatu %d' % (index + 1),
                    'postal_code': '87100',
                    'city': city,
                    'contact_name': 'Yhteyshenkilö %d' % (index + 1),
                    'email': 'demo-%d-%s@example.com' % (index + 1, slug),
                    'phone': '+358 40 700 %04d' % (index + 1),
                    'iban': iban,
                    'bic': bic,
                    'language': 'fi',
                    'rulebook_accepted': True,
                    'description': "%s: palveluja kainuulaisille "
                    "perheille ja ikäihmisille." % name,
                    'municipalities': [('add', [
                                municipalities[c].id for c in codes])],
                    'customer_groups': [('add', [
                                groups[g].id for g in group_codes])],
                    'services': [('create', [{
                                    'name': service,
                                    'category': categories[code].id,
                                    'unit': categories[code].unit,
                                    'price': Decimal(price),
                                    'languages': ['fi'],
                                    'description': "%s, %s." % (
                                        service, city),
                                    } for service, code, price in services])],
                    }])
        Application.submit([application])
        Application.write([application], checklist)
        Application.approve([application])
        application = Application(application.id)
        Contract.write([application.contract], {'start_date': start})


FIRST_NAMES = [
    "Aino", "Eero", "Helmi", "Juho", "Kaisa", "Lauri", "Minna", "Niko",
    "Outi", "Pasi", "Riikka", "Sami", "Tiina", "Ville", "Anu", "Jari",
    "Leena", "Markku", "Paula", "Timo", "Heidi", "Kari", "Satu", "Olli",
    "Elina", "Antti", "Johanna", "Petri", "Marja", "Tapio",
    ]
LAST_NAMES = [
    "Demo-Heikkinen", "Demo-Karjalainen", "Demo-Komulainen",
    "Demo-Kemppainen", "Demo-Huotari", "Demo-Pulkkinen", "Demo-Korhonen",
    "Demo-Tervo", "Demo-Moilanen", "Demo-Pääkkönen",
    ]
MUNICIPALITY_CYCLE = ['205', '765', '290', '578', '777', '620', '697', '105']

# The demo's 30 clients: 10 AVAIN carers (7 converted, the first three of
# them partly; 3 with an agreement only), 6 comparison clients and 14
# clients of the other groups with ordinary budgets (2 proposed, 1 draft)
AVAIN_CARERS = 10
AVAIN_CONVERTED = 7
COMPARISON_CLIENTS = 6
OTHER_CLIENTS = 14
OTHER_GROUPS = ['elderly', 'disabled', 'intellectual']
# category, quantity per month, unit cost
OTHER_SERVICES = {
    'elderly': [('cleaning', '4.00', '42.00'), ('meals', '20.00', '11.00')],
    'disabled': [('escort', '6.00', '38.00'),
        ('transport', '80.00', '2.50')],
    'intellectual': [('leisure', '8.00', '38.00'),
        ('companionship', '6.00', '35.00')],
    }


def client_values(index, group_codes, comparison=False):
    P = pool()
    Municipality = P.get('hb.municipality')
    Group = P.get('hb.customer.group')
    code = MUNICIPALITY_CYCLE[index % len(MUNICIPALITY_CYCLE)]
    municipality, = Municipality.search([('code', '=', code)])
    birth = dt.date(1960 + (index * 7) % 35, 1 + index % 12,
        1 + (index * 3) % 28)
    return {
        'name': '%s %s' % (FIRST_NAMES[index % len(FIRST_NAMES)],
            LAST_NAMES[index % len(LAST_NAMES)]),
        'hb_client': True,
        'hb_hetu': temporary_hetu(birth, 900 + index),
        'hb_municipality': municipality.id,
        'hb_customer_groups': [('add', [
                    g.id for g in Group.search([
                            ('code', 'in', group_codes)])])],
        'hb_mobile': '+35850%07d' % (7000100 + index),
        'avain_comparison': comparison,
        'hb_own_worker': demo_user(
            'sanna' if index % 2 else 'mikko').id,
        }


def agreed_plan(client, start, end, services):
    "Create and agree the client plan with services and a met checklist"
    P = pool()
    Plan = P.get('hb.plan')
    Category = P.get('hb.service.category')
    from trytond.modules.hb_budget.plan import CRITERIA
    plan, = Plan.create([{
                'client': client.id,
                'valid_from': start,
                'valid_to': end,
                'next_review': end - relativedelta(months=1),
                'needs': "Arvioitu yhdessä asiakkaan kanssa.",
                'goals': "Arjen sujuminen kotona omien valintojen mukaan.",
                'services': [('create', [{
                                'category': Category.search([
                                        ('code', '=', code)])[0].id,
                                'quantity': Decimal(quantity),
                                'unit_cost': Decimal(cost),
                                'avain_days_off': bool(days_off),
                                } for code, quantity, cost, *days_off
                            in services])],
                'checklist': [('create', [{
                                'criterion': criterion, 'answer': 'yes',
                                'note': "Arvioitu asiakkaan kanssa.",
                                } for criterion, _ in CRITERIA])],
                }])
    Plan.agree([plan])
    return plan


@contextmanager
def as_user(login):
    user = demo_user(login)
    with Transaction().set_user(user.id), Transaction().set_context(
            company=Transaction().context['company']):
        yield user


def load_clients():
    """Create the clients with their plans; convert the days off of the
    AVAIN carers (as their own-workers) and approve the decisions (as the
    supervisor); give the other clients ordinary budgets"""
    P = pool()
    Party = P.get('party.party')
    Agreement = P.get('hb.avain.agreement')
    Decision = P.get('hb.decision')
    Line = P.get('hb.decision.line')
    Category = P.get('hb.service.category')
    _, start, end = demo_dates()
    existing = {p.hb_hetu for p in Party.search([
                ('hb_client', '=', True), ('hb_hetu', '!=', None)])}
    family_help, = Category.search([('code', '=', 'family-home-help')])
    support, = Category.search([('code', '=', 'home-help-support')])

    to_approve = []
    for index in range(AVAIN_CARERS):
        values = client_values(index, ['avain'])
        if values['hb_hetu'] in existing:
            continue
        carer, = Party.create([values])
        child_birth = dt.date(2012 + index % 8, 1 + (index * 5) % 12, 10)
        child, = Party.create([{
                    'name': '%s (lapsi) %s' % (
                        ['Eetu', 'Iida', 'Onni', 'Lilja', 'Veeti'][
                            index % 5], LAST_NAMES[index % len(LAST_NAMES)]),
                    }])
        binding = index % 3 == 1
        days_off = 3 if binding else 2
        plan = agreed_plan(carer, start, end,
            [('family-home-help', '%d.00' % days_off, '100.00', True)])
        agreement, = Agreement.create([{
                    'carer': carer.id,
                    'child': child.id,
                    'binding': binding,
                    'days_off': days_off,
                    'valid_from': start,
                    'notes': "Lapsi %s." % child_birth.year,
                    'care_plan_reference': 'HPS-%04d' % (index + 1),
                    }])
        if index >= AVAIN_CONVERTED:
            continue
        # The first three keep one day as a traditional day off
        days = days_off - 1 if index < 3 else days_off
        monthly = Decimal(days * 100)
        if index % 2:
            allocation = {family_help: monthly}
        else:
            allocation = {family_help: monthly - Decimal('100.00'),
                support: Decimal('100.00')}
            allocation = {k: v for k, v in allocation.items() if v}
        with as_user('sanna' if index % 2 else 'mikko'):
            decision, _ = Agreement(agreement.id).convert_days(
                start, start + relativedelta(months=6, days=-1), days,
                allocation, plan=plan)
        to_approve.append(decision.id)

    for index in range(OTHER_CLIENTS):
        number = AVAIN_CARERS + COMPARISON_CLIENTS + index
        group = OTHER_GROUPS[index % len(OTHER_GROUPS)]
        values = client_values(number, [group])
        if values['hb_hetu'] in existing:
            continue
        client, = Party.create([values])
        plan = agreed_plan(client, start, end, OTHER_SERVICES[group])
        decision = Decision(
            company=Transaction().context['company'], client=client,
            plan=plan, start_date=start, end_date=end, value_method='cost')
        decision.on_change_client()
        amounts = decision.compute_category_amounts()
        decision.lines = [Line(category=c, amount=a)
            for c, a in sorted(amounts.items(), key=lambda i: i[0].code)]
        decision.amount = sum(amounts.values(), Decimal(0))
        decision.save()
        if index == OTHER_CLIENTS - 1:
            continue  # left as a draft
        with as_user('sanna' if index % 2 else 'mikko'):
            Decision.propose([Decision(decision.id)])
        if index < OTHER_CLIENTS - 3:
            to_approve.append(decision.id)

    with as_user('pirjo'):
        for decision_id in to_approve:
            decision = Decision(decision_id)
            if decision.state == 'proposed':
                Decision.approve([decision])


def load_comparison():
    """The comparison clients of the AVAIN group and what their usual
    services cost each month of the pilot so far"""
    P = pool()
    Party = P.get('party.party')
    Cost = P.get('hb.avain.comparison.cost')
    Category = P.get('hb.service.category')
    today, start, _ = demo_dates()
    categories = {c.code: c for c in Category.search([
                ('code', 'in', ['family-home-help', 'childcare',
                        'cleaning'])])}
    existing = {p.hb_hetu for p in Party.search([
                ('hb_client', '=', True), ('hb_hetu', '!=', None)])}
    costs = []
    for index in range(COMPARISON_CLIENTS):
        number = AVAIN_CARERS + index
        values = client_values(number, ['avain'], comparison=True)
        if values['hb_hetu'] in existing:
            continue
        client, = Party.create([values])
        month = start
        while month <= today:
            # The usual days off as service vouchers (€100 a day) and
            # some family home help
            costs.append(Cost(
                    client=client, month=month,
                    category=categories['family-home-help'],
                    amount=Decimal(200 + 100 * (index % 2)) + Decimal(
                        '52.00') * (index % 3),
                    description="Omaishoidon vapaat palveluseteleinä"))
            if index % 2 == 0:
                costs.append(Cost(
                        client=client, month=month,
                        category=categories['cleaning'],
                        amount=Decimal('84.00'),
                        description="Kotisiivous"))
            month += relativedelta(months=1)
    Cost.save(costs)


def load_charges():
    """A few weeks of charges by the AVAIN carers and the other clients at
    the providers (confirmed as on the client's own page), one refunded.
    Each has a demo idempotency key, so loading again charges nothing."""
    P = pool()
    try:
        Charge = P.get('hb.charge')
    except KeyError:
        return
    if not hasattr(Charge, 'request'):
        return
    Budget = P.get('hb.budget')
    Product = P.get('product.product')
    Template = P.get('product.template')
    today, start, _ = demo_dates()
    budgets = Budget.search([('state', '=', 'active')],
        order=[('id', 'ASC')])
    products = Product.search([
            ('template.hb_state', '=', 'approved'),
            ('template.hb_provider', '!=', None),
            ], order=[('id', 'ASC')])
    number = 0
    for index, budget in enumerate(budgets):
        client = budget.client
        for week in range(4):
            date = today - dt.timedelta(days=7 * week + index % 5)
            if date < budget.start_date:
                continue
            candidates = []
            # the one coverage rule, as the charge applies it
            covered = set(Template.search(Template.hb_coverage_domain(
                        client.hb_municipality, client.hb_customer_groups,
                        date=date)))
            for product in products:
                template = product.template
                line = Charge._budget_line(budget, template.hb_category)
                if not (line and line.amount and template in covered):
                    continue
                candidates.append(product)
            if not candidates:
                break
            product = candidates[(index + week) % len(candidates)]
            quantity = 1 if product.template.hb_unit in {
                'km', 'piece'} else 2
            if product.template.hb_unit == 'km':
                quantity = 20
            elif product.template.hb_unit == 'piece':
                quantity = 5
            number += 1
            key = 'demo-%s-%d' % (client.hb_hetu, week)
            existing = Charge.search([('idempotency_key', '=', key)])
            if existing:
                continue
            charge, created = Charge.request(
                product.template.hb_provider, client.hb_mobile,
                [(product.id, quantity)], idempotency_key=key, date=date)
            if created:
                Charge.confirm(charge, check_code=False)
                if number == 3:
                    Charge.make_refund(Charge(charge.id),
                        Charge(charge.id).lines[0].unit_price,
                        "Palvelu peruttiin osittain")


def load_portal_passwords():
    """Give the providers' portal logins the password in the environment
    variable HB_DEMO_PASSWORD (the demo command sets it to the admin
    password it generated) so that the portal can be tried"""
    password = demo_password()
    if not password:
        return
    WebUser = pool().get('web.user')
    users = WebUser.search([
            ('email', 'like', 'demo-%@example.com'),
            ('password_hash', '=', None),
            ])
    for user in users:
        user.password = password
        user.reset_password_token = None
        user.reset_password_token_expire = None
    WebUser.save(users)


def load_billing():
    """The wellbeing area's bank account and SEPA payment journal, then
    the vendor bills of the charges up to a week ago (posted) and their
    payment by SEPA credit transfer: done once, on the first load"""
    P = pool()
    try:
        Billing = P.get('hb.billing')
        PaymentRun = P.get('hb.payment.run')
    except KeyError:
        return
    Bank = P.get('bank')
    BankAccount = P.get('bank.account')
    Party = P.get('party.party')
    Journal = P.get('account.payment.journal')
    Configuration = P.get('hb.configuration')
    Company = P.get('company.company')
    company = Company(Transaction().context['company'])
    config = Configuration(1)
    if config.hb_payment_journal:
        load_payment_clearing(config.hb_payment_journal)
        return
    bank_code, bic = BANKS[0]
    banks = Bank.search([('bic', '=', bic)], limit=1)
    if banks:
        bank, = banks
    else:
        bank_party, = Party.create([{'name': "Demo-pankki %s" % bic}])
        bank, = Bank.create([{'party': bank_party.id, 'bic': bic}])
    account, = BankAccount.create([{
                'bank': bank.id,
                'owners': [('add', [company.party.id])],
                'currency': company.currency.id,
                'numbers': [('create', [{
                                'type': 'iban',
                                'number': finnish_iban(
                                    '%s%013d' % (bank_code, 1000001)),
                                }])],
                }])
    journal = Journal(
        name="HB-palveluntuottajien maksut", company=company,
        currency=company.currency, process_method='sepa',
        sepa_bank_account_number=account.numbers[0],
        sepa_payable_flavor='pain.001.001.03',
        sepa_receivable_flavor='pain.008.001.02')
    journal.save()
    load_payment_clearing(journal)
    config.hb_payment_journal = journal
    config.hb_invoice_post = True
    config.save()
    today, _, _ = demo_dates()
    if Billing.bill_providers(end_date=today - dt.timedelta(days=7)):
        PaymentRun.pay_vendor_bills(date=today)


def load_payment_clearing(journal):
    """The clearing account and journal of the provider payments: with
    them the payments the bank confirms settle the bills (posted daily)"""
    if journal.clearing_account:
        return
    P = pool()
    Account = P.get('account.account')
    ModelData = P.get('ir.model.data')
    company = journal.company
    cash, = Account.search([
            ('company', '=', company.id), ('type.assets', '=', True),
            ('type.receivable', '=', False),
            ('type.statement', '=', 'balance'),
            ('party_required', '=', False), ('closed', '!=', True),
            ], order=[('code', 'ASC'), ('id', 'ASC')], limit=1)
    account = Account(
        name="HB-maksut matkalla", code='1199', company=company,
        type=cash.type, parent=cash.parent, reconcile=True)
    account.save()
    journal.clearing_account = account
    journal.clearing_journal = ModelData.get_id('account', 'journal_cash')
    journal.clearing_posting_delay = dt.timedelta(0)
    journal.save()


def load_ratings_and_gaps():
    "Ratings of the services used and some unmet needs (service gaps)"
    P = pool()
    Rating = P.get('hb.service.rating')
    Gap = P.get('hb.service.gap')
    Municipality = P.get('hb.municipality')
    Group = P.get('hb.customer.group')
    Category = P.get('hb.service.category')
    if Gap.search([('description', 'like', 'Demo:%')], limit=1):
        return
    try:
        Charge = P.get('hb.charge')
    except KeyError:
        Charge = None
    ratings = []
    if Charge is not None:
        seen = set()
        for index, charge in enumerate(Charge.search([
                        ('kind', '=', 'charge'),
                        ('state', '=', 'captured'),
                        ], order=[('id', 'ASC')])):
            template = charge.lines[0].product.template
            if (charge.client, template) in seen:
                continue
            seen.add((charge.client, template))
            ratings.append(Rating(
                    client=charge.client, service=template,
                    rating=[5, 4, 5, 3, 4][index % 5], date=charge.date,
                    comment=["Joustavaa ja ystävällistä palvelua.",
                        "Hyvä, tulivat sovittuun aikaan.", None,
                        "Toimi, mutta aikataulut vaihtelivat.", None][
                        index % 5]))
    Rating.save(ratings)
    avain, = Group.search([('code', '=', 'avain')])
    elderly, = Group.search([('code', '=', 'elderly')])
    gaps = [
        ('620', avain, 'childcare', 'own_worker',
            "Demo: Puolangalla ei ole lastenhoitoa kotiin iltaisin."),
        ('105', avain, 'leisure', 'client',
            "Demo: Erityislapselle sopivaa harrastustukea ei löydy."),
        ('777', avain, 'family-home-help', 'catalogue',
            "Demo: Lapsiperheen kotipalvelua haettiin Suomussalmelta."),
        ('290', elderly, 'snow-clearing', 'catalogue',
            "Demo: Lumitöitä haettiin Kuhmosta."),
        ]
    records = []
    for code, group, category, source, description in gaps:
        municipality, = Municipality.search([('code', '=', code)])
        category, = Category.search([('code', '=', category)])
        records.append(Gap(
                municipality=municipality, customer_group=group,
                category=category, source=source,
                description=description))
    Gap.save(records)


# A client of sanna's waiting for a plan, a provider waiting for approval
WAITING_CLIENT = 31
APPLICANT = ("Vuokatin Hoivapalvelut Oy", 1111112, "Sotkamo",
    ['765', '205'], ['elderly', 'disabled'],
    [("Kotisiivous", 'cleaning', '39.00'),
        ("Asiointiapu", 'errands', '35.00')])
PENDING_CHARGE_KEY = 'demo-pending-charge'


def load_waiting_work():
    """Work waiting for each role (README's demo users): a draft plan for
    sanna, a provider application and a bank-account change to check, and
    a charge the client has not confirmed yet; the decisions proposed to
    the supervisor and the charges not yet billed are made by
    load_clients and load_charges"""
    _load_draft_plan()
    _load_application()
    _load_bank_change()
    _load_pending_charge()


def _load_draft_plan():
    P = pool()
    Party = P.get('party.party')
    Plan = P.get('hb.plan')
    values = client_values(AVAIN_CARERS + COMPARISON_CLIENTS + OTHER_CLIENTS
        + WAITING_CLIENT, ['elderly'])
    if Party.search([('hb_hetu', '=', values['hb_hetu'])]):
        return
    client, = Party.create([values])
    today, _, end = demo_dates()
    Plan.create([{
                'client': client.id,
                'valid_from': today,
                'valid_to': end,
                'needs': "Kotona asumisen tuki: siivous ja kauppa-asiointi.",
                'goals': "Asiakas asuu kotona ja valitsee itse palvelunsa.",
                }])


def _load_application():
    P = pool()
    Application = P.get('hb.provider.application')
    Municipality = P.get('hb.municipality')
    Group = P.get('hb.customer.group')
    Category = P.get('hb.service.category')
    name, number, city, codes, group_codes, services = APPLICANT
    ytunnus = provider_business_id(number)
    if Application.search([('business_id', '=', ytunnus)]):
        return
    bank, bic = BANKS[1]
    application, = Application.create([{
                'name': name,
                'business_id': ytunnus,
                'street': 'Kylpyläntie 3',
                'postal_code': '88610',
                'city': city,
                'contact_name': "Hakija Demo",
                'email': 'demo-applicant@example.com',
                'phone': '+358 40 700 0099',
                'iban': finnish_iban('%s%013d' % (bank, 4099001)),
                'bic': bic,
                'language': 'fi',
                'rulebook_accepted': True,
                'description': "%s: kotipalveluja Sotkamossa." % name,
                'municipalities': [('add', [m.id for m in
                                Municipality.search([
                                        ('code', 'in', codes)])])],
                'customer_groups': [('add', [g.id for g in Group.search([
                                        ('code', 'in', group_codes)])])],
                'services': [('create', [{
                                'name': service,
                                'category': Category.search([
                                        ('code', '=', code)])[0].id,
                                'unit': Category.search([
                                        ('code', '=', code)])[0].unit,
                                'price': Decimal(price),
                                'languages': ['fi'],
                                'description': "%s, %s." % (service, city),
                                } for service, code, price in services])],
                }])
    Application.submit([application])


def _load_bank_change():
    P = pool()
    Application = P.get('hb.provider.application')
    BankChange = P.get('hb.provider.bank.change')
    applications = Application.search([
            ('state', '=', 'approved')], order=[('id', 'ASC')], limit=1)
    if not applications or BankChange.search([], limit=1):
        return
    party = applications[0].party
    bank, bic = BANKS[2]
    BankChange.create([{
                'party': party.id,
                'iban': finnish_iban('%s%013d' % (bank, 4088001)),
                'bic': bic,
                }])


def _load_pending_charge():
    """A charge requested at a provider for the first AVAIN carer
    (+358507000100), valid for a month in the demo: the client page shows
    it, the code is in the SMS outbox"""
    P = pool()
    try:
        Charge = P.get('hb.charge')
    except KeyError:
        return
    if not hasattr(Charge, 'request') or Charge.search([
                ('idempotency_key', '=', PENDING_CHARGE_KEY)]):
        return
    Budget = P.get('hb.budget')
    Product = P.get('product.product')
    Template = P.get('product.template')
    today, _, _ = demo_dates()
    budgets = Budget.search([
            ('client.hb_mobile', '=', '+358507000100'),
            ('state', '=', 'active'),
            ], limit=1)
    if not budgets:
        return
    budget, = budgets
    client = budget.client
    for product in Product.search([
                ('template', 'where', Template.hb_coverage_domain(
                        client.hb_municipality, client.hb_customer_groups,
                        date=today)),
                ], order=[('id', 'ASC')]):
        template = product.template
        line = Charge._budget_line(budget, template.hb_category)
        if line and line.amount:
            break
    else:
        return
    charge, _ = Charge.request(template.hb_provider, client.hb_mobile,
        [(product.id, 1)], idempotency_key=PENDING_CHARGE_KEY, date=today)
    Charge.write([charge], {
            'expires_at': dt.datetime.now() + dt.timedelta(days=30)})
