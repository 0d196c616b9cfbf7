"""Bulk inserts at the speed of the driver: one compiled ``INSERT`` and the DB-API
``executemany`` of plain tuples (on SQLite, one multi-row ``INSERT`` per group of
rows; on PostgreSQL a ``COPY``), inside the session's transaction.

SQLAlchemy's Core ``executemany`` builds a parameter dictionary per row through the
compiler (about as long as the insert itself on SQLite); here the values only go
through each column's bind processor for the dialect (a ``Decimal`` becomes what
the driver takes, a date its ISO text on SQLite), exactly as SQLAlchemy would
convert them. A column a row leaves out takes its Python default (a callable one
is called once for the whole insert).
"""
import sqlite3

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, String, insert
from sqlalchemy.exc import DBAPIError

from core.extensions import db

GROUP_ROWS = 200
SQLITE_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
# Column types whose values PostgreSQL's COPY reads as psycopg writes them (JSON and others
# keep the executemany, whose statement casts them).
COPIED_TYPES = (String, Integer, Numeric, Boolean, Date, DateTime, Float)


def _copied(column_type) -> bool:
    """Whether COPY stores the column's values as an INSERT would: not for a timestamp
    without time zone (an aware value's offset would be dropped, not converted)."""
    if isinstance(column_type, DateTime) and not column_type.timezone:
        return False
    return isinstance(column_type, COPIED_TYPES)


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
        if dialect.name == "sqlite":
            _insert_in_groups(cursor, statement, parameters, len(compiled.positiontup))
        elif hasattr(cursor, "copy") and all(_copied(table.c[key].type) for key in keys):
            statement = _copy(cursor, dialect, table, keys, parameters)
        else:
            cursor.executemany(statement, parameters)
    except dialect.dbapi.Error as error:  # as SQLAlchemy raises it: IntegrityError on a unique key…
        raise DBAPIError.instance(statement, None, error, dialect.dbapi.Error, dialect=dialect) from error
    finally:
        cursor.close()


def _copy(cursor, dialect, table, keys: list[str], parameters: list[dict]) -> str:
    """PostgreSQL (psycopg 3): the rows through ``COPY … FROM STDIN``, half the time of an
    ``executemany`` (the server's own work, triggers and indexes, is the same). Returns
    the statement, for an error's message."""
    preparer = dialect.identifier_preparer
    statement = (f"COPY {preparer.format_table(table)} "
                 f"({', '.join(preparer.format_column(table.c[key]) for key in keys)}) FROM STDIN")
    with cursor.copy(statement) as copy:
        for row in parameters:
            copy.write_row([row[key] for key in keys])
    return statement


def _insert_in_groups(cursor, statement: str, parameters: list[tuple], width: int) -> None:
    """SQLite: ``GROUP_ROWS`` rows per ``INSERT … VALUES (…), (…)`` rather than one statement
    per row: a third of the time on a table with search triggers (P8), the work done once
    per statement being done once per group."""
    head, values = statement.split(" VALUES ", 1)
    per_statement = max(1, min(GROUP_ROWS, SQLITE_MAX_VARIABLES // max(width, 1)))
    texts = {}
    for start in range(0, len(parameters), per_statement):
        group = parameters[start:start + per_statement]
        if len(group) not in texts:
            texts[len(group)] = f"{head} VALUES {', '.join([values] * len(group))}"
        cursor.execute(texts[len(group)], [value for row in group for value in row])
