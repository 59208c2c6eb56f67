# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Kainuu demo data: the wellbeing area, its municipalities, customer groups
and service categories. Called by scripts/demo_data.py; idempotent.

All people and firms are fictional; HETUs use the 900-999 range only."""
from decimal import Decimal

from proteus import Model, Wizard

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
    load_company(config)
    load_master_data(config)
