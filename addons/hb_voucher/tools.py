# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Helpers of the charge path."""
from sql.functions import CurrentTimestamp
from trytond.transaction import Transaction


def insert_row(Model, values):
    """Insert one row of the HB model Model with values (column name:
    value) in one INSERT (sql_insert) and return its id.

    For rows written on every charge whose values need none of the ORM's
    checks (or whose checks hold by construction, proven by a test): the
    ORM's create validates record by record, which costs more than the
    rest of a charge (issue 7)."""
    id_, = sql_insert(Model, [values])
    return id_


def stored_values(record):
    """Return {column: value} of the unsaved record as the ORM's create
    stores them: its values, else the model's defaults (relations as
    ids), through each field's sql_format (for insert_row)"""
    from trytond.model import fields
    Model = record.__class__
    names = [name for name, field in Model._fields.items()
        if name not in {'id', 'create_uid', 'create_date', 'write_uid',
            'write_date'}
        and not isinstance(field, (fields.Function, fields.One2Many,
                fields.Many2Many))]
    missing = [n for n in names if not hasattr(record, n)]
    defaults = Model.default_get(missing, with_rec_name=False) \
        if missing else {}
    values = {}
    for name in names:
        field = Model._fields[name]
        # (an unsaved record has the values it was given, nothing else)
        value = getattr(record, name, defaults.get(name))
        if isinstance(field, fields.Many2One) and value is not None:
            # (an unsaved parent: set by the caller)
            value = value.id if hasattr(value, 'id') else int(value)
        values[name] = field.sql_format(value)
    return values


def sql_insert(Model, rows):
    """Insert rows ({column: value}, the same columns) of the HB model
    Model in one INSERT, with the creation user and date as the ORM writes
    them; return their ids in order.

    Only for HB's own tables (never another module's), for rows whose
    values the ORM's create would store (stored_values; a test compares
    them) and whose checks hold by construction."""
    assert Model.__name__.startswith('hb.'), Model.__name__
    transaction = Transaction()
    database = transaction.database
    cursor = transaction.connection.cursor()
    table = Model.__table__()
    names = list(rows[0])
    columns = [table.create_uid, table.create_date] + [
        getattr(table, name) for name in names]
    values = [[transaction.user, CurrentTimestamp()]
        + [row[name] for name in names] for row in rows]
    if database.has_returning():
        cursor.execute(*table.insert(columns, values, [table.id]))
        return [id_ for id_, in cursor]
    ids = []
    for row in values:
        cursor.execute(*table.insert(columns, [row]))
        ids.append(database.lastid(cursor))
    return ids
