# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Vendor bills made from charges (hb.billing).

One supplier invoice per provider and run from its captured charges not
yet billed (Dr HB charges to be billed / Cr payable), made and posted
through account_invoice's own API (Invoice.save, Invoice.post), with one
bill line per service, unit price and service date (refunds on lines of
their own); each charge line links to its bill line and each charge to the
bill line of its first line. The charges are locked and linked in the
transaction that makes the bills: each charge is billed exactly once,
however often the task runs or if it crashes midway.

The bill lines carry no budget: the client's budget (its analytic account)
is on the expense line of the charge's posted sale; the bill only moves
the amount from the clearing account to the provider's payable account."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Null
from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, Model, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import BillingError

ZERO = Decimal('0.00')


def _decimal(value):
    "Return value (a Numeric column's value) as Decimal"
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


class BilledCharge:
    """A charge to bill as Billing._read_charges reads it: id, company,
    provider (records), date and lines (BilledLine)"""
    __slots__ = ('id', 'company', 'provider', 'date', 'lines')

    def __init__(self, id, company, provider, date):
        self.id = id
        self.company = company
        self.provider = provider
        self.date = date
        self.lines = []

    def __int__(self):
        return self.id


class BilledLine:
    """A charge line to bill: id, product (record), quantity, unit price
    and amount"""
    __slots__ = ('id', 'product', 'quantity', 'unit_price', 'amount')

    def __init__(self, id, product, quantity, unit_price, amount):
        self.id = id
        self.product = product
        self.quantity = quantity
        self.unit_price = unit_price
        self.amount = amount

    def __int__(self):
        return self.id


