# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Claims of services delivered under a standing authorisation (issue 14).

submit → pending (the amount reserved on the budget line at once, the
dispute window open) → captured by the scheduled task when the window
closes: a captured hb.charge is made through the charges' own path, so
posting, billing and payment stay those of charges. A dispute by the
client freezes the claim; the own-worker accepts, reduces or rejects it."""
import datetime as dt
import hashlib
import json
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from sql import For
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from trytond.modules.hb_budget.budget import busy_try_again
from trytond.modules.hb_budget.exceptions import (
    BudgetInsufficientError,
    BudgetPeriodError,
    BudgetStateError,
)

from .authorisation import OPEN_CLAIM_STATES, month_start
from .exceptions import ChargeError, ClaimError

ZERO = Decimal('0.00')
STATES = [
    ('pending', "Pending"),
    ('disputed', "Disputed"),
    ('captured', "Captured"),
    ('reduced', "Reduced"),
    ('rejected', "Rejected"),
    ]
SOURCES = [
    ('portal', "Provider Portal"),
    ('csv', "CSV Upload"),
    ('api', "Terminal API"),
    ('worker', "Own-Worker"),
    ]
DEFAULT_DISPUTE_DAYS = 7
DEFAULT_MAX_DAYS_BACK = 60
MAX_SCHEDULE_DAYS = 93
# the claims of an upload created at once
CREATE_BATCH = 1000


def error(code, **variables):
    "Return the ClaimError of code with its translated message"
    return ClaimError(
        code, gettext('hb_voucher.msg_claim_%s' % code, **variables))


def parse_date(value):
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) <= 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise error('invalid_date', date=str(value)[:20])


def parse_decimal(value, code, maximum=None):
    if isinstance(value, bool) or not isinstance(
            value, (int, float, str, Decimal)):
        raise error(code, value=str(value)[:20])
    try:
        number = Decimal(str(value).strip().replace(',', '.'))
    except (InvalidOperation, ValueError):
        raise error(code, value=str(value)[:20]) from None
    if (not number.is_finite() or number <= 0
            or (maximum is not None and number > maximum)
            or number != number.quantize(Decimal('0.01'))):
        raise error(code, value=str(value)[:20])
    return number


def expand_schedule(start, end, weekdays):
    """Return the dates from start to end (included) falling on weekdays
    (0 Monday … 6 Sunday)"""
    start, end = parse_date(start), parse_date(end)
    if end < start or (end - start).days > MAX_SCHEDULE_DAYS:
        raise error('invalid_schedule')
    try:
        weekdays = {int(d) for d in weekdays}
    except (TypeError, ValueError):
        raise error('invalid_schedule') from None
    if not weekdays or not weekdays <= set(range(7)):
        raise error('invalid_schedule')
    dates, date = [], start
    while date <= end:
        if date.weekday() in weekdays:
            dates.append(date)
        date += dt.timedelta(days=1)
    return dates


class AccessLog(metaclass=PoolMeta):
    __name__ = 'hb.access.log'

    @classmethod
    def _logged_models(cls):
        return super()._logged_models() + ['hb.authorisation', 'hb.claim']


class Configuration(metaclass=PoolMeta):
    __name__ = 'hb.configuration'

    claim_dispute_days = fields.Integer(
        "Claim Dispute Window",
        domain=['OR',
            ('claim_dispute_days', '=', None),
            ('claim_dispute_days', '>=', 0),
            ],
        help="Days the client has to dispute a claim before it is "
        "captured.")
    claim_max_days_back = fields.Integer(
        "Claims Days Back",
        domain=['OR',
            ('claim_max_days_back', '=', None),
            ('claim_max_days_back', '>=', 0),
            ],
        help="How many days after the service a provider may claim it.")

    @classmethod
    def default_claim_dispute_days(cls):
        return DEFAULT_DISPUTE_DAYS

    @classmethod
    def default_claim_max_days_back(cls):
        return DEFAULT_MAX_DAYS_BACK

    def get_claim_dispute_days(self):
        if self.claim_dispute_days is None:
            return DEFAULT_DISPUTE_DAYS
        return self.claim_dispute_days

    def get_claim_max_days_back(self):
        if self.claim_max_days_back is None:
            return DEFAULT_MAX_DAYS_BACK
        return self.claim_max_days_back


class Claim(Workflow, ModelSQL, ModelView):
    __name__ = 'hb.claim'
    __string__ = "Personal Budget Claim"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    authorisation = fields.Many2One(
        'hb.authorisation', "Authorisation", required=True, readonly=True,
        ondelete='RESTRICT')
    provider = fields.Many2One(
        'party.party', "Provider", required=True, readonly=True,
        ondelete='RESTRICT')
    client = fields.Many2One(
        'party.party', "Client", required=True, readonly=True,
        ondelete='RESTRICT')
    budget = fields.Many2One(
        'hb.budget', "Budget", required=True, readonly=True,
        ondelete='RESTRICT')
    budget_line = fields.Many2One(
        'hb.budget.line', "Budget Line", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date("Service Date", required=True, readonly=True)
    product = fields.Many2One(
        'product.product', "Service", required=True, readonly=True,
        ondelete='RESTRICT')
    quantity = fields.Numeric(
        "Quantity", digits=(16, 2), required=True, readonly=True)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    unit_price = Monetary(
        "Unit Price", currency='currency', digits='currency', required=True,
        readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True,
        help="Reserved on the budget while the claim is pending or "
        "disputed.")
    claimed_amount = Monetary(
        "Claimed Amount", currency='currency', digits='currency',
        required=True, readonly=True,
        help="The amount the provider claimed.")
    source = fields.Selection(SOURCES, "Source", required=True, readonly=True)
    idempotency_key = fields.Char(
        "Idempotency Key", size=255, readonly=True, strip=False)
    idempotency_digest = fields.Char(
        "Idempotency Digest", size=64, readonly=True)
    duplicate_confirmed = fields.Boolean(
        "Duplicate Confirmed", readonly=True,
        help="The provider confirmed that a claim like another one was "
        "intended.")
    dispute_end = fields.Date(
        "Dispute Window End", required=True, readonly=True,
        help="The last day the client may dispute the claim.")
    disputed_at = fields.Timestamp("Disputed At", readonly=True)
    dispute_reason = fields.Text(
        "Dispute Reason", size=2000, readonly=True)
    resolution_amount = Monetary(
        "New Amount", currency='currency', digits='currency',
        states={
            'readonly': Eval('state') != 'disputed',
            'invisible': ~Eval('state').in_(['disputed', 'reduced']),
            },
        help="The reduced amount (for Reduce).")
    resolution_reason = fields.Text(
        "Resolution Reason", size=2000,
        states={
            'readonly': Eval('state') != 'disputed',
            'invisible': ~Eval('state').in_(
                ['disputed', 'reduced', 'rejected']),
            })
    resolved_by = fields.Many2One('res.user', "Resolved By", readonly=True)
    resolved_at = fields.Timestamp("Resolved At", readonly=True)
    charge = fields.Many2One(
        'hb.charge', "Charge", readonly=True, ondelete='RESTRICT',
        help="The captured charge billed and paid for the claim.")
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.provider, Index.Range()),
                    (t.idempotency_key, Index.Equality()),
                    where=t.idempotency_key != None),  # noqa: E711
                Index(t, (t.authorisation, Index.Range()),
                    (t.date, Index.Range())),
                Index(t, (t.client, Index.Range()),
                    (t.date, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    (t.dispute_end, Index.Range()),
                    where=t.state == 'pending'),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('pending', 'disputed'),
            ('pending', 'captured'),
            ('disputed', 'captured'),
            ('disputed', 'reduced'),
            ('disputed', 'rejected'),
            }
        cls._buttons.update({
                'accept': {
                    'invisible': Eval('state') != 'disputed',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'reduce': {
                    'invisible': Eval('state') != 'disputed',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': Eval('state') != 'disputed',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def default_source(cls):
        return 'worker'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_currency(self, name):
        return self.company.currency.id

    def get_rec_name(self, name):
        return 'HBK-%08d' % self.id if self.id and self.id > 0 else ''

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if isinstance(operand, str) and operand.upper().startswith('HBK-'):
            try:
                return [('id', operator, int(operand[4:].strip('%')))]
            except ValueError:
                pass
        return [('product.rec_name', operator, operand, *extra)]

    @classmethod
    def check_modification(cls, mode, claims, values=None, external=False):
        super().check_modification(
            mode, claims, values=values, external=external)
        if mode == 'delete':
            raise error('delete')
        if mode == 'create' and external:
            raise error('create_outside')
        if mode == 'write' and external:
            if not set(values) <= {
                    'resolution_amount', 'resolution_reason'}:
                raise error('write_outside')
            for claim in claims:
                if claim.state != 'disputed':
                    raise error('not_disputed', claim=claim.rec_name)

    # Helpers

    @classmethod
    def _config(cls):
        return Pool().get('hb.configuration')(1)

    @classmethod
    def _lock_budget_line(cls, line):
        """Lock the budget line as charges do (SELECT ... FOR UPDATE, the
        same row Charge._lock_budget_lines and the spending interface
        lock) and return its available amount read under the lock: a
        claim and a charge racing for the last euros wait here one after
        the other, and the second sees what the first reserved (on
        PostgreSQL a row changed since the snapshot fails the lock and
        the request is tried again)"""
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        transaction = Transaction()
        table = BudgetLine.__table__()
        cursor = transaction.connection.cursor()
        query = table.select(table.amount, table.reserved, table.spent,
            where=table.id == int(line))
        if transaction.database.has_select_for():
            query.for_ = For('UPDATE')
        cursor.execute(*query)
        amount, reserved, spent = (
            Decimal(str(v or 0)) for v in cursor.fetchone())
        return amount - reserved - spent

    @classmethod
    def find_by_key(cls, provider, key):
        if not key:
            return None
        with without_check_access():
            claims = cls.search([
                    ('provider', '=', int(provider)),
                    ('idempotency_key', '=', key),
                    ], limit=1)
        return claims[0] if claims else None

    @classmethod
    def request_digest(cls, values):
        canonical = json.dumps(
            {k: str(v) for k, v in sorted(values.items())},
            separators=(',', ':'), sort_keys=True)
        return hashlib.sha256(canonical.encode('utf-8')).hexdigest()

    @classmethod
    def _update_line(cls, kind, line, amount, origin, date=None):
        pool = Pool()
        BudgetLine = pool.get('hb.budget.line')
        try:
            with without_check_access():
                getattr(BudgetLine, kind)(
                    line, amount, origin=origin, date=date)
        except BudgetInsufficientError as exception:
            raise error('over_budget') from exception
        except BudgetPeriodError as exception:
            raise error('before_period') from exception
        except BudgetStateError as exception:
            if getattr(exception, 'charge_code', None):
                raise ClaimError(
                    'no_active_budget', exception.message) from exception
            raise error('no_active_budget') from exception

    # Submitting
    #
    # The rules of a claim are checked by _prepare (what needs no lock)
    # and _check_funds (the budget, the monthly cap and the duplicates,
    # under the budget line's lock); submit (one claim) and submit_many (a
    # CSV upload) both call them, so each rule is written once.

    @classmethod
    def _prepare(cls, provider, authorisation, product, date, quantity,
            unit_price=None, confirm_duplicate=False, cache=None,
            today=None, config=None):
        """Check the claim against everything that needs no lock (its
        values, the authorisation, the dates, the service, its contract
        and prices) and return what the claim is made of (a dict). Raise
        ClaimError when refused.

        cache: see submit."""
        pool = Pool()
        Date = pool.get('ir.date')
        Product = pool.get('product.product')
        Authorisation = pool.get('hb.authorisation')
        Contract = pool.get('hb.provider.contract')
        if config is None:
            config = cls._config()
        if today is None:
            today = Date.today()
        if cache is None:
            cache = {}

        def cached(key, func):
            if key not in cache:
                cache[key] = func()
            return cache[key]
        date = parse_date(date)
        quantity = parse_decimal(
            quantity, 'invalid_quantity', config.hb_max_quantity)
        try:
            authorisation_id = int(authorisation)
            product_id = int(product)
        except (TypeError, ValueError):
            raise error('invalid_request') from None
        with without_check_access():
            authorisations = cached(
                ('authorisation', authorisation_id, provider.id),
                lambda: Authorisation.search([
                        ('id', '=', authorisation_id),
                        ('provider', '=', provider.id),
                        ], limit=1))
            if not authorisations:
                raise error('unknown_authorisation')
            authorisation, = authorisations
            if authorisation.state != 'active':
                raise error('authorisation_not_active')
            budget = authorisation.budget
            if date > today:
                raise error('future_date', date=date)
            if date < budget.start_date:
                raise error('before_period', date=date)
            if date < today - dt.timedelta(
                    days=config.get_claim_max_days_back()):
                raise error('too_far_back', date=date,
                    days=config.get_claim_max_days_back())
            if not (authorisation.valid_from <= date
                    <= authorisation.valid_to):
                raise error('outside_authorisation', date=date)
            products = cached(('product', product_id, provider.id),
                lambda: Product.search([
                        ('id', '=', product_id),
                        ('template.hb_provider', '=', provider.id),
                        ], limit=1))
            if not products:
                raise error('unknown_service', service=product_id)
            product, = products
            template = product.template
            if ((authorisation.product and authorisation.product != product)
                    or template.hb_category not in cached(
                        ('categories', authorisation.id),
                        authorisation.categories)):
                raise error('service_not_authorised',
                    service=product.rec_name)
            contract = template.hb_contract
            if not contract or contract not in cached(
                    ('contracts', provider.id, date),
                    lambda: Contract.get_active(provider.id, date)):
                raise error('contract_inactive',
                    provider=provider.rec_name)
            price = cached(('price', template.id),
                lambda: template.list_price)
            if unit_price is None:
                unit_price = price
            else:
                unit_price = parse_decimal(unit_price, 'invalid_price')
            if unit_price > price:
                raise error('price_above_contract',
                    price=unit_price, contract_price=price)
            cap = cached(('cap', contract.id, template.hb_category.id),
                lambda: contract.get_price_cap(template.hb_category))
            if cap is not None and unit_price > cap:
                raise error('price_above_cap', price=unit_price, cap=cap)
            amount = budget.currency.round(unit_price * quantity)
            line = cached(('line', authorisation.id),
                authorisation.budget_line)
            if not line:
                raise error('category_not_in_budget',
                    category=authorisation.category.rec_name)
        return {
            'provider': provider, 'authorisation': authorisation,
            'budget': budget, 'line': line, 'product': product,
            'date': date, 'quantity': quantity, 'unit_price': unit_price,
            'amount': amount, 'confirm_duplicate': bool(confirm_duplicate),
            }

    @staticmethod
    def _duplicate_key(prepared):
        "What makes claims likely duplicates of one another"
        return (prepared['provider'].id,
            prepared['authorisation'].client.id, prepared['product'].id,
            prepared['date'], prepared['quantity'])

    @classmethod
    def _check_funds(cls, prepared, available, claimed, is_duplicate):
        """Check the prepared claim against what the budget line has
        available and the authorisation claimed in the claim's month
        (both read under the line's lock) and, unless confirmed, against
        a like open claim (is_duplicate: a function of the duplicate key).
        Raise ClaimError when refused."""
        authorisation = prepared['authorisation']
        amount = prepared['amount']
        if prepared['budget'].state != 'active':
            # why, when a rectification request stopped its enforcement
            message = prepared['budget'].get_enforcement_stop_message()
            if message:
                raise ClaimError('no_active_budget', message)
            raise error('no_active_budget')
        if amount > available:
            raise error('over_budget')
        if claimed + amount > authorisation.monthly_cap:
            raise error('over_monthly_cap',
                amount=amount, cap=authorisation.monthly_cap,
                claimed=claimed)
        if (not prepared['confirm_duplicate']
                and is_duplicate(cls._duplicate_key(prepared))):
            raise error('duplicate', service=prepared['product'].rec_name,
                date=prepared['date'], quantity=prepared['quantity'])

    @classmethod
    def _claim_values(cls, prepared, source, today, config,
            idempotency_key=None, digest=None):
        "The values of the new claim of prepared"
        authorisation = prepared['authorisation']
        budget = prepared['budget']
        return {
            'company': budget.company.id,
            'authorisation': authorisation.id,
            'provider': prepared['provider'].id,
            'client': authorisation.client.id,
            'budget': budget.id,
            'budget_line': prepared['line'].id,
            'date': prepared['date'],
            'product': prepared['product'].id,
            'quantity': prepared['quantity'],
            'unit_price': prepared['unit_price'],
            'amount': prepared['amount'],
            'claimed_amount': prepared['amount'],
            'source': source,
            'idempotency_key': idempotency_key,
            'idempotency_digest': (
                digest if idempotency_key is not None else None),
            'duplicate_confirmed': prepared['confirm_duplicate'],
            'dispute_end': today + dt.timedelta(
                days=config.get_claim_dispute_days()),
            'state': 'pending',
            }

    @classmethod
    def submit(cls, provider, authorisation, product, date, quantity,
            unit_price=None, idempotency_key=None, confirm_duplicate=False,
            source='portal', cache=None):
        """Claim quantity of product delivered on date under the
        authorisation for provider: check it, reserve its amount on the
        budget line and open the dispute window. Return (claim, created):
        the same idempotency key returns the first claim. Raise ClaimError
        (nothing written) when refused.

        cache: a dict kept by the caller over the claims of one request
        (a CSV upload): what does not change within it (the authorisation,
        the service, its contract and prices, the budget line) is looked
        up once; the budget, the cap and the duplicates are checked for
        each claim under the line's lock."""
        pool = Pool()
        Date = pool.get('ir.date')
        Party = pool.get('party.party')
        config = cls._config()
        provider = Party(int(provider))
        digest = None
        if idempotency_key is not None:
            if (not isinstance(idempotency_key, str)
                    or not 0 < len(idempotency_key) <= 255):
                raise error('invalid_request')
            digest = cls.request_digest({
                    'authorisation': authorisation, 'product': product,
                    'date': date, 'quantity': quantity,
                    'unit_price': unit_price})
            claim = cls.find_by_key(provider, idempotency_key)
            if claim:
                if claim.idempotency_digest != digest:
                    raise error('idempotency_key_reused',
                        key=idempotency_key)
                return claim, False
        today = Date.today()
        prepared = cls._prepare(provider, authorisation, product, date,
            quantity, unit_price=unit_price,
            confirm_duplicate=confirm_duplicate, cache=cache, today=today,
            config=config)

        def is_duplicate(key):
            provider_id, client_id, product_id, date, quantity = key
            return bool(cls.search([
                        ('provider', '=', provider_id),
                        ('client', '=', client_id),
                        ('product', '=', product_id),
                        ('date', '=', date),
                        ('quantity', '=', quantity),
                        ('state', 'in', OPEN_CLAIM_STATES),
                        ], limit=1))
        with without_check_access():
            line = prepared['line']
            # Locked before the cap and duplicate checks: claims and
            # charges of the budget line wait here one after the other
            available = cls._lock_budget_line(line)
            cls._check_funds(prepared, available,
                prepared['authorisation'].claimed_in_month(
                    prepared['date']),
                is_duplicate)
            claim, = cls.create([cls._claim_values(prepared, source,
                        today, config, idempotency_key=idempotency_key,
                        digest=digest)])
            cls._update_line('reserve', line, prepared['amount'],
                str(claim), date=prepared['date'])
        return claim, True

    @classmethod
    def submit_many(cls, provider, requests, source='csv'):
        """Claim for provider each request (a dict of the arguments of
        submit but the idempotency key, or the ClaimError refusing it
        already) at once: the rules of submit row after row, as if each
        claim were submitted after the ones accepted before it, with one
        lock and one reservation per budget line, one query for the
        duplicates and one create of the accepted claims. Return for each
        request its claim or the ClaimError refusing it (a refused
        request writes nothing)."""
        pool = Pool()
        Date = pool.get('ir.date')
        Party = pool.get('party.party')
        config = cls._config()
        provider = Party(int(provider))
        today = Date.today()
        cache = {}
        results = list(requests)
        prepared = {}
        for index, request in enumerate(requests):
            if isinstance(request, ClaimError):
                continue
            try:
                prepared[index] = cls._prepare(provider, cache=cache,
                    today=today, config=config, **request)
            except ClaimError as exception:
                results[index] = exception
        if not prepared:
            return results
        with without_check_access():
            # each line locked once, in the order of the charges' locks
            lines = sorted({p['line'].id for p in prepared.values()})
            available = {
                line: cls._lock_budget_line(line) for line in lines}
            open_keys = cls._open_duplicate_keys(
                provider, prepared.values())
            claimed = {}
            accepted = []
            for index in sorted(prepared):
                claim = prepared[index]
                authorisation = claim['authorisation']
                month = (authorisation.id, month_start(claim['date']))
                if month not in claimed:
                    claimed[month] = authorisation.claimed_in_month(
                        claim['date'])
                try:
                    cls._check_funds(claim, available[claim['line'].id],
                        claimed[month], open_keys.__contains__)
                except ClaimError as exception:
                    results[index] = exception
                    continue
                available[claim['line'].id] -= claim['amount']
                claimed[month] += claim['amount']
                open_keys.add(cls._duplicate_key(claim))
                accepted.append(index)
            values = [cls._claim_values(prepared[i], source, today, config)
                for i in accepted]
            claims = []
            # (by CREATE_BATCH: Tryton checks each record of a batch
            # against the batch's ids, quadratic in its size)
            for start in range(0, len(values), CREATE_BATCH):
                claims.extend(
                    cls.create(values[start:start + CREATE_BATCH]))
            by_line = defaultdict(list)
            for index, claim in zip(accepted, claims):
                results[index] = claim
                by_line[prepared[index]['line'].id].append(index)
            for line in lines:
                if not by_line[line]:
                    continue
                indexes = by_line[line]
                first, last = results[indexes[0]], results[indexes[-1]]
                # one reservation of the line's claims (their ledger
                # entry names the first and the last)
                cls._update_line('reserve', line,
                    sum(prepared[i]['amount'] for i in indexes),
                    '%s..%d' % (first, last.id),
                    date=max(prepared[i]['date'] for i in indexes))
        return results

    @classmethod
    def _open_duplicate_keys(cls, provider, prepared):
        """The duplicate keys of provider's open claims like the prepared
        ones (one query over their clients, services and dates)"""
        prepared = list(prepared)
        keys = set()
        if not prepared:
            return keys
        for claim in cls.search_read([
                    ('provider', '=', provider.id),
                    ('client', 'in', list({
                                p['authorisation'].client.id
                                for p in prepared})),
                    ('product', 'in', list({
                                p['product'].id for p in prepared})),
                    ('date', '>=', min(p['date'] for p in prepared)),
                    ('date', '<=', max(p['date'] for p in prepared)),
                    ('state', 'in', OPEN_CLAIM_STATES),
                    ], fields_names=['client', 'product', 'date',
                    'quantity']):
            keys.add((provider.id, claim['client'], claim['product'],
                    claim['date'], claim['quantity']))
        return keys

    @classmethod
    def submit_schedule(cls, provider, authorisation, product, start, end,
            weekdays, quantity, **kwargs):
        """Claim the service on each date of the weekly schedule from start
        to end: all of them or none (the first refusal is raised)"""
        claims = []
        for date in expand_schedule(start, end, weekdays):
            claim, _ = cls.submit(
                provider, authorisation, product, date, quantity, **kwargs)
            claims.append(claim)
        return claims

    # The client

    @classmethod
    def dispute(cls, claim, client, reason=None):
        """Dispute the pending claim for the client within its window:
        it is frozen (not captured) until the own-worker resolves it"""
        pool = Pool()
        Date = pool.get('ir.date')
        with without_check_access():
            claims = cls.search([
                    ('id', '=', int(claim)),
                    ('client', '=', int(client)),
                    ], limit=1)
            if not claims:
                raise error('not_found')
            claim, = claims
            if claim.state != 'pending':
                raise error('not_pending', claim=claim.rec_name)
            if claim.dispute_end < Date.today():
                raise error('dispute_window_closed', claim=claim.rec_name)
            claim.dispute_reason = (reason or '').strip()[:2000] or None
            claim.disputed_at = dt.datetime.now()
            cls._dispute([claim])
        return claim

    @classmethod
    @Workflow.transition('disputed')
    def _dispute(cls, claims):
        for claim in claims:
            # (set here: the transition then writes nothing more)
            claim.state = 'disputed'
        with without_check_access():
            cls.save(claims)

    # Capture and resolution

    def _make_charge(self, amount):
        """Make the captured charge of amount for the claim through the
        charges' path: its budget reservation is captured and the charge
        is then posted, billed and paid as any charge"""
        pool = Pool()
        Charge = pool.get('hb.charge')
        Line = pool.get('hb.charge.line')
        Date = pool.get('ir.date')
        template = self.product.template
        contract = template.hb_contract
        sale_point = contract.get_hb_sale_point()
        if not sale_point:
            raise ChargeError('not_configured',
                gettext('hb_voucher.msg_charge_not_configured'))
        # (a reduced claim's amount is already the new one: compared with
        # what was claimed, or its line would bill the claimed quantity)
        if amount == self.currency.round(self.quantity * self.unit_price):
            quantity, price = self.quantity, self.unit_price
        elif amount % self.unit_price == 0:
            quantity, price = amount / self.unit_price, self.unit_price
        else:
            quantity, price = Decimal(1), amount
        line = Line(product=self.product, quantity=quantity,
            unit_price=price, amount=amount, currency=self.currency,
            budget_line=self.budget_line)
        charge = Charge(
            company=self.company, currency=self.currency, kind='charge',
            provider=self.provider,
            contract=contract, sale_point=sale_point, client=self.client,
            mobile=self.client.hb_mobile, budget=self.budget,
            date=Date.today(), lines=[line], amount=amount,
            number=Charge._set_number(), state='requested')
        with without_check_access():
            charge.save()
            try:
                charge._update_budget('capture')
            except ChargeError as exception:
                raise error('no_active_budget') from exception
            Charge._capture([charge])
        return charge

    @classmethod
    def _capture_claims(cls, claims, state):
        """Capture the claims through their charges and set their state
        (here, saved without the access check: the transition then
        writes nothing more, and a button of the own-worker may write the
        claim only through these methods)"""
        for claim in claims:
            cls._lock_budget_line(claim.budget_line)
            claim.charge = claim._make_charge(claim.amount)
            claim.state = state
        with without_check_access():
            cls.save(claims)

    @classmethod
    @Workflow.transition('captured')
    def _capture(cls, claims):
        cls._capture_claims(claims, 'captured')

    def _resolved(self):
        pool = Pool()
        User = pool.get('res.user')
        self.resolved_by = User(Transaction().user)
        self.resolved_at = dt.datetime.now()

    @classmethod
    @ModelView.button
    @Workflow.transition('captured')
    @busy_try_again
    def accept(cls, claims):
        "Accept the disputed claims: they are captured at once"
        for claim in claims:
            claim._resolved()
        cls._capture_claims(claims, 'captured')

    @classmethod
    @ModelView.button
    @Workflow.transition('reduced')
    @busy_try_again
    def reduce(cls, claims):
        """Reduce the disputed claims to their new amount (with a reason):
        the difference is released and the rest captured"""
        for claim in claims:
            amount = claim.resolution_amount
            if not (claim.resolution_reason or '').strip():
                raise error('reason_required', claim=claim.rec_name)
            if (amount is None or amount <= 0 or amount >= claim.amount
                    or claim.currency.round(amount) != amount):
                raise error('reduce_amount', claim=claim.rec_name,
                    amount=claim.amount)
            cls._lock_budget_line(claim.budget_line)
            cls._update_line('release', claim.budget_line,
                claim.amount - amount, str(claim))
            claim.amount = amount
            claim._resolved()
        cls._capture_claims(claims, 'reduced')

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    @busy_try_again
    def reject(cls, claims):
        "Reject the disputed claims (with a reason): the budget gets it back"
        for claim in claims:
            if not (claim.resolution_reason or '').strip():
                raise error('reason_required', claim=claim.rec_name)
            cls._lock_budget_line(claim.budget_line)
            cls._update_line('release', claim.budget_line, claim.amount,
                str(claim))
            claim._resolved()
            claim.state = 'rejected'
        with without_check_access():
            cls.save(claims)

    @classmethod
    def capture_claims(cls, date=None):
        """Capture the pending claims whose dispute window has closed
        (scheduled task). Return the captured claims."""
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        claims = cls.search([
                ('state', '=', 'pending'),
                ('dispute_end', '<', date),
                ], order=[('budget_line', 'ASC'), ('id', 'ASC')])
        if claims:
            cls._capture(claims)
        return claims
