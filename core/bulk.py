"""Bulk inserts and reads at the speed of the driver: one compiled ``INSERT`` and the
DB-API ``executemany`` of plain tuples, inside the session's transaction; the rows of
a ``select`` as plain tuples from the DB-API cursor.

SQLAlchemy's Core ``executemany`` builds a parameter dictionary per row through the
compiler (about as long as the insert itself on SQLite); here the values only go
through each column's bind processor for the dialect (a ``Decimal`` becomes what
the driver takes, a date its ISO text on SQLite), exactly as SQLAlchemy would
convert them. A column a row leaves out takes its Python default (a callable one
is called once for the whole insert). Reading is the same the other way round: the
values go through each selected column's result processor, a column at a time.
"""
from operator import itemgetter

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from core.extensions import db


def fast_insert(table, rows: list[dict], connection=None) -> None:
    """Insert ``rows`` (dicts of the same keys) into ``table`` on ``connection`` (a Core
    connection; the session's by default, inside its transaction)."""
    if not rows:
        return
    connection = connection if connection is not None else db.session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    defaults = {}
    for column in table.columns:
        if column.key in keys or column.default is None or column.primary_key:
            continue
        default = column.default
        defaults[column.key] = default.arg(None) if default.is_callable else default.arg if default.is_scalar else None
    if defaults:
        rows = [{**defaults, **row} for row in rows]
        keys += list(defaults)
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    processors = {key: table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys}
    if compiled.positional:
        order = list(compiled.positiontup)
        plan = [(key, processors[key]) for key in order]
        parameters = [tuple(process(row[key]) if process else row[key] for key, process in plan) for row in rows]
    else:
        plan = [(key, processors[key]) for key in keys]
        parameters = [{key: process(row[key]) if process else row[key] for key, process in plan} for row in rows]
    cursor = connection.connection.driver_connection.cursor()
    statement = str(compiled)
    try:
        cursor.executemany(statement, parameters)
    except dialect.dbapi.Error as error:  # as SQLAlchemy raises it: IntegrityError on a unique key…
        raise DBAPIError.instance(statement, None, error, dialect.dbapi.Error, dialect=dialect) from error
    finally:
        cursor.close()


def fast_rows(statement, connection=None) -> list[tuple]:
    """The rows of a Core ``select`` as plain tuples, fetched at once from the DB-API
    cursor, each value converted as SQLAlchemy returns it (a ``Decimal``, a date, a
    bool): no ``Row`` per row, and tuples of plain values the garbage collector stops
    looking at (70,000 rows of a field-service send)."""
    connection = connection if connection is not None else db.session.connection()
    dialect = connection.dialect
    result = connection.execute(statement)
    try:
        description, rows = result.cursor.description, result.cursor.fetchall()
    finally:
        result.close()
    processors = {}
    for index, column in enumerate(statement.selected_columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, description[index][1])
        if process is not None:
            processors[index] = process
    if not processors or not rows:
        return rows
    # a column at a time (not ``zip(*rows)``: an iterator per row, each one long-lived
    # enough to cost the garbage collector a full pass over the heap)
    columns = [map(process, map(itemgetter(index), rows)) if (process := processors.get(index))
               else map(itemgetter(index), rows) for index in range(len(description))]
    return list(zip(*columns))
