# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Charges of personal budgets at the point of service.

request → (one-time code by SMS) → confirm: capture and a done sale of the
provider's sale point in one transaction → posted in batches by a
scheduled task → billed to the wellbeing area by a vendor bill.
The same idempotency key of a provider never charges twice."""
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from sql import For, Null
from sql.aggregate import Sum
from sql.operators import Equal
from trytond import backend
from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import (
    Exclude,
    Index,
    ModelSQL,
    ModelView,
    Workflow,
    fields,
)
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from trytond.modules.hb_budget.access_log import AccessLogMixin
from trytond.modules.hb_budget.budget import busy_try_again
from trytond.modules.hb_budget.exceptions import (
    BudgetInsufficientError,
    BudgetPeriodError,
    BudgetStateError,
)
from trytond.modules.hb_budget.party import normalize_mobile

from . import sms
from .configuration import cancel_delta, expiry_delta
from .exceptions import ChargeError, ChargeModificationError
from .tools import sql_insert, stored_values


def _company_currency():
    "The currency of the context's company (the default of charges)"
    company = Transaction().context.get('company')
    if company is not None and company >= 0:
        return Pool().get('company.company')(company).currency.id


# the digits of the charges' amounts and prices
AMOUNT_DIGITS = (16, 2)

STATES = [
    ('requested', "Requested"),
    ('captured', "Captured"),
    ('cancelled', "Cancelled"),
    ('expired', "Expired"),
    ]
KINDS = [
    ('charge', "Charge"),
    ('refund', "Refund"),
    ]
CODE_DIGITS = 6
ZERO = Decimal('0.00')
# The settings of requests, codes and cancellation (Charge._settings)
CHARGE_SETTINGS = ['hb_charge_code_window', 'hb_charge_code_limit',
    'hb_max_quantity', 'hb_charge_expiry', 'hb_code_attempts',
    'hb_cancel_window']
# the code of a language by its id (never changes)
_lang_code = Cache('hb_voucher.charge.lang_code', context=False)
# (the SMS language of a phone holder and the name of a provider: read on
# the request and again on its confirmation; a change shows within
# minutes, on the next SMS)
_sms_context = Cache('hb_voucher.charge.sms_context', context=False,
    duration=dt.timedelta(minutes=5))


def error(code, **variables):
    """Return the ChargeError of code with its message (api.py maps the
    codes to HTTP statuses)"""
    return ChargeError(
        code, gettext('hb_voucher.msg_charge_%s' % code, **variables))


def hash_code(code, salt):
    return hashlib.sha256(
        ('%s:%s' % (salt, code)).encode('utf-8')).hexdigest()


def parse_quantity(value, maximum):
    """Return value as a positive Decimal quantity of at most 2 decimals
    and at most maximum, or raise ChargeError(invalid_quantity)"""
    if isinstance(value, bool) or not isinstance(
            value, (int, float, str, Decimal)):
        raise error('invalid_quantity', quantity=value)
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise error('invalid_quantity', quantity=value) from None
    if (not quantity.is_finite() or quantity <= 0 or quantity > maximum
            or quantity != quantity.quantize(Decimal('0.01'))):
        raise error('invalid_quantity', quantity=value)
    return quantity


class AccessLog(metaclass=PoolMeta):
    __name__ = 'hb.access.log'

    @classmethod
    def _logged_models(cls):
        return super()._logged_models() + ['hb.charge']


class Charge(AccessLogMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'hb.charge'
    __string__ = "Personal Budget Charge"
    _rec_name = 'number'

    number = fields.Char("Number", size=50, readonly=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    origin = fields.Many2One(
        'hb.charge', "Refunded Charge", readonly=True, ondelete='RESTRICT',
        states={
            'invisible': Eval('kind') != 'refund',
            })
    reason = fields.Text(
        "Reason", size=5000, readonly=True,
        states={
            'invisible': Eval('kind') != 'refund',
            })
    provider = fields.Many2One(
        'party.party', "Provider", required=True, readonly=True,
        ondelete='RESTRICT')
    contract = fields.Many2One(
        'hb.provider.contract', "Contract", required=True, readonly=True,
        ondelete='RESTRICT')
    sale_point = fields.Many2One(
        'sale.point', "Sale Point", required=True, readonly=True,
        ondelete='RESTRICT')
    client = fields.Many2One(
        'party.party', "Client", required=True, readonly=True,
        ondelete='RESTRICT')
    representative = fields.Many2One(
        'hb.client.representative', "Representative", readonly=True,
        ondelete='RESTRICT',
        help="The representative whose phone number was given.")
    mobile = fields.Char(
        "Mobile", size=30, readonly=True,
        help="The phone number given at the point of service.")
    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date("Date", required=True, readonly=True)
    # Stored (issue 16): the amounts (Monetary) depend on it, and trytond
    # validates on every write of a record the fields that depend on a
    # Function field, loading the records written (a billing run's links,
    # a capture's state) to check their required amounts again
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True,
        ondelete='RESTRICT', help="The currency of the company.")
    lines = fields.One2Many(
        'hb.charge.line', 'charge', "Lines", readonly=True)
    # Cents (the euro's digits), not digits='currency': trytond validates
    # the digits of every write of a record when they depend on a Function
    # field, so writing a charge's bill read its company's currency again
    # (issue 16's billing profile); the amounts are the catalogue's prices
    # in the company's currency, the euro
    amount = Monetary(
        "Amount", currency='currency', digits=AMOUNT_DIGITS, required=True,
        readonly=True,
        help="Negative for refunds.")
    idempotency_key = fields.Char(
        "Idempotency Key", size=255, readonly=True, strip=False,
        help="The provider's key of the request: "
        "the same key never charges twice.")
    idempotency_digest = fields.Char(
        "Idempotency Digest", size=64, readonly=True,
        help="The digest of the request the idempotency key was given "
        "with: the key reused with another request is refused.")
    code_hash = fields.Char("Code Hash", size=200, readonly=True)
    attempts = fields.Integer("Wrong Codes", readonly=True)
    expires_at = fields.Timestamp("Expires At", readonly=True)
    captured_at = fields.Timestamp("Captured At", readonly=True)
    cancelled_at = fields.Timestamp("Cancelled At", readonly=True)
    refused = fields.Boolean("Refused by the Client", readonly=True,
        help="The client (or their representative) refused the request "
        "on their page.")
    sale = fields.Many2One(
        'sale.point.sale', "Sale", readonly=True, ondelete='RESTRICT')
    posted = fields.Function(
        fields.Boolean("Posted"), 'get_posted', searcher='search_posted')
    invoice_line = fields.Many2One(
        'account.invoice.line', "Vendor Bill Line", readonly=True,
        ondelete='RESTRICT')
    invoice = fields.Function(
        fields.Many2One('account.invoice', "Vendor Bill"), 'get_invoice')
    refunds = fields.One2Many(
        'hb.charge', 'origin', "Refunds", readonly=True)
    refunded_amount = fields.Function(Monetary(
            "Refunded", currency='currency', digits='currency'),
        'get_refunded_amount')
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('idempotency_key_unique',
                Exclude(t, (t.provider, Equal), (t.idempotency_key, Equal),
                    where=t.idempotency_key != Null),
                'hb_voucher.msg_charge_idempotency_key_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.provider, Index.Range()),
                    (t.date, Index.Range())),
                Index(t, (t.client, Index.Range()),
                    (t.date, Index.Range())),
                # the charges of a budget by date (the client page's
                # transactions): without it that query reads the whole
                # history (issue 7: 125 ms at 300,000 charges, 0.6 with it)
                Index(t, (t.budget, Index.Range()),
                    (t.date, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    (t.expires_at, Index.Range()),
                    where=t.state == 'requested'),
                Index(t, (t.provider, Index.Range()),
                    where=(t.state.in_(['captured', 'cancelled'])
                        & (t.invoice_line == Null))),
                # the captured charges whose sale the posting batch makes
                Index(t, (t.id, Index.Range()),
                    where=(t.sale == Null) & (t.captured_at != Null)),
                # the unconfirmed requests of a number (issue 15's limit)
                Index(t, (t.mobile, Index.Equality()),
                    (t.create_date, Index.Range()),
                    where=(t.kind == 'charge') & (t.captured_at == Null)),
                })
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('requested', 'captured'),
            ('requested', 'cancelled'),
            ('requested', 'expired'),
            ('captured', 'cancelled'),
            }
        cls._buttons.update({
                'refund_wizard': {
                    'invisible': ((Eval('state') != 'captured')
                        | (Eval('kind') != 'charge')),
                    'depends': ['state', 'kind'],
                    },
                })

    @classmethod
    def default_kind(cls):
        return 'charge'

    @classmethod
    def default_state(cls):
        return 'requested'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_currency(cls):
        return _company_currency()

    @classmethod
    def __register__(cls, module):
        filled = cls.__table_handler__(module).column_exist('currency')
        super().__register__(module)
        if not filled:
            # (the currency was the company's, read when needed)
            table = cls.__table__()
            company = Pool().get('company.company').__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.currency],
                    [company.select(company.currency,
                            where=company.id == table.company)],
                    where=table.currency == Null))
            cls.__table_handler__(module).not_null_action('currency', 'add')

    @classmethod
    def get_posted(cls, charges, name):
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        charge, sale = cls.__table__(), Sale.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, charges), False)
        for sub_ids in grouped_slice(list(result), backend.MAX_QUERY_PARAMS):
            cursor.execute(*charge.join(sale,
                    condition=charge.sale == sale.id
                    ).select(charge.id,
                    where=charge.id.in_(list(sub_ids))
                    & (sale.state == 'posted')))
            result.update((i, True) for i, in cursor)
        return result

    @classmethod
    def search_posted(cls, name, clause):
        _, operator, value = clause
        posted = (operator == '=') == bool(value)
        if posted:
            return [('sale.state', '=', 'posted')]
        return ['OR', ('sale', '=', None), ('sale.state', '!=', 'posted')]

    def get_invoice(self, name):
        return self.invoice_line.invoice.id if self.invoice_line else None

    @classmethod
    def get_refunded_amount(cls, charges, name):
        "The sum of the captured refunds of each charge (one query)"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, charges), ZERO)
        for sub_ids in grouped_slice(list(result), backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.origin, Sum(table.amount),
                    where=table.origin.in_(list(sub_ids))
                    & (table.state == 'captured'),
                    group_by=[table.origin]))
            for origin, amount in cursor:
                # SQLite returns the sum of a Numeric column as float
                result[origin] = -Decimal(str(amount)).quantize(ZERO)
        return result

    def get_rec_name(self, name):
        return self.number or '(%s)' % self.id

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('number',) + tuple(clause[1:])]

    @classmethod
    def check_modification(cls, mode, charges, values=None, external=False):
        super().check_modification(
            mode, charges, values=values, external=external)
        if mode == 'delete':
            raise ChargeModificationError(gettext(
                    'hb_voucher.msg_charge_delete'))

    # Helpers

    @classmethod
    def _now(cls):
        return dt.datetime.now()

    @classmethod
    def _config(cls):
        return Pool().get('hb.configuration')(1)

    @classmethod
    def _settings(cls):
        """The settings of requests, codes and cancellation, as an object
        with those fields: read by field and cached (the settings record
        loads every setting, with their translations, on each request)"""
        Configuration = Pool().get('hb.configuration')
        return SimpleNamespace(**Configuration.get_values(CHARGE_SETTINGS))

    @classmethod
    def _lock_rows(cls, ids):
        "Lock the rows of ids (waiting for other transactions)"
        transaction = Transaction()
        if not ids or not transaction.database.has_select_for():
            return
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*table.select(
                table.id, where=table.id.in_(sorted(ids)),
                order_by=[table.id.asc],
                for_=For('UPDATE')))
        cursor.fetchall()

    @classmethod
    def _lock_budget_lines(cls, lines):
        """Lock the budget lines of the charge lines before saving them:
        the foreign keys of inserted lines take KEY SHARE locks, and two
        charges of one budget holding those then deadlock at the FOR
        UPDATE of the spending interface"""
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        transaction = Transaction()
        ids = sorted({line.budget_line.id for line in lines})
        if not ids or not transaction.database.has_select_for():
            return
        table = BudgetLine.__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*table.select(
                table.id, where=table.id.in_(ids),
                order_by=[table.id.asc], for_=For('UPDATE')))
        cursor.fetchall()

    @classmethod
    def _set_number(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        sequence = Sequence(ModelData.get_id('hb_voucher', 'sequence_charge'))
        return sequence.get()

    @classmethod
    def identify(cls, mobile):
        """Return (client, representative) identified by the mobile phone
        number or raise ChargeError: exactly one client or representative
        allowed to confirm charges must have it"""
        pool = Pool()
        Party = pool.get('party.party')
        Representative = pool.get('hb.client.representative')
        number = normalize_mobile(mobile) if isinstance(mobile, str) else None
        if not number:
            raise error('phone_invalid', mobile=mobile)
        with without_check_access():
            clients = Party.search([
                    ('hb_client', '=', True),
                    ('hb_mobile', '=', number),
                    ('active', '=', True),
                    ], limit=2)
            representatives = Representative.search([
                    ('mobile', '=', number),
                    ('may_confirm_charges', '=', True),
                    ('client.active', '=', True),
                    ], limit=2)
        found = [(c, None) for c in clients] + [
            (r.client, r) for r in representatives]
        if not found:
            raise error('phone_unknown', mobile=number)
        if len(found) > 1:
            raise error('phone_ambiguous', mobile=number)
        return found[0]

    @classmethod
    def find_by_key(cls, provider, key):
        if not key:
            return None
        charges = cls.search([
                ('provider', '=', int(provider)),
                ('idempotency_key', '=', key),
                ], limit=1)
        return charges[0] if charges else None

    @classmethod
    def request_digest(cls, mobile, items):
        """Return the digest of the request of mobile and items: the same
        charge asked in other words (2 or "2.00") has the same digest"""
        def quantity(value):
            try:
                return str(Decimal(str(value)).normalize())
            except (InvalidOperation, ValueError):
                return repr(value)

        def product(value):
            return value if isinstance(value, int) else repr(value)
        number = normalize_mobile(mobile) if isinstance(mobile, str) else None
        try:
            lines = [[product(p), quantity(q)] for p, q in items]
        except (TypeError, ValueError):
            lines = repr(items)
        canonical = json.dumps([number or repr(mobile), lines],
            separators=(',', ':'), sort_keys=True)
        return hashlib.sha256(canonical.encode('utf-8')).hexdigest()

    def check_same_request(self, mobile, items):
        """Raise ChargeError(idempotency_key_reused) when mobile and items
        are not those the charge's idempotency key was given with"""
        if (self.idempotency_digest
                and self.idempotency_digest != self.request_digest(
                    mobile, items)):
            raise error('idempotency_key_reused',
                key=self.idempotency_key)

    @classmethod
    def check_unconfirmed(cls, number, config):
        """Refuse a new request (and its code by SMS) when the number has
        the settings' limit of requests left unconfirmed in the window: a
        terminal re-requesting codes cannot flood the phone"""
        since = cls._now() - dt.timedelta(
            minutes=config.hb_charge_code_window)
        if cls.search([
                    ('mobile', '=', number),
                    ('kind', '=', 'charge'),
                    ('captured_at', '=', None),
                    ('create_date', '>=', since),
                    ], count=True) >= config.hb_charge_code_limit:
            raise error('too_many_codes')

    @classmethod
    def _budget_line(cls, budget, category):
        "Return the line of budget for category or its nearest parent"
        lines = {line.category: line for line in budget.lines}
        while category:
            if category in lines:
                return lines[category]
            category = category.parent
        return None

    # The charge flow

    @classmethod
    def request(cls, provider, mobile, items, idempotency_key=None,
            date=None):
        """Request a charge of the client with mobile by provider for
        items [(product, quantity)]: reserve the amount and send the
        one-time code. Return (charge, created): the same idempotency key
        returns the first charge without charging again."""
        pool = Pool()
        Date = pool.get('ir.date')
        Party = pool.get('party.party')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        Contract = pool.get('hb.provider.contract')
        Budget = pool.get('hb.budget')
        Line = pool.get('hb.charge.line')
        config = cls._settings()
        provider = Party(int(provider))
        if date is None:
            date = Date.today()
        if idempotency_key is not None:
            if (not isinstance(idempotency_key, str)
                    or not 0 < len(idempotency_key) <= 255):
                raise error('invalid_request')
            charge = cls.find_by_key(provider, idempotency_key)
            if charge:
                charge.check_same_request(mobile, items)
                return charge, False
        if not isinstance(items, (list, tuple)) or not items:
            raise error('invalid_request')
        quantities = []
        for item in items:
            try:
                product, quantity = item
                product = int(product)
            except (TypeError, ValueError):
                raise error('invalid_request') from None
            quantities.append((product, parse_quantity(
                        quantity, config.hb_max_quantity)))

        client, representative = cls.identify(mobile)

        with without_check_access():
            contracts = Contract.get_active(provider.id, date)
        if not contracts:
            raise error('contract_inactive', provider=provider.rec_name)
        requested = {p for p, _ in quantities}
        # The one coverage rule, the catalogue's (issue 16): one search
        # when every service is covered, as on almost every charge
        products = {p.id: p for p in Product.search([
                    ('id', 'in', list(requested)),
                    ('template.hb_provider', '=', provider.id),
                    ('template', 'where', Template.hb_coverage_domain(
                            client.hb_municipality,
                            client.hb_customer_groups, date=date)),
                    ])}
        covered = set(products)
        if covered != requested:
            # tell a service of the provider not covered here from an
            # unknown one
            products.update((p.id, p) for p in Product.search([
                        ('id', 'in', list(requested - covered)),
                        ('template.hb_provider', '=', provider.id),
                        ('template.hb_state', '=', 'approved'),
                        ]))
        budget = Budget.get_active(client, date)
        if not budget:
            # why, when a rectification request stopped its enforcement
            message = Budget.get_enforcement_stop_message_of(client, date)
            if message:
                raise ChargeError('no_active_budget', message)
            raise error('no_active_budget')
        currency = budget.currency
        lines = []
        contract = None
        for product_id, quantity in quantities:
            product = products.get(product_id)
            if not product:
                raise error('unknown_service', service=product_id)
            template = product.template
            category = template.hb_category
            contract = template.hb_contract
            if product_id not in covered:
                raise error('not_covered', service=product.rec_name)
            budget_line = cls._budget_line(budget, category)
            if not budget_line or not budget_line.amount:
                raise error('category_not_in_budget',
                    category=category.rec_name)
            price = template.list_price
            lines.append(Line(
                    product=product, quantity=quantity, unit_price=price,
                    amount=currency.round(price * quantity),
                    currency=currency, budget_line=budget_line))
        sale_point = contract.get_hb_sale_point()
        if not sale_point:
            raise error('not_configured')

        cls._lock_budget_lines(lines)
        # counted once the budget is locked: requests at once see the
        # ones committed before them
        cls.check_unconfirmed(normalize_mobile(mobile), config)
        code = '%0*d' % (CODE_DIGITS, secrets.randbelow(10 ** CODE_DIGITS))
        salt = secrets.token_hex(8)
        charge = cls(
            company=budget.company, currency=currency, kind='charge',
            provider=provider,
            contract=contract, sale_point=sale_point, client=client,
            representative=representative, mobile=normalize_mobile(mobile),
            budget=budget, date=date, lines=lines,
            amount=sum((line.amount for line in lines), ZERO),
            idempotency_key=idempotency_key,
            idempotency_digest=(cls.request_digest(mobile, items)
                if idempotency_key is not None else None),
            code_hash='%s$%s' % (salt, hash_code(code, salt)),
            expires_at=cls._now() + expiry_delta(config.hb_charge_expiry),
            number=cls._set_number(), state='requested')
        charge = cls._insert_request(charge)
        charge._update_budget('reserve', lines=lines)
        charge.send_code(code, config=config)
        return charge, True

    @classmethod
    def _insert_request(cls, charge):
        """Insert the unsaved requested charge and its lines with one
        INSERT each; return the charge with its id.

        The rows are those the ORM's save would store (the test
        test_request_rows_as_orm compares them column by column), without
        the ORM's per-record validation, which costs more than the SQL of
        a request: what it checks holds by construction (every required
        value set above, the sizes checked, the idempotency key's
        uniqueness kept by the database's exclusion constraint)."""
        pool = Pool()
        Line = pool.get('hb.charge.line')
        values = stored_values(charge)
        charge_id, = sql_insert(cls, [values])
        rows = []
        for line in charge.lines:
            rows.append(stored_values(line))
            rows[-1]['charge'] = charge_id
        sql_insert(Line, rows)
        # (the values it was given: an unsaved record has no others)
        return cls(charge_id, **{n: getattr(charge, n)
                for n in values if hasattr(charge, n)})

    def _budget_amounts(self, lines=None):
        """Return the amount of the charge per budget line id (sorted):
        of lines (its unsaved lines) or of its stored lines (one query)"""
        pool = Pool()
        Line = pool.get('hb.charge.line')
        if lines is not None:
            rows = [(line.budget_line.id, line.amount) for line in lines]
        else:
            table = Line.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.select(table.budget_line, table.amount,
                    where=table.charge == self.id))
            rows = cursor.fetchall()
        amounts = defaultdict(Decimal)
        for line, amount in rows:
            # (SQLite reads a Numeric as float)
            amounts[line] += abs(Decimal(str(amount)))
        return sorted(amounts.items())

    def _update_budget(self, kind, date=None, lines=None):
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        method = getattr(BudgetLine, kind)
        try:
            for line, amount in self._budget_amounts(lines):
                if amount:
                    method(line, amount, origin=str(self), date=date)
        except BudgetInsufficientError as exception:
            # a limit with its own refusal (the AVAIN monthly limit) keeps
            # its message; otherwise the generic one
            code = getattr(exception, 'charge_code', None)
            if code:
                raise ChargeError(code, exception.message) from exception
            raise error('insufficient_funds') from exception
        except (BudgetStateError, BudgetPeriodError) as exception:
            code = getattr(exception, 'charge_code', None)
            if code:
                raise ChargeError(code, exception.message) from exception
            raise error('no_active_budget') from exception

    def get_language(self):
        "The language of the SMS: the phone holder's, Finnish by default"
        return self._sms_context()[0]

    def _sms_context(self):
        """Return the language of the SMS (the phone holder's, Finnish by
        default) and the provider's name, in one read of the two parties
        (not their whole records)"""
        pool = Pool()
        Party = pool.get('party.party')
        party = (self.representative.party if self.representative
            else self.client)
        key = (party.id, self.provider.id)
        cached = _sms_context.get(key)
        if cached is not None:
            return tuple(cached)
        Lang = pool.get('ir.lang')
        with without_check_access():
            rows = {r['id']: r for r in Party.read(
                    list({party.id, self.provider.id}),
                    ['name', 'code', 'lang'])}
            lang = rows[party.id]['lang']
            code = _lang_code.get(lang) if lang else None
            if lang and code is None:
                code = Lang(lang).code
                _lang_code.set(lang, code)
        provider = rows[self.provider.id]
        # as party.party's get_rec_name
        name = provider['name'] or '[%s]' % provider['code']
        result = (code if code in {'fi', 'sv', 'en'} else 'fi'), name
        _sms_context.set(key, list(result))
        return result

    def _format_amount(self, language):
        return sms.money(self.amount, language)

    def send_code(self, code, config=None):
        "Send the one-time code to the phone number of the request"
        if config is None:
            config = self._settings()
        language, provider = self._sms_context()
        with Transaction().set_context(language=language):
            text = gettext('hb_voucher.msg_sms_code',
                code=code, provider=provider,
                amount=self._format_amount(language),
                minutes=config.hb_charge_expiry)
        sms.send_sms(self.mobile, text)

    def send_receipt(self, message_id):
        language, provider = self._sms_context()
        with Transaction().set_context(language=language):
            text = gettext(message_id,
                number=self.number, provider=provider,
                amount=self._format_amount(language))
        sms.send_sms(self.mobile, text)

    def check_code(self, code):
        if not self.code_hash or not isinstance(code, str):
            return False
        salt, _, digest = self.code_hash.partition('$')
        return hmac.compare_digest(hash_code(code.strip(), salt), digest)

    @classmethod
    def _check_pending(cls, charge):
        "Raise ChargeError unless charge is a request waiting for its code"
        if charge.state == 'captured':
            raise error('already_confirmed')
        if charge.refused:
            raise error('refused')
        if charge.state != 'requested':
            raise error('not_pending')

    @classmethod
    def confirm(cls, charge, code=None, check_code=True):
        """Confirm the requested charge with the one-time code (or without
        when the client confirms it on their own page): capture the
        reservation. Return the charge.

        A wrong code is counted (the request is cancelled after the
        maximum number) and an expired request released in a transaction
        of their own (_record_refusal): the ChargeError raised then rolls
        back the request's transaction, not them."""
        charge = cls(int(charge))
        cls._check_pending(charge)
        if charge.expires_at and charge.expires_at < cls._now():
            cls._record_refusal(charge.id, wrong_code=False)
            raise error('code_expired')
        if check_code and not charge.check_code(code):
            left = cls._record_refusal(charge.id, wrong_code=True)
            if left is None:
                raise error('not_pending')
            if left <= 0:
                raise error('too_many_attempts')
            raise error('wrong_code', left=left)
        # Locked after the reads: a concurrent change of the row since
        # this transaction's snapshot fails the lock (and the request is
        # tried again) on PostgreSQL
        cls._lock_rows([charge.id])
        charge._update_budget('capture')
        cls._capture([charge])
        return charge

    @classmethod
    def _record_refusal(cls, charge_id, wrong_code):
        """Count a wrong code of the requested charge (cancelling it at
        the settings' maximum) or expire it, in a transaction of its own
        committed at once, as res.user.login.attempt is: the refusal
        raised afterwards rolls back the request's transaction, never
        this. Return the attempts left (None: not requested anymore)."""
        config = cls._settings()
        with Transaction().new_transaction():
            cls._lock_rows([charge_id])
            charge = cls(charge_id)
            if charge.state != 'requested':
                return None
            if not wrong_code:
                cls.expire([charge])
                return None
            charge.attempts = (charge.attempts or 0) + 1
            charge.save()
            left = config.hb_code_attempts - charge.attempts
            if left <= 0:
                cls.cancel_charges([charge])
            return left

    @classmethod
    def refuse(cls, charge):
        """Refuse the requested charge for the client (on their page):
        the reservation is released and the request cancelled, marked
        refused for the terminal. Return the charge."""
        charge = cls(int(charge))
        if charge.kind != 'charge' or charge.state != 'requested':
            raise error('not_pending')
        if charge.expires_at and charge.expires_at < cls._now():
            cls._record_refusal(charge.id, wrong_code=False)
            raise error('code_expired')
        cls._lock_rows([charge.id])
        charge.refused = True
        cls.cancel_charges([charge])
        return charge

    @classmethod
    @Workflow.transition('captured')
    def _capture(cls, charges):
        """Capture charges: the charge and its budget ledger are the
        financial event; the sale of the sale point follows in the
        posting batch (post_sales)"""
        now = cls._now()
        for charge in charges:
            # (set here: the transition then writes nothing more)
            charge.state = 'captured'
            charge.captured_at = now
            charge.code_hash = None
        cls.save(charges)
        for charge in charges:
            if charge.kind == 'charge':
                charge.send_receipt('hb_voucher.msg_sms_receipt')

    def get_sale(self, method=None):
        """Return the (unsaved) sale of the sale point recording the
        charge: numbered with the charge's number, paid in full with the
        personal budget method (a return sale for a refund)"""
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        SaleLine = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        lines = []
        for line in self.lines:
            lines.append(SaleLine(
                    product=line.product, quantity=float(line.quantity),
                    unit_list_price=line.unit_price,
                    unit_gross_price=line.unit_price))
        return Sale(
            company=self.company, point=self.sale_point, date=self.date,
            number=self.number, hb_client=self.client, hb_budget=self.budget,
            lines=lines,
            payments=[Payment(method=method or self._payment_method(),
                    amount=self.amount)])

    def _payment_method(self):
        config = self._config()
        with Transaction().set_context(company=self.company.id):
            method = config.get_hb_payment_method()
        if not method:
            raise error('not_configured')
        return method

    @classmethod
    @Workflow.transition('expired')
    def expire(cls, charges):
        "Release the reservations of the requests not confirmed in time"
        for charge in charges:
            charge._update_budget('release')
            charge.code_hash = None
        cls.save(charges)

    @classmethod
    @Workflow.transition('cancelled')
    def cancel_charges(cls, charges):
        """Cancel the charges: a request's reservation is released; a
        captured charge must have been refunded in full first (cancel)"""
        now = cls._now()
        for charge in charges:
            if charge.state == 'requested':
                charge._update_budget('release')
            charge.code_hash = None
            charge.cancelled_at = now
        cls.save(charges)

    @classmethod
    def cancel(cls, charge, provider=None):
        """Cancel the charge for the provider: a request is released;
        a captured charge is refunded in full within the cancellation
        window. Return the charge."""
        config = cls._settings()
        cls._lock_rows([int(charge)])
        charge = cls(int(charge))
        if provider is not None and charge.provider.id != int(provider):
            raise error('not_found')
        if charge.kind != 'charge':
            raise error('not_pending')
        if charge.state == 'requested':
            cls.cancel_charges([charge])
        elif charge.state == 'captured':
            if charge.captured_at + cancel_delta(config.hb_cancel_window) < (
                    cls._now()):
                raise error('cancel_window_passed')
            if charge.refunded_amount:
                raise error('already_refunded')
            cls.make_refund(charge, charge.amount, gettext(
                    'hb_voucher.msg_charge_cancelled_by_provider'))
            charge = cls(charge.id)
            cls.cancel_charges([charge])
        else:
            raise error('not_pending')
        return charge

    @classmethod
    def make_refund(cls, charge, amount, reason):
        """Refund amount of the captured charge for reason: the budget gets
        it back and a return sale records it. Return the refund."""
        pool = Pool()
        Date = pool.get('ir.date')
        Line = pool.get('hb.charge.line')
        cls._lock_rows([int(charge)])
        charge = cls(int(charge))
        if charge.kind != 'charge' or charge.state != 'captured':
            raise error('not_pending')
        if not reason or not reason.strip():
            raise error('reason_required')
        currency = charge.currency
        if (not isinstance(amount, Decimal) or amount <= 0
                or currency.round(amount) != amount):
            raise error('refund_amount')
        if amount > charge.amount - charge.refunded_amount:
            raise error('refund_amount')
        refunded = defaultdict(Decimal)
        for refund in charge.refunds:
            if refund.state == 'captured':
                for line in refund.lines:
                    refunded[line.origin] -= line.amount
        remaining, lines = amount, []
        for line in charge.lines:
            part = min(remaining, line.amount - refunded[line])
            if part <= 0:
                continue
            remaining -= part
            if part == line.amount - refunded[line] and not refunded[line]:
                quantity, price = -line.quantity, line.unit_price
            elif (part % line.unit_price) == 0:
                quantity, price = -(part / line.unit_price), line.unit_price
            else:
                quantity, price = Decimal(-1), part
            lines.append(Line(
                    product=line.product, quantity=quantity,
                    unit_price=price, amount=-part, currency=charge.currency,
                    budget_line=line.budget_line, origin=line))
            if not remaining:
                break
        cls._lock_budget_lines(lines)
        refund = cls(
            company=charge.company, currency=charge.currency,
            kind='refund', origin=charge,
            reason=reason, provider=charge.provider,
            contract=charge.contract, sale_point=charge.sale_point,
            client=charge.client, mobile=charge.mobile,
            budget=charge.budget, date=Date.today(), lines=lines,
            amount=-amount, number=cls._set_number(), state='requested')
        refund.save()
        refund._update_budget('refund', lines=lines)
        cls._capture([refund])
        refund.send_receipt('hb_voucher.msg_sms_refund')
        return refund

    @classmethod
    @ModelView.button_action('hb_voucher.wizard_charge_refund')
    def refund_wizard(cls, charges):
        pass

    # Scheduled tasks

    @classmethod
    def expire_requests(cls):
        "Release the reservations of requests not confirmed in time"
        charges = cls.search([
                ('state', '=', 'requested'),
                ('expires_at', '<', cls._now()),
                ], order=[('id', 'ASC')])
        if not charges:
            return []
        cls._lock_rows([c.id for c in charges])
        charges = [c for c in cls.browse(charges)
            if c.state == 'requested']
        cls.expire(charges)
        return charges

    @classmethod
    def post_sales(cls, limit=500):
        """Record the captured charges (and refunds) without a sale as
        sales of their sale points through sale_point's own API, in a
        batch of at most limit: create, process (done) and post them and
        link each charge to its sale. Return the posted sales.

        The charges are locked first: a second run at once waits, then
        fails on the rows the first updated and is rolled back (one sale
        per charge)."""
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        charges = cls.search([
                ('captured_at', '!=', None),
                ('sale', '=', None),
                ], order=[('id', 'ASC')], limit=limit)
        if not charges:
            return []
        cls._lock_rows([c.id for c in charges])
        charges = [c for c in cls.browse([c.id for c in charges])
            if not c.sale]
        methods = {}
        sales = []
        for charge in charges:
            if charge.company not in methods:
                methods[charge.company] = charge._payment_method()
            sales.append(charge.get_sale(methods[charge.company]))
        with without_check_access():
            Sale.save(sales)
            Sale.process(sales)
            Sale.post(sales)
        to_write = []
        for charge, sale in zip(charges, sales):
            to_write.extend(([charge], {'sale': sale.id}))
        if to_write:
            cls.write(*to_write)
        return sales


