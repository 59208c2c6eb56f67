# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
import phonenumbers
from sql import Literal, Null
from sql.operators import Equal
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import hetu as stdnum_hetu
from trytond import backend
from trytond.i18n import gettext
from trytond.model import Exclude, ModelSQL, ModelView, fields
from trytond.modules.party.exceptions import InvalidIdentifierCode
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import HetuAccessError, HetuError, MobileError

HETU_MASK = '***********'

ROLES = [
    ('guardian', "Guardian"),
    ('relative', "Relative"),
    ('support_person', "Support Person"),
    ('other', "Other"),
    ]


def compact_hetu(code):
    "Return the HETU in its stored form (upper case, no spaces)"
    if not code:
        return code
    return stdnum_hetu.compact(code)


def is_valid_hetu(code):
    "Validate a HETU, accepting temporary codes (individual 900-999)"
    try:
        stdnum_hetu.validate(code, allow_temporary=True)
    except StdnumValidationError:
        return False
    return True


def normalize_mobile(number):
    """Return number in E.164 (Finnish numbers may be written nationally)
    or None if it is not a valid mobile or fixed-line number"""
    try:
        parsed = phonenumbers.parse(number, 'FI')
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.E164)


def hetu_restricted(external=None):
    """Return the user id whose view of HETUs must be restricted to own
    clients, or None when the user may see every HETU (internal calls,
    root, HB administrators)"""
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    transaction = Transaction()
    if external is None:
        external = transaction.check_access
    if not external or not transaction.user:
        return None
    admin_group = ModelData.get_id('hb_budget', 'group_hb_admin')
    if admin_group in User.get_groups():
        return None
    return transaction.user


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    hb_client = fields.Boolean(
        "Personal Budget Client",
        help="Check if the party is a client of personal budgets.")
    hb_hetu = fields.Char(
        "Personal Identity Code", size=20, strip=True,
        states={
            'required': Eval('hb_client', False),
            'invisible': ~Eval('hb_client', False),
            },
        help="The Finnish personal identity code (HETU), "
        "temporary codes included.\n"
        "Shown only to the client's own-worker and HB administrators.")
    hb_municipality = fields.Many2One(
        'hb.municipality', "Municipality", ondelete='RESTRICT',
        states={
            'invisible': ~Eval('hb_client', False),
            },
        help="The municipality of residence of the client.")
    hb_customer_groups = fields.Many2Many(
        'party.party-hb.customer.group', 'party', 'group',
        "Customer Groups",
        states={
            'invisible': ~Eval('hb_client', False),
            })
    hb_own_worker = fields.Many2One(
        'res.user', "Own-Worker", ondelete='RESTRICT',
        states={
            'invisible': ~Eval('hb_client', False),
            },
        help="The social worker responsible for the client (omatyöntekijä).")
    hb_mobile = fields.Char(
        "Personal Budget Mobile", size=30,
        states={
            'invisible': ~Eval('hb_client', False),
            },
        help="The mobile phone number with which the client pays "
        "with the personal budget, stored in international form.")
    hb_representatives = fields.One2Many(
        'hb.client.representative', 'client', "Representatives",
        states={
            'invisible': ~Eval('hb_client', False),
            },
        help="The people who act for the client or help them "
        "manage the budget.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('hb_hetu_unique',
                Exclude(t, (t.hb_hetu, Equal), where=t.hb_hetu != Null),
                'hb_budget.msg_party_hetu_unique'),
            ('hb_mobile_unique',
                Exclude(t, (t.hb_mobile, Equal),
                    where=(t.hb_client == Literal(True))
                    & (t.hb_mobile != Null)),
                'hb_budget.msg_party_mobile_unique'),
            ]

    @classmethod
    def default_hb_client(cls):
        return False

    @classmethod
    def default_hb_own_worker(cls):
        "A client made from the Clients list is the own-worker's by default"
        transaction = Transaction()
        if transaction.context.get('default_hb_client') and transaction.user:
            return transaction.user

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('hb_hetu'):
            values['hb_hetu'] = compact_hetu(values['hb_hetu'])
        if values.get('hb_mobile'):
            values['hb_mobile'] = (
                normalize_mobile(values['hb_mobile']) or values['hb_mobile'])
        return values

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        super().check_modification(
            mode, parties, values=values, external=external)
        if mode == 'write' and 'hb_hetu' in values:
            user = hetu_restricted(external)
            if user is not None:
                for party in parties:
                    if (party.hb_hetu
                            and party.hb_own_worker
                            and party.hb_own_worker.id != user):
                        raise HetuAccessError(gettext(
                                'hb_budget.msg_party_hetu_access',
                                party=party.rec_name))

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        cls.check_hb_hetu(parties, field_names)
        cls.check_hb_mobile(parties, field_names)

    @classmethod
    def check_hb_hetu(cls, parties, field_names=None):
        if field_names and 'hb_hetu' not in field_names:
            return
        for party in parties:
            if party.hb_hetu and not is_valid_hetu(party.hb_hetu):
                raise HetuError(gettext(
                        'hb_budget.msg_party_hetu_invalid',
                        code=party.hb_hetu, party=party.rec_name))

    @classmethod
    def check_hb_mobile(cls, parties, field_names=None):
        if field_names and 'hb_mobile' not in field_names:
            return
        for party in parties:
            if party.hb_mobile and (
                    normalize_mobile(party.hb_mobile) != party.hb_mobile):
                raise MobileError(gettext(
                        'hb_budget.msg_party_mobile_invalid',
                        mobile=party.hb_mobile, party=party.rec_name))

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode in {'create', 'write'} and (
                field_names is None or 'hb_hetu' in field_names):
            cls._sync_hetu_identifiers(parties)

    @classmethod
    def _sync_hetu_identifiers(cls, parties):
        "Keep a party identifier of type fi_hetu equal to hb_hetu"
        pool = Pool()
        Identifier = pool.get('party.identifier')
        with without_check_access():
            parties = cls.browse(parties)
            identifiers = Identifier.search([
                    ('party', 'in', [p.id for p in parties]),
                    ('type', '=', 'fi_hetu'),
                    ])
            by_party = {}
            for identifier in identifiers:
                by_party.setdefault(identifier.party.id, identifier)
            to_save, to_delete = [], []
            for party in parties:
                identifier = by_party.get(party.id)
                if party.hb_hetu:
                    if not identifier:
                        identifier = Identifier(
                            party=party, type='fi_hetu')
                    if getattr(identifier, 'code', None) != party.hb_hetu:
                        identifier.code = party.hb_hetu
                        to_save.append(identifier)
                elif identifier:
                    to_delete.append(identifier)
            Identifier.save(to_save)
            Identifier.delete(to_delete)

    @classmethod
    def search_domain(cls, domain, active_test=None, tables=None):
        "Search by HETU only among own clients for restricted users"
        user = hetu_search_user()
        if user is not None:
            domain = restrict_domain(
                domain, {'hb_hetu'}, ('hb_own_worker', '=', user))
        with Transaction().set_context(_hb_hetu_user=user):
            return super().search_domain(
                domain, active_test=active_test, tables=tables)

    @classmethod
    def read(cls, ids, fields_names):
        pool = Pool()
        AccessLog = pool.get('hb.access.log')
        result = super().read(ids, fields_names)
        hb_fields = {f for f in fields_names if f.startswith('hb_')}
        if not (Transaction().check_access and hb_fields and ids):
            return result
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        clients = {}
        for sub_ids in _grouped(ids):
            cursor.execute(*table.select(
                    table.id, table.hb_own_worker,
                    where=table.id.in_(sub_ids)
                    & (table.hb_client == Literal(True))))
            clients.update(cursor)
        if 'hb_hetu' in hb_fields:
            user = hetu_restricted()
            if user is not None:
                for row in result:
                    if (row.get('hb_hetu')
                            and clients.get(row['id'], -1) != user):
                        row['hb_hetu'] = HETU_MASK
        AccessLog.log(
            cls.__name__, [(i, i) for i in ids if i in clients])
        return result


    @classmethod
    def export_data(cls, records, fields_names, header=False):
        """Export as read does: record rules apply, HETUs of other users'
        clients are masked and the export of clients is logged"""
        transaction = Transaction()
        if not (transaction.check_access and records):
            return super().export_data(
                records, fields_names, header=header)
        ids = [r.id for r in records]
        hb_fields = [f for f in fields_names
            if f.split('/')[0].startswith('hb_')]
        # the rules, the mask and the log of read for the exported fields
        rows = {row['id']: row for row in cls.read(
                ids, ['id'] + [f.split('/')[0] for f in hb_fields])}
        if 'hb_hetu' not in fields_names:
            return super().export_data(
                records, fields_names, header=header)
        # Record by record: the first line of each is the record's own
        index = fields_names.index('hb_hetu')
        data = super().export_data([], fields_names, header=header)
        for record in records:
            lines = super().export_data([record], fields_names)
            if lines and rows[record.id].get('hb_hetu') == HETU_MASK:
                lines[0][index] = HETU_MASK
            data.extend(lines)
        return data


