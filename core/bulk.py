"""Bulk inserts and reads at the speed of the driver: multi-row ``INSERT`` statements of
plain values, inside the session's transaction; the rows of a ``select`` as plain
tuples from the DB-API cursor.

SQLAlchemy's Core ``executemany`` builds a parameter dictionary per row through the
compiler (about as long as the insert itself on SQLite); here the values only go
through each column's bind processor for the dialect (a ``Decimal`` becomes what
the driver takes, a date its ISO text on SQLite), exactly as SQLAlchemy would
convert them. A column a row leaves out takes its Python default (a callable one
is called once for the whole insert).

The rows go as multi-row ``INSERT … VALUES (…), (…)`` statements of up to the
dialect's ``insertmanyvalues`` page (what SQLAlchemy's "insertmanyvalues" does): on
SQLite one statement per row costs a statement journal per row on a table with
triggers (the search index of clients: 16 KB written per row) and about 40 % more
time elsewhere. With psycopg 3 (PostgreSQL) they go by ``COPY … FROM STDIN`` (when
every column is of a type COPY reads as an INSERT would): one
statement per row costs the server a statement per row, even pipelined, and psycopg
parses a long multi-row statement again for every page, in Python.

Reading is the same the other way round: the values go through each selected
column's result processor, a column at a time.
"""
import json
import queue
import threading
from operator import itemgetter
from types import FunctionType

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, Integer, Numeric, String, cast, func, insert, literal,
                        select)
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
    if dialect.paramstyle not in PLACEHOLDERS:  # another driver: SQLAlchemy's own executemany
        connection.execute(insert(table), [{**defaults, **row} for row in rows])
        return
    keys += list(defaults)
    columns = []  # converted column by column: one bind processor call per value, no Python loop per row
    for key in keys:
        process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        if key in defaults:
            columns.append([process(defaults[key]) if process else defaults[key]] * len(rows))
            continue
        values = list(map(itemgetter(key), rows))
        columns.append(_converted(values, process) if process else values)
    cursor = connection.connection.driver_connection.cursor()
    statement = ""
    try:
        if hasattr(cursor, "copy") and all(_copied(table.c[key].type) for key in keys):
            statement = f"COPY {_columns(table, keys, dialect)} FROM STDIN"  # psycopg 3: no statement to parse
            with cursor.copy(statement) as copy:
                for values in zip(*columns):
                    copy.write_row(values)
        elif hasattr(cursor, "copy"):  # JSON and the like: one statement the server casts
            marks = ", ".join([PLACEHOLDERS[dialect.paramstyle]] * len(keys))
            statement = f"INSERT INTO {_columns(table, keys, dialect)} VALUES ({marks})"
            cursor.executemany(statement, list(zip(*columns)))
        else:
            for statement, parameters in _pages(table, keys, columns, len(rows), dialect):
                cursor.execute(statement, parameters)
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


# Column types whose values PostgreSQL's COPY reads as psycopg writes them; the others
# (JSON, custom types) go by an executemany, whose statement casts them.
COPIED_TYPES = (String, Integer, Numeric, Boolean, Date, DateTime, Float)


def _copied(column_type) -> bool:
    """Whether COPY stores the column's values as an INSERT would: not for a timestamp
    without time zone (an aware value's offset would be dropped, not converted)."""
    if isinstance(column_type, DateTime) and not column_type.timezone:
        return False
    return isinstance(column_type, COPIED_TYPES)


PLACEHOLDERS = {"qmark": "?", "pyformat": "%s", "format": "%s"}  # positional, of the drivers


def _columns(table, keys: list, dialect) -> str:
    """``t (a, b)``, quoted as the dialect quotes them."""
    preparer = dialect.identifier_preparer
    return f"{preparer.format_table(table)} ({', '.join(preparer.format_column(table.c[key]) for key in keys)})"


def _pages(table, keys: list, columns: list[list], count: int, dialect):
    """(statement, parameters) of pages of the ``count`` rows of ``columns`` (a list of values
    per key), each one ``INSERT INTO t (a, b) VALUES (…), (…)`` of positional parameters (an
    ``INSERT``'s values take the types of their columns: no cast). A page's parameters are
    interleaved from the columns by slices: no tuple per row."""
    head = f"INSERT INTO {_columns(table, keys, dialect)} VALUES "
    width = len(keys)
    group = "(" + ", ".join([PLACEHOLDERS[dialect.paramstyle]] * width) + ")"
    page = max(1, min(dialect.insertmanyvalues_page_size, dialect.insertmanyvalues_max_parameters // width))
    full = head + ", ".join([group] * page)
    for start in range(0, count, page):
        size = min(page, count - start)
        parameters = [None] * (size * width)
        for index, values in enumerate(columns):
            parameters[index::width] = values[start:start + size]
        yield full if size == page else head + ", ".join([group] * size), parameters


def constant_rows(name: str, columns: list, rows: list[tuple]):
    """``rows`` (tuples of ints, texts, Decimals) as a table ``name`` of ``columns`` (Core
    ``column(name, type)``) to join in a statement, sent as ONE parameter, a JSON array
    read by the database (``json_each`` on SQLite, ``json_to_recordset`` on PostgreSQL):
    a ``VALUES`` of 2,000 rows costs SQLAlchemy more to build than the database to run,
    and SQLite refuses more than 32,766 parameters."""
    names = [column.name for column in columns]
    if db.session.get_bind().dialect.name == "postgresql":
        data = json.dumps([dict(zip(names, row)) for row in rows], default=str)
        return func.json_to_recordset(cast(literal(data, String), JSON)).table_valued(*columns).render_derived(
            name, with_types=True)
    elements = func.json_each(literal(json.dumps(rows, default=str), String)).table_valued("value")
    # materialized: inlined, the JSON would be read again for every row it is joined to
    return select(*[cast(func.json_extract(elements.c.value, f"$[{index}]"), column.type).label(column.name)
                    for index, column in enumerate(columns)]).select_from(elements).cte(name).prefix_with(
        "MATERIALIZED")


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


_END = object()


def rows_read_ahead(engine, statement, batch_size: int, depth: int = 2):
    """The rows of ``statement``, read ``batch_size`` at a time from a server-side cursor
    by a thread on a connection of its own, at most ``depth`` batches ahead (memory stays
    constant). A plain server-side cursor leaves the server idle while its caller works
    on a batch and the caller idle while the server makes the next one (a round trip per
    batch); here both work at once (the export of a large list: the file is written while
    the next rows are read). The statement carries all of its filters (the tenant's
    too): nothing of the session applies to it. An error of the reading is raised here."""
    batches, stop = queue.Queue(maxsize=depth), threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with engine.connect() as connection:
                result = connection.execution_options(yield_per=batch_size).execute(statement)
                for partition in result.partitions():
                    if not hand_over(partition):
                        return
            hand_over(_END)
        except Exception as error:  # given to the reader, raised there
            hand_over(error)

    reader = threading.Thread(target=read, name="rows-read-ahead", daemon=True)
    reader.start()
    try:
        while (batch := batches.get()) is not _END:
            if isinstance(batch, Exception):
                raise batch
            yield from batch
    finally:
        stop.set()
        reader.join()