class ChargeLine(ModelSQL, ModelView):
    __name__ = 'hb.charge.line'
    __string__ = "Personal Budget Charge Line"

    charge = fields.Many2One(
        'hb.charge', "Charge", required=True, ondelete='CASCADE',
        readonly=True)
    product = fields.Many2One(
        'product.product', "Service", required=True, readonly=True,
        ondelete='RESTRICT')
    quantity = fields.Numeric(
        "Quantity", digits=(16, 2), required=True, readonly=True)
    # (cents, as the charge's amount)
    unit_price = Monetary(
        "Unit Price", currency='currency', digits=AMOUNT_DIGITS,
        required=True, readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits=AMOUNT_DIGITS, required=True,
        readonly=True)
    # stored, as the charge's
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True,
        ondelete='RESTRICT')
    budget_line = fields.Many2One(
        'hb.budget.line', "Budget Line", required=True, readonly=True,
        ondelete='RESTRICT')
    origin = fields.Many2One(
        'hb.charge.line', "Refunded Line", readonly=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('charge')
        t = cls.__table__()
        cls._sql_indexes.update({
                # a charge's lines (the terminal's answer, the client's
                # page, refunds, billing): without it each read of them
                # scanned every line (issue 16)
                Index(t, (t.charge, Index.Range())),
                # the refunds of a line
                Index(t, (t.origin, Index.Range()),
                    where=t.origin != Null),
                })

    @classmethod
    def default_currency(cls):
        return _company_currency()

    @classmethod
    def __register__(cls, module):
        filled = cls.__table_handler__(module).column_exist('currency')
        super().__register__(module)
        if not filled:
            # (the charge's company's, as the charge's)
            pool = Pool()
            table = cls.__table__()
            charge = pool.get('hb.charge').__table__()
            company = pool.get('company.company').__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.currency],
                    [charge.join(company,
                            condition=charge.company == company.id).select(
                            company.currency,
                            where=charge.id == table.charge)],
                    where=table.currency == Null))
            cls.__table_handler__(module).not_null_action('currency', 'add')

    def get_rec_name(self, name):
        return '%s × %s' % (self.product.rec_name, self.quantity)


class ChargeRefundStart(ModelView):
    __name__ = 'hb.charge.refund.start'
    __string__ = "Refund Charge"

    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True,
        domain=[
            ('amount', '>', 0),
            ('amount', '<=', Eval('maximum', 0)),
            ],
        help="The amount given back to the client's budget.")
    maximum = fields.Numeric("Refundable", digits=(16, 2), readonly=True)
    reason = fields.Text("Reason", size=5000, required=True)


class ChargeRefund(Wizard):
    __name__ = 'hb.charge.refund'
    __string__ = "Refund Charge"
    start = StateView(
        'hb.charge.refund.start',
        'hb_voucher.charge_refund_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Refund", 'refund', 'tryton-ok', default=True),
            ])
    refund = StateTransition()

    def default_start(self, fields):
        remaining = self.record.amount - self.record.refunded_amount
        return {
            'amount': remaining,
            'maximum': remaining,
            }

    @busy_try_again
    def transition_refund(self):
        self.model.make_refund(
            self.record, self.start.amount, self.start.reason)
        return 'end'
