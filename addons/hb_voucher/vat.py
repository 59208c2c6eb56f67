# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""VAT of the providers' services (issue 18, item 1) with Tryton's own
taxes and tax rules.

- each service category names the purchase tax of its services (the
  nearest category up the tree that has one): the general 25.5 % or a
  reduced rate; a category without one (and without a parent with one)
  bills without tax, as before;
- a social welfare service (the category's flag) of a provider that is in
  the supervision register on the service date is exempt (AVL 37 §): the
  settings' exemption tax rule (an account.tax.rule mapping the taxable
  taxes to the 0 % tax with its legal notice) is applied to the tax;
- the catalogue price is what the client pays, VAT included: the bill
  line's unit price is the price without tax (account.tax.reverse_compute)
  and the bill's tax amount per tax is the gross of its lines less their
  base, so that each bill's total is its charges' sum to the cent;
- the move of a taxed bill also takes its refundable VAT off the HB
  service expense and into the clearing account (Invoice.get_move): the
  bill clears exactly the tax-included amount its charges' sales put
  there, and the expense is the cost without the VAT refunded;
- hb.vat.purchase: exempt and taxable purchases per provider, month and
  tax (base, tax, total) for the wellbeing area's VAT refund claim."""
from decimal import Decimal

from sql import Literal
from sql.aggregate import Min, Sum
from sql.functions import Extract
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.product import round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction

ZERO = Decimal('0.00')


class ServiceCategory(metaclass=PoolMeta):
    __name__ = 'hb.service.category'

    hb_supplier_tax = fields.Many2One(
        'account.tax', "VAT", ondelete='RESTRICT',
        domain=[
            ('parent', '=', None),
            ('company', '=', Eval('context', {}).get('company', -1)),
            ['OR',
                ('group', '=', None),
                ('group.kind', 'in', ['purchase', 'both']),
                ],
            ],
        help="The VAT included in the prices of the category's services "
        "when they are not exempt. Empty: the parent category's.")
    hb_social_service = fields.Boolean(
        "Social Welfare Service",
        help="Exempt from VAT (AVL 37 §) when the provider is in the "
        "supervision register on the service date.")

    @classmethod
    def default_hb_social_service(cls):
        return True

    def get_hb_supplier_tax(self):
        "Return the purchase tax of the category or of its nearest parent"
        category = self
        while category:
            if category.hb_supplier_tax:
                return category.hb_supplier_tax
            category = category.parent


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    hb_supervision_entry = fields.Char(
        "Supervision Register Entry", size=100,
        help="The provider's entry in the register of social welfare "
        "and health care providers (Soteri).")
    hb_supervision_start = fields.Date(
        "Registered From",
        states={'required': Bool(Eval('hb_supervision_entry'))})
    hb_supervision_end = fields.Date(
        "Registered To",
        domain=[If(Eval('hb_supervision_end') & Eval('hb_supervision_start'),
                ('hb_supervision_end', '>=', Eval('hb_supervision_start')),
                ())],
        help="Empty: still registered.")

    def hb_supervised_on(self, date):
        "Tell if the provider is in the supervision register on date"
        return bool(self.hb_supervision_entry
            and self.hb_supervision_start
            and self.hb_supervision_start <= date
            and (not self.hb_supervision_end
                or date <= self.hb_supervision_end))


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    hb_exempt_tax_rule = fields.Many2One(
        'account.tax.rule', "VAT Exemption Rule (AVL 37 §)",
        domain=[
            ('company', '=', Eval('context', {}).get('company', -1)),
            ('kind', 'in', ['purchase', 'both']),
            ],
        help="The tax rule giving the exempt tax of social welfare "
        "services of supervised providers.")


