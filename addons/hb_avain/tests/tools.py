# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Test data of the AVAIN pilot. All people are fictional; HETUs are
temporary codes (900-999)."""
import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from trytond.pool import Pool
from trytond.transaction import Transaction

from trytond.modules.hb_budget.plan import CRITERIA
from trytond.modules.hb_budget.tests.tools import temporary_hetu


def month_start(date=None, months=0):
    pool = Pool()
    Date = pool.get('ir.date')
    if date is None:
        date = Date.today()
    return date.replace(day=1) + relativedelta(months=months)


def month_end(date, months=1):
    "Return the last day of the period of months starting at date"
    return date + relativedelta(months=months) - dt.timedelta(days=1)


def configure_pilot(data, start, end, carry_over=True,
        categories=('home_help', 'meals')):
    "Set the pilot settings: AVAIN group, categories, dates"
    pool = Pool()
    Configuration = pool.get('hb.configuration')
    config = Configuration(1)
    config.avain_customer_group = data['avain']
    config.avain_categories = [data[c] for c in categories]
    config.avain_start_date = start
    config.avain_end_date = end
    config.avain_carry_over = carry_over
    config.save()
    return config


def create_client(data, individual, municipality='kajaani',
        groups=('avain',), name=None, mobile=None, comparison=False):
    pool = Pool()
    Party = pool.get('party.party')
    values = {
        'name': name or 'Omaishoitaja %d' % individual,
        'hb_client': True,
        'hb_hetu': temporary_hetu(individual=individual),
        'hb_municipality': data[municipality].id,
        'hb_customer_groups': [('add', [data[g].id for g in groups])],
        'avain_comparison': comparison,
        }
    if mobile:
        values['hb_mobile'] = mobile
    client, = Party.create([values])
    return client


def create_child(individual):
    pool = Pool()
    Party = pool.get('party.party')
    child, = Party.create([{
                'name': 'Lapsi %d' % individual,
                }])
    return child


def create_plan(data, client, start, end, category='home_help'):
    "Return an agreed, eligible plan of client for the period"
    pool = Pool()
    Plan = pool.get('hb.plan')
    plan, = Plan.create([{
                'company': data['company'].id,
                'client': client.id,
                'valid_from': start,
                'valid_to': end,
                'next_review': end,
                'needs': "Days off from caring for the child",
                'goals': "The carer can rest",
                'services': [('create', [{
                                'category': data[category].id,
                                'quantity': Decimal('2.00'),
                                'unit_cost': Decimal('100.00'),
                                }])],
                'checklist': [('create', [{
                                'criterion': c, 'answer': 'yes',
                                'note': "Assessed with the carer",
                                } for c, _ in CRITERIA])],
                }])
    Plan.agree([plan])
    return plan


def create_agreement(data, carer, child, start, end=None, days_off=2,
        binding=False):
    pool = Pool()
    Agreement = pool.get('hb.avain.agreement')
    agreement, = Agreement.create([{
                'company': data['company'].id,
                'carer': carer.id,
                'child': child.id,
                'days_off': days_off,
                'binding': binding,
                'valid_from': start,
                'valid_to': end,
                }])
    return agreement


def create_carer(data, individual, start, end, days_off=2, binding=False,
        municipality='kajaani', mobile=None, groups=('avain',)):
    "Return (carer, agreement) with an agreed plan over the period"
    carer = create_client(
        data, individual, municipality=municipality, mobile=mobile,
        groups=groups)
    child = create_child(individual)
    create_plan(data, carer, start, end)
    agreement = create_agreement(
        data, carer, child, start, days_off=days_off, binding=binding)
    return carer, agreement


def approve(decision):
    pool = Pool()
    Decision = pool.get('hb.decision')
    with Transaction().set_user(0):
        Decision.approve([decision])
    return Decision(decision.id).budget