class Billing(Model):
    "The vendor bills of the providers, made from their charges"
    __name__ = 'hb.billing'
    __string__ = "Personal Budget Billing"

    @classmethod
    def _billable_domain(cls, start_date=None, end_date=None):
        domain = [
            ('state', 'in', ['captured', 'cancelled']),
            ('sale', '!=', None),
            ('invoice_line', '=', None),
            ]
        if start_date:
            domain.append(('date', '>=', start_date))
        if end_date:
            domain.append(('date', '<=', end_date))
        return domain

    @classmethod
    def bill_providers(cls, start_date=None, end_date=None, date=None,
            post=None):
        """Make the vendor bills of the captured charges of the period
        not yet billed (up to yesterday by default), posted when post is
        true (None: when the settings say so); return the bills"""
        pool = Pool()
        Date = pool.get('ir.date')
        Charge = pool.get('hb.charge')
        Invoice = pool.get('account.invoice')
        config = pool.get('hb.configuration')(1)
        today = Date.today()
        if end_date is None:
            end_date = today - dt.timedelta(days=1)
        if date is None:
            date = today
        if not config.hb_clearing_account:
            raise BillingError(gettext(
                    'hb_voucher.msg_billing_not_configured'))
        # The clearing account must hold what the bills take from it
        while Charge.post_sales():
            pass

        ids = cls._search_ids(cls._billable_domain(start_date, end_date))
        if not ids:
            return []
        Charge._lock_rows(ids)
        # Searched again after the lock: another run may have billed some
        charges = cls._read_charges(cls._search_ids([('id', 'in', ids)]
                + cls._billable_domain(start_date, end_date)))
        charges.sort(key=lambda c: (
                c.company.id, c.provider.id, c.date, c.id))
        # Providers whose charges may not be billed yet (e.g. without an
        # accepted self-billing agreement) are held and listed
        charges = cls._hold_charges(charges, date)
        if not charges:
            return []
        invoices = cls._bill(charges, start_date, end_date, date)
        if post is None:
            post = config.hb_invoice_post
        if post:
            cls.post_bills(invoices)
        return Invoice.browse(invoices)

    @classmethod
    def _search_ids(cls, domain):
        "Return the ids of the charges of domain (no records made)"
        Charge = Pool().get('hb.charge')
        cursor = Transaction().connection.cursor()
        cursor.execute(*Charge.search(domain, order=[], query=True))
        return [i for i, in cursor]

    @classmethod
    def _read_charges(cls, ids):
        """Return the charges of ids with their lines as BilledCharge and
        BilledLine, read in one query of HB's own tables per 1,000 charges
        (sorted by id, lines by id).

        Loading the day's charges and lines as records cost more than
        making the bills (issue 16's profile: trytond checks, for each
        record it makes, all the ids it was browsed with, and loads every
        column of the charge); the companies, providers and services are
        records, one per id."""
        pool = Pool()
        Charge = pool.get('hb.charge')
        ChargeLine = pool.get('hb.charge.line')
        Company = pool.get('company.company')
        Party = pool.get('party.party')
        Product = pool.get('product.product')
        charge, line = Charge.__table__(), ChargeLine.__table__()
        cursor = Transaction().connection.cursor()
        rows = []
        for sub_ids in grouped_slice(sorted(ids), backend.MAX_QUERY_PARAMS):
            cursor.execute(*charge.join(line, 'LEFT',
                    condition=line.charge == charge.id).select(
                    charge.id, charge.company, charge.provider, charge.date,
                    line.id, line.product, line.quantity, line.unit_price,
                    line.amount,
                    where=reduce_ids(charge.id, sub_ids),
                    order_by=[charge.id.asc, line.id.asc]))
            rows.extend(cursor)
        # one browse per model: the records read their fields together
        records = {}
        for Target, column in [(Company, 1), (Party, 2), (Product, 5)]:
            ids_ = sorted({r[column] for r in rows if r[column] is not None})
            records.update(((Target.__name__, r.id), r)
                for r in Target.browse(ids_))

        def record(Target, id_):
            return records[(Target.__name__, id_)]

        charges = {}
        for (charge_id, company, provider, date, line_id, product, quantity,
                unit_price, amount) in rows:
            if charge_id not in charges:
                if isinstance(date, str):
                    date = dt.date.fromisoformat(date)
                charges[charge_id] = BilledCharge(charge_id,
                    record(Company, company), record(Party, provider), date)
            if line_id is not None:
                charges[charge_id].lines.append(BilledLine(line_id,
                        record(Product, product), _decimal(quantity),
                        _decimal(unit_price), _decimal(amount)))
        return list(charges.values())

    @classmethod
    def _hold_charges(cls, charges, date):
        "Return the charges that may be billed on date (all by default)"
        return charges

    @classmethod
    def _bill_line_taxes(cls, provider, product, date, settings=None):
        "Return the taxes of the bill line of product on date (none)"
        return []

    @classmethod
    def _untaxed_unit_price(cls, unit_price, taxes, date):
        "Return the unit price without the taxes included in it"
        return unit_price

    @classmethod
    def _include_taxes(cls, invoices, groups):
        "Adjust the taxes of the saved bills to the charges' sums"
        pass

    @classmethod
    def post_bills(cls, invoices, size=100):
        """Post invoices in batches of size.

        Straight from draft (account_invoice's draft -> posted): post
        numbers the bills, stores their amounts and makes their moves as
        validate_invoice does; validating first (80 % of the posting's
        CPU in issue 16's profile) made post write the amounts and save
        each bill again."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        with Transaction().set_context(_skip_warnings=True):
            for sub_invoices in grouped_slice(invoices, size):
                Invoice.post(Invoice.browse(sub_invoices))

    @classmethod
    def _line_key(cls, charge, line):
        """The key of the bill line of the charge line: service, unit
        price, service date, whether a refund, and the charge line itself
        when its amount is rounded (the sum of rounded amounts may differ
        from the rounded amount of the summed quantity)"""
        exact = line.quantity * line.unit_price == line.amount
        return (line.product.id, line.unit_price, charge.date,
            line.quantity < 0, None if exact else line.id)

    @classmethod
    def _bill(cls, charges, start_date, end_date, date):
        """Make (save) the vendor bills of charges, sorted by company and
        provider, and link the charges and their lines to the bill lines;
        return the bills"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Charge = pool.get('hb.charge')
        ChargeLine = pool.get('hb.charge.line')
        Configuration = pool.get('hb.configuration')
        by_provider = defaultdict(list)
        for charge in charges:
            by_provider[(charge.company, charge.provider)].append(charge)
        invoices, groups = [], []
        journals, settings = {}, {}
        for (company, provider), provider_charges in by_provider.items():
            # the settings (accounts, journal) of the charges' company
            with Transaction().set_context(company=company.id):
                if company not in settings:
                    # one record a run: each read of a new settings record
                    # reads the singleton again (issue 16's profile)
                    settings[company] = Configuration(1)
                invoice, lines = cls._get_vendor_bill(company, provider,
                    provider_charges, start_date, end_date, date, journals,
                    settings=settings[company])
            invoices.append(invoice)
            groups.append(lines)
        Invoice.save(invoices)
        cls._include_taxes(invoices, groups)

        # each charge line links to its bill line, each charge to the bill
        # line of its first line (lines sorted by id)
        charge_of = {line.id: charge.id
            for charge in charges for line in charge.lines}
        line_args, first = [], {}
        for invoice, charge_lines in zip(invoices, groups):
            for invoice_line, lines in zip(invoice.lines, charge_lines):
                line_args.extend((ChargeLine.browse([int(x) for x in lines]),
                        {'invoice_line': invoice_line.id}))
                for line in lines:
                    charge_id = charge_of[line.id]
                    if (charge_id not in first
                            or line.id < first[charge_id][0]):
                        first[charge_id] = (line.id, invoice_line.id)
        by_invoice_line = defaultdict(list)
        for charge_id, (_, invoice_line) in first.items():
            by_invoice_line[invoice_line].append(charge_id)
        charge_args = []
        for invoice_line, charge_ids in sorted(by_invoice_line.items()):
            charge_args.extend((Charge.browse(sorted(charge_ids)),
                    {'invoice_line': invoice_line}))
        cls._write_links(ChargeLine, line_args)
        cls._write_links(Charge, charge_args)
        return invoices

    @classmethod
    def _write_links(cls, Model, args, size=500):
        """Write args ([records, values, ...]) of Model in calls of about
        size records: trytond browses the records of one write again to
        validate them, and each record it makes checks all the ids of its
        browse (quadratic in the records of one call)"""
        batch, count = [], 0
        for records, values in zip(args[::2], args[1::2]):
            batch.extend((records, values))
            count += len(records)
            if count >= size:
                Model.write(*batch)
                batch, count = [], 0
        if batch:
            Model.write(*batch)

    @classmethod
    def _get_vendor_bill(cls, company, provider, charges, start_date,
            end_date, date, journals=None, settings=None):
        """Return the unsaved vendor bill of provider for charges and the
        charge lines of each of its lines (settings: the HB settings record
        of the run, read in the company's context)"""
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        config = (settings if settings is not None
            else pool.get('hb.configuration')(1))
        invoice = cls._get_vendor_bill_header(company, provider,
            min(c.date for c in charges), start_date, end_date, date,
            journals=journals, settings=config)
        grouped = {}
        for charge in charges:
            for line in charge.lines:
                grouped.setdefault(
                    cls._line_key(charge, line), []).append(line)
        lines, charge_lines = [], []
        for key in sorted(grouped, key=lambda k: (
                    k[2], k[0], k[3], k[1], k[4] or 0)):
            _, unit_price, service_date, _, _ = key
            members = grouped[key]
            # No product on the line: account_invoice would check its
            # taxes against the product's accounting category, which HB
            # services have none of (the service is in the description)
            product = members[0].product
            quantity = sum((m.quantity for m in members), Decimal(0))
            # The catalogue price includes the VAT of the service
            taxes = cls._bill_line_taxes(provider, product, service_date,
                settings=config)
            # The client's identity (HETU, name) stays out of the bill
            line = InvoiceLine(
                invoice=invoice, company=company, type='line',
                currency=company.currency,
                account=config.hb_clearing_account,
                quantity=float(quantity), taxes=taxes,
                unit_price=cls._untaxed_unit_price(
                    unit_price, taxes, service_date),
                description='%s %s' % (
                    service_date.isoformat(), product.rec_name))
            lines.append(line)
            charge_lines.append(members)
        invoice.lines = lines
        return invoice, charge_lines

    @classmethod
    def _get_vendor_bill_header(cls, company, provider, first_date,
            start_date, end_date, date, journals=None, settings=None):
        """Return the unsaved vendor bill of provider, without lines
        (journals: {company: journal} found by earlier calls; settings: the
        HB settings record of the run)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        config = (settings if settings is not None
            else pool.get('hb.configuration')(1))
        lang = provider.lang.code if provider.lang else 'fi'
        with Transaction().set_context(language=lang):
            reference = gettext('hb_voucher.msg_bill_reference',
                start=start_date or first_date, end=end_date)
        invoice = Invoice(
            company=company, type='in', party=provider,
            invoice_address=provider.address_get(type='invoice'),
            currency=company.currency,
            account=provider.account_payable_used,
            invoice_date=date, reference=reference,
            description=reference, hb_bill=True)
        if config.hb_invoice_journal:
            invoice.journal = config.hb_invoice_journal
        elif journals is not None and company in journals:
            invoice.journal = journals[company]
        else:
            invoice.set_journal()
            if journals is not None:
                journals[company] = invoice.journal
        return invoice


class Charge(metaclass=PoolMeta):
    __name__ = 'hb.charge'

    # Delegates kept for the callers of the charge (tests, scripts)

    @classmethod
    def bill_providers(cls, start_date=None, end_date=None, date=None):
        return Pool().get('hb.billing').bill_providers(
            start_date=start_date, end_date=end_date, date=date)

    @classmethod
    def pay_vendor_bills(cls, date=None):
        return Pool().get('hb.payment.run').pay_vendor_bills(date=date)

    @classmethod
    def reconcile(cls, start_date=None, end_date=None):
        return Pool().get('hb.charge.reconciliation').reconcile(
            start_date=start_date, end_date=end_date)


class ChargeLine(metaclass=PoolMeta):
    __name__ = 'hb.charge.line'

    invoice_line = fields.Many2One(
        'account.invoice.line', "Vendor Bill Line", readonly=True,
        ondelete='RESTRICT',
        help="The line of the provider's vendor bill the line is on.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # the lines of a bill line (reconciliation, credit notes)
        cls._sql_indexes.add(Index(t, (t.invoice_line, Index.Range()),
                where=t.invoice_line != Null))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @property
    def hb_iban_number(self):
        "The IBAN number of the provider's verified payment account"
        if self.hb_bank_account:
            for number in self.hb_bank_account.numbers:
                if number.type == 'iban':
                    return number


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    hb_bill = fields.Boolean(
        "Personal Budget Bill", readonly=True,
        help="Made from the provider's personal budget charges.")

    @classmethod
    def default_hb_bill(cls):
        return False

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('hb_bill', False)
        return super().copy(invoices, default=default)


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['hb.charge']


class BillStart(ModelView):
    __name__ = 'hb.charge.bill.start'
    __string__ = "Make Vendor Bills"

    start_date = fields.Date("Start Date",
        help="Empty: every charge not yet billed up to the end date.")
    end_date = fields.Date("End Date", required=True)

    @classmethod
    def default_end_date(cls):
        return Pool().get('ir.date').today()


class Bill(Wizard):
    __name__ = 'hb.charge.bill'
    __string__ = "Make Vendor Bills"
    start = StateView('hb.charge.bill.start',
        'hb_voucher.charge_bill_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Make", 'bill', 'tryton-ok', default=True),
            ])
    bill = StateTransition()

    def transition_bill(self):
        pool = Pool()
        Billing = pool.get('hb.billing')
        Billing.bill_providers(self.start.start_date, self.start.end_date)
        return 'end'
