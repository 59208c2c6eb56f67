# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Self-billing (itselaskutus, issue 18 item 2).

The wellbeing area writes the providers' bills itself from their charges:
in VAT terms self-billing (AVL 209 f §), which needs a prior agreement
with each provider.

- the settings name the version of the self-billing agreement in force
  (empty: self-billing agreements not in use, bills made as before);
- the provider accepts it in the portal: the date, version and web user
  are recorded on its active contracts;
- billing holds the charges of providers without an accepted agreement
  of that version (hb.billing.hold lists them with the reason);
- each bill is marked "Itselaskutus" (description and comment, printed by
  the invoice report) with the provider as seller (the party of the
  supplier invoice);
- the provider sees its bills in the portal and may object to one within
  the settings' number of days: an open objection (hb.bill.objection)
  holds the bill's payment until finance clears it."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import BillingError

MAX_OBJECTION = 2000


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    hb_self_billing_version = fields.Char(
        "Self-Billing Agreement Version", size=20,
        help="The version of the self-billing agreement providers must "
        "have accepted before their charges are billed. Empty: no "
        "agreement required.")
    hb_self_billing_objection_days = fields.Integer(
        "Self-Billing Objection Days", required=True,
        domain=[('hb_self_billing_objection_days', '>=', 0)],
        help="Days after the bill's date during which the provider may "
        "object to a self-billed invoice.")

    hb_minimum_payout = fields.Numeric(
        "Minimum Payout", digits=(16, 2),
        domain=['OR',
            ('hb_minimum_payout', '=', None),
            ('hb_minimum_payout', '>=', 0),
            ],
        help="A provider owed less is not paid by the run: the amount is "
        "carried forward to the next run. Empty: no minimum.")

    @classmethod
    def default_hb_self_billing_objection_days(cls):
        return 14


class Contract(metaclass=PoolMeta):
    __name__ = 'hb.provider.contract'

    hb_self_billing_date = fields.Timestamp(
        "Self-Billing Accepted", readonly=True,
        help="When the provider accepted the self-billing agreement.")
    hb_self_billing_version = fields.Char(
        "Self-Billing Version", size=20, readonly=True)
    hb_self_billing_user = fields.Many2One(
        'web.user', "Self-Billing Accepted By", readonly=True,
        ondelete='RESTRICT')

    @classmethod
    def copy(cls, contracts, default=None):
        default = default.copy() if default is not None else {}
        for name in ['hb_self_billing_date', 'hb_self_billing_version',
                'hb_self_billing_user']:
            default.setdefault(name)
        return super().copy(contracts, default=default)

    @classmethod
    def accept_self_billing(cls, provider, web_user):
        """Record that web_user accepted for provider the self-billing
        agreement in force on the provider's active contracts; return
        them"""
        pool = Pool()
        config = pool.get('hb.configuration')(1)
        version = config.hb_self_billing_version
        contracts = cls.get_active(provider)
        if not version or not contracts:
            return []
        cls.write(contracts, {
                'hb_self_billing_date': dt.datetime.now(),
                'hb_self_billing_version': version,
                'hb_self_billing_user': web_user.id,
                })
        return contracts

    @classmethod
    def self_billing_accepted(cls, provider, date=None):
        """Tell if provider accepted the agreement in force on one of its
        contracts (True when no agreement is required)"""
        pool = Pool()
        config = pool.get('hb.configuration')(1)
        version = config.hb_self_billing_version
        if not version:
            return True
        return bool(cls.search([
                    ('provider', '=', provider),
                    ('state', 'in', ['active', 'suspended', 'terminated']),
                    ('hb_self_billing_version', '=', version),
                    ], limit=1))


class BillingHold(ModelSQL, ModelView):
    __name__ = 'hb.billing.hold'
    __string__ = "Held Provider Charges"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    provider = fields.Many2One(
        'party.party', "Provider", required=True, readonly=True)
    charges = fields.Integer("Charges", readonly=True)
    reason = fields.Selection([
            ('no_agreement', "No Accepted Self-Billing Agreement"),
            ], "Reason", required=True, readonly=True)
    reason_string = reason.translated('reason')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]


