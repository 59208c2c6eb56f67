# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Helpers of the charge path."""
from sql.functions import CurrentTimestamp
from trytond.transaction import Transaction


def insert_row(Model, values):
    """Insert one row of Model with values (column name: value) in one
    INSERT, with the creation user and date as the ORM writes them, and
    return its id.

    For rows written on every charge whose values need none of the ORM's
    checks (or whose checks hold by construction, proven by a test): the
    ORM's create validates record by record, which costs more than the
    rest of a charge (issue 7)."""
    transaction = Transaction()
    database = transaction.database
    cursor = transaction.connection.cursor()
    table = Model.__table__()
    columns = [table.create_uid, table.create_date] + [
        getattr(table, name) for name in values]
    row = [transaction.user, CurrentTimestamp()] + list(values.values())
    if database.has_returning():
        cursor.execute(*table.insert(columns, [row], [table.id]))
        return cursor.fetchone()[0]
    cursor.execute(*table.insert(columns, [row]))
    return database.lastid(cursor)