class Billing(metaclass=PoolMeta):
    __name__ = 'hb.billing'

    @classmethod
    def _bill_line_taxes(cls, provider, product, date, settings=None):
        """Return the purchase taxes of the bill line of product (a
        catalogue service) of provider on date (settings: the HB settings
        record of the billing run)"""
        pool = Pool()
        Tax = pool.get('account.tax')
        config = (settings if settings is not None
            else pool.get('hb.configuration')(1))
        category = product.template.hb_category
        tax = category.get_hb_supplier_tax() if category else None
        if not tax:
            return []
        rule = config.hb_exempt_tax_rule
        if (rule and category.hb_social_service
                and provider.hb_supervised_on(date)):
            tax_ids = rule.apply(tax, {'date': date})
            if tax_ids:
                return Tax.browse(tax_ids)
        return [tax]

    @classmethod
    def _untaxed_unit_price(cls, unit_price, taxes, date):
        "Return the unit price without the taxes included in unit_price"
        pool = Pool()
        Tax = pool.get('account.tax')
        if not taxes:
            return unit_price
        return round_price(Tax.reverse_compute(unit_price, taxes, date))

    @classmethod
    def _include_taxes(cls, invoices, groups):
        """Set the tax amounts of the saved bills so that each bill's
        total is the sum of its charges: per tax, the gross of its lines
        less their base (VAT included in the catalogue prices)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceTax = pool.get('account.invoice.tax')
        to_write = []
        invoices = Invoice.browse([i.id for i in invoices])
        for invoice, charge_lines in zip(invoices, groups):
            gross = {}
            for line, members in zip(invoice.lines, charge_lines):
                if len(line.taxes) != 1:
                    continue
                tax, = line.taxes
                gross[tax] = gross.get(tax, ZERO) + sum(
                    (m.amount for m in members), ZERO)
            for tax, amount in gross.items():
                tax_lines = [t for t in invoice.taxes
                    if t.tax == tax and not t.manual]
                if not tax_lines:
                    continue
                difference = amount - sum(
                    (t.base + t.amount for t in tax_lines), ZERO)
                if not difference:
                    continue
                tax_line = max(tax_lines, key=lambda t: abs(t.base))
                to_write.extend(([tax_line], {
                            'amount': tax_line.amount + difference}))
        if to_write:
            InvoiceTax.write(*to_write)


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    def get_move(self):
        """The move of an HB bill (or of its credit note) also moves its
        refundable VAT from the HB service expense to the clearing
        account: the charges' sales credited the clearing account with the
        prices the clients pay (VAT included) and debited the expense with
        them, while the bill's lines debit the clearing account with the
        prices without VAT and its taxes debit the tax accounts. Without
        this transfer the clearing account would keep the VAT of taxed
        bills; with it the bill clears exactly what its charges put into
        the clearing account, and the expense is the purchases' cost
        without the VAT the wellbeing area gets back."""
        pool = Pool()
        MoveLine = pool.get('account.move.line')
        InvoiceTax = pool.get('account.invoice.tax')
        Configuration = pool.get('hb.configuration')
        if self.move or self.type != 'in':
            return super().get_move()
        move = super().get_move()
        config = Configuration(1)
        clearing = config.get_multivalue(
            'hb_clearing_account', company=self.company.id)
        expense = config.get_multivalue(
            'hb_expense_account', company=self.company.id)
        # HB bills and their credit notes (Invoice.credit does not mark
        # them hb_bill) book their lines on the clearing account
        if not (clearing and expense and any(
                    line.account == clearing for line in self.line_lines)):
            return move
        vat = sum((line.debit - line.credit for line in move.lines
                if isinstance(getattr(line, 'origin', None), InvoiceTax)
                and line.account != clearing), ZERO)
        if not vat:
            return move
        lines = []
        for account, amount in [(clearing, vat), (expense, -vat)]:
            line = MoveLine(account=account,
                debit=max(amount, ZERO), credit=max(-amount, ZERO),
                description=self.description)
            if account.party_required:
                line.party = self.party
            lines.append(line)
        move.lines = list(move.lines) + lines
        return move


class VATPurchase(ModelSQL, ModelView):
    "The HB purchases per provider, month and tax"
    __name__ = 'hb.vat.purchase'
    __string__ = "VAT of Personal Budget Purchases"

    company = fields.Many2One('company.company', "Company", readonly=True)
    provider = fields.Many2One('party.party', "Provider", readonly=True)
    year = fields.Integer("Year", readonly=True)
    month = fields.Integer("Month", readonly=True)
    tax = fields.Many2One('account.tax', "Tax", readonly=True)
    exempt = fields.Function(fields.Boolean(
            "Exempt", help="The tax's rate is 0 %."), 'get_exempt')
    base = fields.Numeric("Base", digits=(16, 2), readonly=True)
    tax_amount = fields.Numeric("Tax Amount", digits=(16, 2), readonly=True)
    total = fields.Numeric("Total", digits=(16, 2), readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('year', 'DESC'), ('month', 'DESC'), ('provider', 'ASC'),
            ('tax', 'ASC'), ('id', 'ASC'),
            ]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceTax = pool.get('account.invoice.tax')
        invoice = Invoice.__table__()
        invoice_tax = InvoiceTax.__table__()
        year = Extract('YEAR', invoice.invoice_date)
        month = Extract('MONTH', invoice.invoice_date)
        where = ((invoice.type == 'in')
            & (invoice.hb_bill == Literal(True))
            & invoice.state.in_(['posted', 'paid']))
        company = Transaction().context.get('company')
        if company:
            where &= invoice.company == company
        return invoice_tax.join(invoice,
            condition=invoice_tax.invoice == invoice.id
            ).select(
                Min(invoice_tax.id).as_('id'),
                invoice.company.as_('company'),
                invoice.party.as_('provider'),
                year.as_('year'),
                month.as_('month'),
                invoice_tax.tax.as_('tax'),
                Sum(invoice_tax.base).as_('base'),
                Sum(invoice_tax.amount).as_('tax_amount'),
                Sum(invoice_tax.base + invoice_tax.amount).as_('total'),
                where=where,
                group_by=[invoice.company, invoice.party, year, month,
                    invoice_tax.tax])

    def get_exempt(self, name):
        return bool(self.tax) and not self.tax.rate

    @classmethod
    def read(cls, ids, fields_names):
        # SQLite sums the amounts as floats
        result = super().read(ids, fields_names)
        for row in result:
            # PostgreSQL's EXTRACT gives numbers, SQLite's integers
            for name in ['year', 'month']:
                if row.get(name) is not None:
                    row[name] = int(row[name])
            for name in ['base', 'tax_amount', 'total']:
                if row.get(name) is not None:
                    row[name] = Decimal(str(row[name])).quantize(
                        Decimal('0.01'))
        return result
