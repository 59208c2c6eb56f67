# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The demo's VAT and self-billing (issue 18): the purchase taxes (25.5 %
general, 14 % and 10 % reduced, 0 % for social welfare services under
AVL 37 §) and the exemption tax rule, the general rate on the service
categories (window cleaning is not a social welfare service), every
other provider in the supervision register, and the self-billing
agreement in force, accepted by every provider: the demo month's bills
carry VAT and the mark "Itselaskutus". Run before load_billing."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

AGREEMENT_VERSION = '2026-1'
EXEMPT_NOTICE = ("Arvonlisäverolain 37 §:n mukainen sosiaalihuoltopalvelu, "
    "veroton.")
NOT_SOCIAL = {'window-cleaning'}


def load_finance():
    pool = Pool()
    try:
        pool.get('hb.vat.purchase')
    except KeyError:
        return
    Account = pool.get('account.account')
    Tax = pool.get('account.tax')
    TaxRule = pool.get('account.tax.rule')
    Category = pool.get('hb.service.category')
    Contract = pool.get('hb.provider.contract')
    WebUser = pool.get('web.user')
    Configuration = pool.get('hb.configuration')
    Date = pool.get('ir.date')
    company = Transaction().context['company']
    config = Configuration(1)
    if config.hb_exempt_tax_rule:
        return
    accounts = Account.search([
            ('company', '=', company), ('code', '=', '6.3.6')], limit=1)
    if not accounts:
        accounts = Account.search([
                ('company', '=', company), ('type', '!=', None),
                ('type.statement', '=', 'balance'),
                ('type.assets', '=', True),
                ('type.receivable', '=', False),
                ('party_required', '=', False), ('closed', '!=', True),
                ], order=[('code', 'ASC')], limit=1)
    account, = accounts

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
    config.hb_exempt_tax_rule = rule
    config.hb_self_billing_version = AGREEMENT_VERSION
    config.save()

    categories = Category.search([])
    for category in categories:
        if not category.parent:
            category.hb_supplier_tax = general
        category.hb_social_service = category.code not in NOT_SOCIAL
    Category.save(categories)

    today = Date.today()
    contracts = Contract.search([('state', '=', 'active')],
        order=[('id', 'ASC')])
    providers = []
    for contract in contracts:
        if contract.provider not in providers:
            providers.append(contract.provider)
    for index, provider in enumerate(providers):
        if index % 2 == 0:
            provider.hb_supervision_entry = 'SOTERI-DEMO-%03d' % (index + 1)
            provider.hb_supervision_start = today.replace(
                year=today.year - 3, month=1, day=1)
    pool.get('party.party').save(providers)
    for provider in providers:
        users = WebUser.search([('party', '=', provider.id)], limit=1)
        if users:
            Contract.accept_self_billing(provider, users[0])


# The settlement settings of the demo (issue 18, item 4): the payment days
# of ePassi's practice and its minimum payout
PAYMENT_DAYS = '1,8,16,24'
MINIMUM_PAYOUT = Decimal('50.00')


def load_settlement():
    """The payment days and the minimum payout in the settings, and one
    reconciliation run stored as run by the first finance user (issue 18,
    item 6). Run after the demo's payment runs (load_billing, load_claims):
    the settings apply to the scheduled runs from now on."""
    pool = Pool()
    try:
        Run = pool.get('hb.reconciliation.run')
    except KeyError:
        return
    Configuration = pool.get('hb.configuration')
    User = pool.get('res.user')
    Date = pool.get('ir.date')
    config = Configuration(1)
    if not config.hb_payment_days:
        config.hb_payment_days = PAYMENT_DAYS
        config.hb_minimum_payout = MINIMUM_PAYOUT
        config.save()
    if Run.search([], limit=1):
        return
    from .demo import USERS
    login = next(u[0] for u in USERS if u[2] == 'finance')
    user, = User.search([('login', '=', login)])
    today = Date.today()
    with Transaction().set_user(user.id):
        # the month so far (from the first of the previous month when the
        # month has just begun)
        start = (today - dt.timedelta(days=7)).replace(day=1)
        Run.make(start, today)