def hetu_search_user():
    """Return the user whose HETU searches are restricted to own clients.

    Domains are converted without access checks, so the restriction is
    decided when the search starts and passed down in the context."""
    context = Transaction().context
    if '_hb_hetu_user' in context:
        return context['_hb_hetu_user']
    return hetu_restricted()


def restrict_domain(domain, names, restriction):
    """Return domain with each clause on a field of names (or through it)
    joined by AND with the restriction domain"""
    if (isinstance(domain, (list, tuple)) and len(domain) >= 3
            and isinstance(domain[0], str) and isinstance(domain[1], str)
            and domain[0] not in {'AND', 'OR'}):
        if domain[0].split('.', 1)[0] in names:
            return [domain, restriction]
        return domain
    if isinstance(domain, (list, tuple)):
        return [restrict_domain(d, names, restriction)
            if not isinstance(d, str) else d for d in domain]
    return domain


def _grouped(ids):
    for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
        yield list(sub_ids)


class PartyCustomerGroup(ModelSQL):
    __name__ = 'party.party-hb.customer.group'
    __string__ = "Party - Customer Group"

    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='CASCADE')
    group = fields.Many2One(
        'hb.customer.group', "Customer Group", required=True,
        ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')


class Representative(ModelSQL, ModelView):
    __name__ = 'hb.client.representative'
    __string__ = "Client Representative"

    client = fields.Many2One(
        'party.party', "Client", required=True, ondelete='CASCADE',
        domain=[('hb_client', '=', True)])
    party = fields.Many2One(
        'party.party', "Representative", required=True, ondelete='RESTRICT',
        help="The person who acts for the client.")
    role = fields.Selection(ROLES, "Role", required=True)
    mobile = fields.Char(
        "Mobile", size=30,
        help="The mobile phone number, in international form.")
    may_view_balance = fields.Boolean(
        "May View the Balance",
        help="Check if the representative may see the balance "
        "of the client's budget.")
    may_confirm_charges = fields.Boolean(
        "May Confirm Charges",
        help="Check if the representative may confirm charges "
        "on the client's budget.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('client')

    @classmethod
    def default_role(cls):
        return 'relative'

    @classmethod
    def default_may_view_balance(cls):
        return True

    @classmethod
    def default_may_confirm_charges(cls):
        return False

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('mobile'):
            values['mobile'] = (
                normalize_mobile(values['mobile']) or values['mobile'])
        return values

    @classmethod
    def validate_fields(cls, representatives, field_names):
        super().validate_fields(representatives, field_names)
        if field_names and 'mobile' not in field_names:
            return
        for representative in representatives:
            if representative.mobile and (
                    normalize_mobile(representative.mobile)
                    != representative.mobile):
                raise MobileError(gettext(
                        'hb_budget.msg_party_mobile_invalid',
                        mobile=representative.mobile,
                        party=representative.party.rec_name))

    def get_rec_name(self, name):
        return self.party.rec_name


class Identifier(metaclass=PoolMeta):
    __name__ = 'party.identifier'

    @fields.depends('type', 'code', 'party')
    def check_code(self):
        if self.type == 'fi_hetu':
            if not is_valid_hetu(self.code or ''):
                if self.party and self.party.id > 0:
                    party = self.party.rec_name
                else:
                    party = ''
                raise InvalidIdentifierCode(gettext(
                        'party.msg_invalid_code',
                        type=self.type_string,
                        code=self.code,
                        party=party))
        else:
            super().check_code()

    @classmethod
    def search_domain(cls, domain, active_test=None, tables=None):
        "Search HETU codes only of own clients for restricted users"
        user = hetu_search_user()
        if user is not None:
            domain = restrict_domain(domain, {'code', 'code_compact'}, [
                    'OR',
                    ('type', '!=', 'fi_hetu'),
                    ('party', 'where', [('hb_own_worker', '=', user)]),
                    ])
        with Transaction().set_context(_hb_hetu_user=user):
            return super().search_domain(
                domain, active_test=active_test, tables=tables)

    @classmethod
    def read(cls, ids, fields_names):
        pool = Pool()
        Party = pool.get('party.party')
        result = super().read(ids, fields_names)
        masked = {'code', 'code_compact', 'rec_name'} & set(fields_names)
        user = hetu_restricted() if masked else None
        if user is None:
            return result
        table = cls.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        hidden = set()
        for sub_ids in _grouped(ids):
            cursor.execute(*table.join(party,
                    condition=table.party == party.id
                    ).select(table.id,
                    where=table.id.in_(sub_ids)
                    & (table.type == 'fi_hetu')
                    & ((party.hb_own_worker != user)
                        | (party.hb_own_worker == Null))))
            hidden.update(i for i, in cursor)
        for row in result:
            if row['id'] in hidden:
                for name in masked:
                    row[name] = HETU_MASK
        return result
