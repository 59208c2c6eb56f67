# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Test helpers of issue 18 (VAT and self-billing)."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

EXEMPT_NOTICE = ("Arvonlisäverolain 37 §:n mukainen sosiaalihuoltopalvelu, "
    "veroton.")


def setup_vat(data, categories=('home_help',)):
    """Create the purchase taxes (25.5 % general, 14 % and 10 % reduced,
    0 % exempt social welfare service under AVL 37 §), the exemption tax
    rule in the settings and the general rate on categories; return a dict
    of them"""
    pool = Pool()
    Account = pool.get('account.account')
    Tax = pool.get('account.tax')
    TaxRule = pool.get('account.tax.rule')
    Configuration = pool.get('hb.configuration')
    company = Transaction().context['company']
    account, = Account.search([
            ('company', '=', company), ('code', '=', '6.3.6')], limit=1)

    def tax(name, rate, legal_notice=None):
        return Tax(name=name, description=name, type='percentage',
            rate=rate, company=company, invoice_account=account,
            credit_note_account=account, legal_notice=legal_notice,
            start_date=dt.date(2024, 9, 1))
    general = tax("ALV 25,5 %", Decimal('0.255'))
    reduced_14 = tax("ALV 14 %", Decimal('0.14'))
    reduced_10 = tax("ALV 10 %", Decimal('0.10'))
    exempt = tax("ALV 0 % sosiaalihuoltopalvelu (AVL 37 §)", Decimal(0),
        legal_notice=EXEMPT_NOTICE)
    Tax.save([general, reduced_14, reduced_10, exempt])
    rule, = TaxRule.create([{
                'name': "Sosiaalihuoltopalvelu (AVL 37 §)",
                'company': company, 'kind': 'purchase',
                'lines': [('create', [{'origin_tax': t.id, 'tax': exempt.id}
                            for t in [general, reduced_14, reduced_10]])],
                }])
    config = Configuration(1)
    config.hb_exempt_tax_rule = rule
    config.save()
    for name in categories:
        category = data[name]
        category.hb_supplier_tax = general
        category.save()
    return {'general': general, 'reduced_14': reduced_14,
        'reduced_10': reduced_10, 'exempt': exempt, 'rule': rule}


def supervise(party, start=None, entry='SOTERI-1'):
    "Record party in the supervision register from start (a year ago)"
    pool = Pool()
    Date = pool.get('ir.date')
    if start is None:
        start = Date.today() - dt.timedelta(days=365)
    party.hb_supervision_entry = entry
    party.hb_supervision_start = start
    party.save()


def require_self_billing(version='2026-1'):
    "Make the settings require the self-billing agreement of version"
    pool = Pool()
    Configuration = pool.get('hb.configuration')
    config = Configuration(1)
    config.hb_self_billing_version = version
    config.save()


def accept_self_billing(application):
    "The provider of application accepts the agreement in force"
    pool = Pool()
    Contract = pool.get('hb.provider.contract')
    return Contract.accept_self_billing(
        application.party, application.web_user)
