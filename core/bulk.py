"""Bulk inserts at the speed of the driver: one compiled ``INSERT`` and plain tuples,
inside the session's transaction.

SQLAlchemy's Core ``executemany`` builds a parameter dictionary per row through the
compiler (about as long as the insert itself on SQLite); here the values only go
through each column's bind processor for the dialect (a ``Decimal`` becomes what
the driver takes, a date its ISO text on SQLite), exactly as SQLAlchemy would
convert them. A column a row leaves out takes its Python default (a callable one
is called once for the whole insert).

On SQLite the rows go as multi-row ``INSERT … VALUES (…), (…)`` statements of up to
the dialect's ``insertmanyvalues`` page (what SQLAlchemy's "insertmanyvalues" does):
one statement per row costs a statement journal per row on a table with triggers (the
search index of clients: 16 KB written per row) and about 40 % more time elsewhere.
Elsewhere (psycopg: pipelined) the driver's ``executemany``.
"""
from itertools import chain
from operator import itemgetter
from types import FunctionType

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
    keys += list(defaults)
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup) if compiled.positional else keys
    columns = []  # converted column by column: one bind processor call per value, no Python loop per row
    for key in order:
        process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if key in defaults:
            columns.append([process(defaults[key]) if process else defaults[key]] * len(rows))
            continue
        values = list(map(itemgetter(key), rows))
        columns.append(_converted(values, process) if process else values)
    parameters = list(zip(*columns)) if compiled.positional else [dict(zip(order, values))
                                                                   for values in zip(*columns)]
    cursor = connection.connection.driver_connection.cursor()
    statement = str(compiled)
    try:
        if dialect.paramstyle == "qmark" and _values_group(statement, len(order)):
            _insert_many_values(cursor, statement, parameters, dialect)
        else:
            cursor.executemany(statement, parameters)
    except dialect.dbapi.Error as error:  # as SQLAlchemy raises it: IntegrityError on a unique key…
        raise DBAPIError.instance(statement, None, error, dialect.dbapi.Error, dialect=dialect) from error
    finally:
        cursor.close()


def _converted(values: list, process) -> list:
    """``values`` through ``process``; through a Python one (dates and times), a value
    repeated (the run's time stamp, the file's date) converted once."""
    if not isinstance(process, FunctionType):  # compiled: as fast as a look-up
        return list(map(process, values))
    try:
        distinct = set(values)
    except TypeError:  # unhashable (JSON)
        return list(map(process, values))
    if len(distinct) > len(values) // 2:
        return list(map(process, values))
    converted = {value: process(value) for value in distinct}
    return list(map(converted.__getitem__, values))


def _values_group(statement: str, width: int) -> str:
    """The ``(?, ?, …)`` a one-row qmark ``INSERT`` ends with, or "" when it is not that."""
    _head, found, group = statement.rpartition(" VALUES ")
    return group if found and group == "(" + ", ".join(["?"] * width) + ")" else ""


def _insert_many_values(cursor, statement: str, parameters: list[tuple], dialect) -> None:
    width = len(parameters[0])
    head, _values, group = statement.rpartition(" VALUES ")
    page = max(1, min(dialect.insertmanyvalues_page_size, dialect.insertmanyvalues_max_parameters // width))
    full = f"{head} VALUES {', '.join([group] * page)}"
    for start in range(0, len(parameters), page):
        part = parameters[start:start + page]
        sql = full if len(part) == page else f"{head} VALUES {', '.join([group] * len(part))}"
        cursor.execute(sql, list(chain.from_iterable(part)))
