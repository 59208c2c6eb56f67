# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""E-invoices of the self-billed bills (issue 18, item 3): EN 16931 UBL,
Peppol BIS Billing 3.0, made by Tryton's edocument_ubl.

A self-billed bill is the provider's invoice to the wellbeing area written
by the wellbeing area (AVL 209 f §). edocument_ubl already renders a
supplier invoice that way round (its party, the provider, is the
AccountingSupplierParty and the company the AccountingCustomerParty, with
the type code 389, self-billed invoice, of UNTDID 1001); this extension:

- renders a self-billed bill with the Peppol BIS 3 CustomizationID and
  ProfileID by default (also from Tryton's own "E-document" action);
- gives the provider's IBAN as the PaymentMeans (58, SEPA credit
  transfer), in the document only: the bill gets no payment means, which
  account_payment would check against the payments;
- writes a Y-tunnus as an EndpointID (EAS 0037) with its 8 digits;
- takes the provider's VAT identifier (BT-31, required by EN 16931 for
  standard rated and exempt lines) from its identifiers, or else the
  Finnish VAT number of its Y-tunnus (FI and its digits);
- gives as prepaid the amount paid of the bill (edocument_ubl's sum of
  the lines to pay is minus the total on a supplier invoice);
- leaves out the embedded invoice report (Peppol allows only PDF and a
  few other types; without LibreOffice the report is an OpenDocument);
- refuses, with a translated error, a bill whose taxes lack the UNECE tax
  type and category codes (VAT; S, E, ...) that EN 16931 needs;
- keeps the document as an attachment of the bill when it is posted
  (finance sees it in sao; the portal serves it to the provider)."""
import logging

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.tools import cached_property

from .exceptions import EinvoiceError

logger = logging.getLogger(__name__)

PEPPOL = 'peppol-bis-3'
UBL_TEMPLATE = '2'
SEPA_CREDIT_TRANSFER = '58'
SELF_BILLED_INVOICE = '389'


class EdocumentInvoice(metaclass=PoolMeta):
    __name__ = 'edocument.ubl.invoice'

    @property
    def hb_self_billed(self):
        return bool(self.invoice.type == 'in'
            and getattr(self.invoice, 'hb_self_billing', False))

    def render(self, template, specification=None):
        if self.hb_self_billed:
            if specification is None:
                specification = PEPPOL
            self.hb_check_taxes()
            if not self.invoice.payment_means:
                # In memory only: the document's payment means
                self.invoice.payment_means = self.hb_payment_means()
        return super().render(template, specification=specification)

    def hb_check_taxes(self):
        for line in self.invoice.lines:
            for tax in getattr(line, 'taxes', None) or []:
                if not (tax.unece_code and tax.unece_category_code):
                    raise EinvoiceError(gettext(
                            'hb_voucher.msg_einvoice_tax_codes',
                            tax=tax.rec_name,
                            invoice=self.invoice.rec_name))

    def hb_payment_means(self):
        "The provider's IBAN as the document's payment means"
        pool = Pool()
        PaymentMean = pool.get('account.invoice.payment.mean')
        account = getattr(self.invoice.party, 'hb_bank_account', None)
        if account and any(n.type == 'iban' for n in account.numbers):
            return [PaymentMean(invoice=self.invoice, instrument=account)]
        return []

    @cached_property
    def type_code(self):
        if self.hb_self_billed:
            return SELF_BILLED_INVOICE
        return super().type_code

    @property
    def additional_documents(self):
        if self.hb_self_billed:
            return iter([])
        return super().additional_documents

    @cached_property
    def prepaid_amount(self):
        # edocument_ubl sums the balance of the lines to pay, which for a
        # supplier invoice is minus its total: what the bill had paid
        if self.hb_self_billed:
            return self.invoice.total_amount - self.invoice.amount_to_pay
        return super().prepaid_amount

    @cached_property
    def accounting_supplier_tax_identifier(self):
        identifier = super().accounting_supplier_tax_identifier
        if self.hb_self_billed and not (
                identifier and getattr(identifier, 'unece_code', None)):
            identifier = hb_vat_identifier(self.invoice.party) or identifier
        return identifier


def hb_vat_identifier(party):
    """Return the VAT identifier of party: one of its identifiers with a
    UNECE tax code, else the Finnish VAT number of its Y-tunnus (unsaved)"""
    pool = Pool()
    Identifier = pool.get('party.identifier')
    for identifier in party.identifiers:
        if getattr(identifier, 'unece_code', None) == 'VAT':
            return identifier
    for identifier in party.identifiers:
        if identifier.type == 'fi_ytunnus':
            digits = ''.join(c for c in identifier.code if c.isdigit())
            return Identifier(party=party, type='eu_vat',
                code='FI' + digits)


class Identifier(metaclass=PoolMeta):
    __name__ = 'party.identifier'

    @property
    def eas(self):
        # A Y-tunnus as an electronic address (EAS 0037) is written as
        # its 8 digits, as PartyLegalEntity's CompanyID is (edocument_ubl
        # writes the code as typed, with the hyphen)
        if self.type == 'fi_ytunnus' and self.code_compact:
            return self.code_compact
        return super().eas


class PaymentMean(metaclass=PoolMeta):
    __name__ = 'account.invoice.payment.mean'

    @property
    def unece_code(self):
        # The self-billed bill is the provider's invoice: paid by credit
        # transfer to the provider's IBAN (the supplier invoice's default
        # 31, debit transfer, is from the payer's point of view)
        if (self.invoice and self.invoice.type == 'in'
                and getattr(self.invoice, 'hb_self_billing', False)
                and self.instrument
                and self.instrument.__name__ == 'bank.account'):
            return SEPA_CREDIT_TRANSFER
        return super().unece_code


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    def hb_einvoice(self):
        """Return the UBL document (bytes) and its file name of the
        self-billed bill (posted or paid)"""
        pool = Pool()
        Edocument = pool.get('edocument.ubl.invoice')
        edocument = Edocument(self)
        return edocument.render(UBL_TEMPLATE), edocument.filename

    def hb_einvoice_attachment(self):
        "Return the bill's stored UBL attachment, None if there is none"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        attachments = Attachment.search([
                ('resource', '=', str(self)),
                ('name', '=', self.hb_einvoice_name),
                ], order=[('id', 'DESC')], limit=1)
        return attachments[0] if attachments else None

    @property
    def hb_einvoice_name(self):
        return 'UBL-%s.xml' % ''.join(
            c for c in (self.number or str(self.id))
            if c.isalnum() or c in '-_')

    @classmethod
    def post(cls, invoices):
        super().post(invoices)
        cls.hb_attach_einvoices([i for i in invoices
                if i.type == 'in' and i.hb_self_billing
                and i.state in {'posted', 'paid'}])

    @classmethod
    def hb_attach_einvoices(cls, invoices):
        """Keep the UBL document of each self-billed bill as its
        attachment; a bill whose document cannot be made (its taxes lack
        the UNECE codes) is posted without it and logged"""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        attachments = []
        for invoice in invoices:
            if invoice.hb_einvoice_attachment():
                continue
            try:
                data, _ = invoice.hb_einvoice()
            except EinvoiceError as exception:
                logger.warning("no e-invoice of %s: %s",
                    invoice.rec_name, exception.message)
                continue
            attachments.append(Attachment(
                    resource=invoice, name=invoice.hb_einvoice_name,
                    type='data', data=data))
        Attachment.save(attachments)
