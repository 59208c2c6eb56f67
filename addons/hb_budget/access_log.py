# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
from sql import Null
from sql.functions import CurrentTimestamp
from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import AccessLogError


class AccessLog(ModelSQL, ModelView):
    __name__ = 'hb.access.log'
    __string__ = "Personal Budget Access Log"

    date = fields.Timestamp("Date", readonly=True, required=True)
    user = fields.Many2One(
        'res.user', "User", readonly=True, ondelete='RESTRICT')
    model = fields.Char("Model", size=100, readonly=True, required=True)
    model_string = fields.Function(
        fields.Char("Data"), 'get_model_string')
    record = fields.Integer("Record ID", readonly=True, required=True)
    resource = fields.Function(
        fields.Reference("Record", selection='get_models'), 'get_resource')
    client = fields.Many2One(
        'party.party', "Client", readonly=True, ondelete='RESTRICT',
        help="The client whose data was read.")
    channel = fields.Selection([
            (None, ""),
            ('rpc', "Web Client / RPC"),
            ('portal', "Provider Portal"),
            ('api', "Terminal API"),
            ('client_page', "Client Page"),
            ], "Channel", readonly=True,
        help="Where the data was read.")
    actor = fields.Many2One(
        'party.party', "Web Reader", readonly=True, ondelete='RESTRICT',
        help="The provider, client or representative who read the data "
        "on a web page or through the terminal API (no Tryton user).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.client, Index.Range()), (t.date, Index.Range())),
                Index(t, (t.user, Index.Range()), (t.date, Index.Range())),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def get_models(cls):
        pool = Pool()
        Model = pool.get('ir.model')
        return [(None, '')] + [
            (m, Model.get_name(m)) for m in cls._logged_models()]

    @classmethod
    def _logged_models(cls):
        return [
            'party.party', 'hb.plan', 'hb.decision', 'hb.budget',
            'hb.budget.line',
            ]

    def get_model_string(self, name):
        pool = Pool()
        Model = pool.get('ir.model')
        return Model.get_name(self.model)

    def get_resource(self, name):
        return '%s,%s' % (self.model, self.record)

    @classmethod
    def check_modification(cls, mode, logs, values=None, external=False):
        super().check_modification(
            mode, logs, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise AccessLogError(gettext('hb_budget.msg_access_log_readonly'))

    @classmethod
    def log(cls, model, records):
        """Record that the user read records of model through RPC.

        records is a list of (record id, client id) pairs. They are written
        in one INSERT: at once, or at commit in a transaction of its own
        when the request is read-only (as reads are)."""
        transaction = Transaction()
        if not records or not transaction.check_access:
            return
        user = transaction.user
        rows = [(model, record, client, user, 'rpc', None)
            for record, client in records]
        cls._write_rows(rows)

    @classmethod
    def log_web(cls, channel, actor, model, records):
        """Record that actor (a party: the provider, the client or a
        representative) read records of model on a web page or through
        the terminal API; records is a list of (record id, client id)"""
        rows = [(model, record, client, None, channel, int(actor))
            for record, client in records]
        if rows:
            cls._write_rows(rows)

    @classmethod
    def _write_rows(cls, rows):
        transaction = Transaction()
        if transaction.readonly:
            manager = transaction.join(_AccessLogDataManager())
            manager.rows.extend(rows)
        else:
            cls._insert(transaction.connection, rows)

    @classmethod
    def _insert(cls, connection, rows):
        table = cls.__table__()
        cursor = connection.cursor()
        for sub_rows in grouped_slice(rows, 1000):
            values = [
                [CurrentTimestamp(),
                    user if user is not None else Null, model, record,
                    client if client is not None else Null,
                    channel, actor if actor is not None else Null,
                    user if user is not None else 0, CurrentTimestamp()]
                for model, record, client, user, channel, actor in sub_rows]
            cursor.execute(*table.insert(
                    [table.date, table.user, table.model, table.record,
                        table.client, table.channel, table.actor,
                        table.create_uid, table.create_date],
                    values))


class _AccessLogDataManager:
    "Write the access log rows of a read-only transaction when it commits"

    def __init__(self):
        self.rows = []

    def __eq__(self, other):
        return isinstance(other, _AccessLogDataManager)

    def __hash__(self):
        return hash(_AccessLogDataManager)

    def tpc_abort(self, transaction):
        self.rows.clear()

    def tpc_begin(self, transaction):
        pass

    def commit(self, transaction):
        if not self.rows:
            return
        pool = Pool()
        AccessLog = pool.get('hb.access.log')
        with Transaction().new_transaction() as log_transaction:
            AccessLog._insert(log_transaction.connection, self.rows)
            log_transaction.commit()
        self.rows.clear()

    def tpc_vote(self, transaction):
        pass

    def tpc_finish(self, transaction):
        pass


class CheckedExportMixin:
    """Apply the record rules to exports: Tryton exports by browsing,
    without access checks, so read the ids first (which refuses what may
    not be read and, with AccessLogMixin, logs the export)"""
    __slots__ = ()

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        if Transaction().check_access and records:
            cls.read([r.id for r in records], ['id'])
        return super().export_data(records, fields_names, header=header)


class AccessLogMixin(CheckedExportMixin):
    "Log in hb.access.log every read made through RPC"
    __slots__ = ()
    _hb_client_field = 'client'

    @classmethod
    def read(cls, ids, fields_names):
        pool = Pool()
        AccessLog = pool.get('hb.access.log')
        result = super().read(ids, fields_names)
        if Transaction().check_access and ids:
            AccessLog.log(cls.__name__, cls._hb_access_clients(ids))
        return result

    @classmethod
    def _hb_access_clients(cls, ids):
        "Return the (id, client id) pairs of ids"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        pairs = []
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(
                    table.id, getattr(table, cls._hb_client_field),
                    where=table.id.in_(list(sub_ids))))
            pairs.extend(cursor)
        return pairs


