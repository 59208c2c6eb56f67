# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The demo's e-invoices (issue 18, item 3): what EN 16931 needs of the
demo data for the UBL of the self-billed bills (Peppol BIS 3):

- the UNECE codes of the HB purchase taxes (VAT; S for the taxable rates,
  E for the exempt social welfare service, AVL 37 §);
- the wellbeing area's Y-tunnus (fictional) and invoice address;
- Finland as the country of the wellbeing area's and the providers'
  addresses.

Run after load_finance and before load_billing: the bills posted then
keep their UBL as an attachment. A bill posted before (a demo database
loaded by an older version) gets its UBL here."""
from trytond.pool import Pool
from trytond.transaction import Transaction

# A fictional Y-tunnus (valid check digit) of the demo's wellbeing area
AREA_BUSINESS_ID = '3000002-8'


def load_einvoice():
    pool = Pool()
    try:
        pool.get('edocument.ubl.invoice')
        Configuration = pool.get('hb.configuration')
    except KeyError:
        return
    Tax = pool.get('account.tax')
    Company = pool.get('company.company')
    Contract = pool.get('hb.provider.contract')
    Country = pool.get('country.country')
    Identifier = pool.get('party.identifier')
    Address = pool.get('party.address')
    Invoice = pool.get('account.invoice')

    config = Configuration(1)
    taxes = {}
    if config.hb_exempt_tax_rule:
        for line in config.hb_exempt_tax_rule.lines:
            for tax, category in [(line.origin_tax, 'S'), (line.tax, 'E')]:
                if tax and not tax.unece_category_code:
                    tax.unece_code = 'VAT'
                    tax.unece_category_code = category
                    taxes[tax.id] = tax
    Tax.save(list(taxes.values()))

    countries = Country.search([('code', '=', 'FI')], limit=1)
    if countries:
        finland, = countries
    else:
        finland, = Country.create([{'name': "Suomi", 'code': 'FI'}])
    company = Company(Transaction().context['company'])
    party = company.party
    if not any(i.type == 'fi_ytunnus' for i in party.identifiers):
        Identifier.create([{'party': party.id, 'type': 'fi_ytunnus',
                    'code': AREA_BUSINESS_ID}])
    if not any(a.city for a in party.addresses):
        Address.create([{'party': party.id, 'street': "Sotkamontie 13",
                    'postal_code': '87100', 'city': "Kajaani",
                    'invoice': True}])
    parties = {party} | {c.provider for c in Contract.search([])}
    addresses = [a for p in parties for a in Address.search([
                ('party', '=', p.id), ('country', '=', None)])]
    if addresses:
        Address.write(addresses, {'country': finland.id})

    Invoice.hb_attach_einvoices(Invoice.search([
                ('type', '=', 'in'),
                ('hb_self_billing', '=', True),
                ('state', 'in', ['posted', 'paid']),
                ]))
