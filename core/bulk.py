"""Bulk inserts and reads at the speed of the driver: one compiled ``INSERT`` (or
upsert) and the DB-API ``executemany`` of plain tuples, inside the session's
transaction; the rows of a ``select`` as plain tuples from the DB-API cursor.

SQLAlchemy's Core ``executemany`` builds a parameter dictionary per row through the
compiler (about as long as the insert itself on SQLite); here the values only go
through each column's bind processor for the dialect (a ``Decimal`` becomes what
the driver takes, a date its ISO text on SQLite), exactly as SQLAlchemy would
convert them. A column a row leaves out takes its Python default (a callable one
is called once for the whole insert). Reading is the same the other way round: the
values go through each selected column's result processor, a column at a time.
"""
from itertools import repeat
from operator import itemgetter

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from core.extensions import db


def fast_insert(table, rows: list[dict], connection=None, statement=None, constants: dict | None = None) -> None:
    """Insert ``rows`` (dicts of the same keys) into ``table`` on ``connection`` (a Core
    connection; the session's by default, inside its transaction); ``statement``: an
    insert of ``table`` of another form (an upsert) instead of the plain one;
    ``constants``: the values of columns the same in every row (converted once)."""
    if rows:
        fast_insert_columns(table, {key: [row[key] for row in rows] for key in rows[0]}, connection, statement,
                            constants)


def fast_insert_columns(table, columns: dict[str, list], connection=None, statement=None,
                        constants: dict | None = None) -> None:
    """``fast_insert`` of rows given as columns (``{key: values}``, lists of one length):
    no object per row at all (a big insert of dicts or tuples makes the garbage
    collector go through the whole heap)."""
    count = len(next(iter(columns.values()), ()))
    if not count:
        return
    connection = connection if connection is not None else db.session.connection()
    dialect = connection.dialect
    constants = dict(constants or {})
    for column in table.columns:
        if column.key in columns or column.key in constants or column.default is None or column.primary_key:
            continue
        default = column.default
        constants[column.key] = default.arg(None) if default.is_callable else default.arg if default.is_scalar else None
    names = list(columns) + list(constants)
    compiled = (insert(table) if statement is None else statement).compile(dialect=dialect, column_keys=names)
    values = {}  # a column at a time: one pass of its converter over its values
    for key in names:
        process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if key in constants:
            values[key] = repeat(process(constants[key]) if process else constants[key], count)
        else:
            values[key] = map(process, columns[key]) if process else columns[key]
    order = list(compiled.positiontup) if compiled.positional else names
    lines = zip(*(values[key] for key in order))
    parameters = lines if compiled.positional else (dict(zip(order, line)) for line in lines)
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
    cursor without a ``Row`` per row (half the time of reading 50,000 rows on SQLite),
    each value converted as SQLAlchemy returns it (a ``Decimal``, a date, a bool)."""
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