class Billing(metaclass=PoolMeta):
    __name__ = 'hb.billing'

    @classmethod
    def _hold_charges(cls, charges, date):
        pool = Pool()
        Contract = pool.get('hb.provider.contract')
        Hold = pool.get('hb.billing.hold')
        charges = super()._hold_charges(charges, date)
        accepted, held = {}, {}
        result = []
        for charge in charges:
            provider = charge.provider
            if provider not in accepted:
                accepted[provider] = Contract.self_billing_accepted(provider)
            if accepted[provider]:
                result.append(charge)
            else:
                key = (charge.company, provider)
                held[key] = held.get(key, 0) + 1
        if held:
            Hold.save([Hold(company=company, date=date, provider=provider,
                        charges=count, reason='no_agreement')
                    for (company, provider), count in held.items()])
        return result

    @classmethod
    def _get_vendor_bill_header(cls, company, provider, first_date,
            start_date, end_date, date, journals=None, settings=None):
        pool = Pool()
        config = (settings if settings is not None
            else pool.get('hb.configuration')(1))
        invoice = super()._get_vendor_bill_header(company, provider,
            first_date, start_date, end_date, date, journals=journals,
            settings=config)
        if config.hb_self_billing_version:
            lang = provider.lang.code if provider.lang else 'fi'
            with Transaction().set_context(language=lang):
                mark = gettext('hb_voucher.msg_self_billing_mark')
                invoice.comment = gettext(
                    'hb_voucher.msg_self_billing_comment',
                    seller=provider.rec_name,
                    version=config.hb_self_billing_version)
            invoice.description = '%s: %s' % (mark, invoice.description)
            invoice.hb_self_billing = True
        return invoice


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    hb_self_billing = fields.Boolean(
        "Self-Billing", readonly=True,
        help="A self-billed invoice: written by the buyer for the seller "
        "(the provider) under their self-billing agreement.")
    hb_objections = fields.One2Many(
        'hb.bill.objection', 'invoice', "Objections", readonly=True,
        states={'invisible': ~Eval('hb_self_billing')})
    hb_objection_deadline = fields.Function(fields.Date(
            "Objection Deadline",
            states={'invisible': ~Eval('hb_self_billing')}),
        'get_hb_objection_deadline')
    hb_payment_held = fields.Function(fields.Boolean(
            "Payment Held",
            help="An open objection of the provider holds the payment."),
        'get_hb_payment_held')

    @classmethod
    def default_hb_self_billing(cls):
        return False

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('hb_self_billing', False)
        default.setdefault('hb_objections')
        return super().copy(invoices, default=default)

    def get_hb_objection_deadline(self, name):
        pool = Pool()
        config = pool.get('hb.configuration')(1)
        if self.hb_self_billing and self.invoice_date:
            return self.invoice_date + dt.timedelta(
                days=config.hb_self_billing_objection_days or 0)

    def get_hb_payment_held(self, name):
        return any(o.state == 'open' for o in self.hb_objections)

    def hb_payment_sent(self):
        """Tell if a payment of the bill has gone to the bank: the bill is
        paid, a payment of it succeeded or the file of its payment group
        was released"""
        if self.state == 'paid':
            return True
        for line in self.lines_to_pay:
            for payment in line.payments:
                if payment.state == 'succeeded' or (
                        payment.state == 'processing' and payment.group
                        and payment.group.hb_sent_at):
                    return True
        return False

    def hb_may_object(self, date=None):
        """Tell if the provider may still object to the bill on date (also
        when its payment has gone: finance then settles the objection by a
        correcting bill)"""
        if date is None:
            date = Pool().get('ir.date').today()
        deadline = self.hb_objection_deadline
        return bool(self.hb_self_billing and deadline
            and self.state in {'posted', 'draft', 'validated', 'paid'}
            and date <= deadline
            and not self.hb_payment_held)


class Objection(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.bill.objection'
    __string__ = "Self-Billing Objection"

    invoice = fields.Many2One(
        'account.invoice', "Bill", required=True, readonly=True,
        ondelete='CASCADE', domain=[('hb_self_billing', '=', True)])
    provider = fields.Function(fields.Many2One(
            'party.party', "Provider"), 'get_provider',
        searcher='search_provider')
    text = fields.Text(
        "Objection", size=MAX_OBJECTION, required=True, readonly=True)
    web_user = fields.Many2One(
        'web.user', "Made By", readonly=True, ondelete='RESTRICT')
    made_at = fields.Timestamp("Made", readonly=True)
    payment_sent = fields.Function(fields.Boolean(
            "Payment Sent",
            help="The bill's payment had gone to the bank: finance settles "
            "the objection by a correcting bill."),
        'get_payment_sent')
    state = fields.Selection([
            ('open', "Open"),
            ('cleared', "Cleared"),
            ], "State", required=True, readonly=True, sort=False)
    cleared_by = fields.Many2One('res.user', "Cleared By", readonly=True)
    cleared_at = fields.Timestamp("Cleared", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('made_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {('open', 'cleared')}
        cls._buttons.update({
                'clear': {
                    'invisible': Eval('state') != 'open',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'open'

    def get_provider(self, name):
        return self.invoice.party.id

    def get_payment_sent(self, name):
        return self.invoice.hb_payment_sent()

    @classmethod
    def search_provider(cls, name, clause):
        return [('invoice.party' + clause[0][len(name):], *clause[1:])]

    @classmethod
    def object(cls, invoice, web_user, text):
        """Record the provider's objection to invoice (a self-billed bill
        of its party) made by web_user; return it"""
        text = (text or '').strip()
        if not text or len(text) > MAX_OBJECTION:
            raise BillingError(gettext(
                    'hb_voucher.msg_self_billing_objection_text',
                    max=MAX_OBJECTION))
        if not invoice.hb_may_object():
            raise BillingError(gettext(
                    'hb_voucher.msg_self_billing_objection_late',
                    invoice=invoice.number or invoice.id))
        objection = cls(invoice=invoice, web_user=web_user, text=text,
            made_at=dt.datetime.now())
        objection.save()
        return objection

    @classmethod
    @ModelView.button
    @Workflow.transition('cleared')
    def clear(cls, objections):
        "Finance clears the objections: the bills may be paid"
        cls.write(objections, {
                'cleared_by': Transaction().user or None,
                'cleared_at': dt.datetime.now(),
                })
