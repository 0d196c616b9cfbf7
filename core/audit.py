"""Audit log: every create, update and delete of a tenant-scoped row, one entry per field.

Written by a session ``after_flush`` hook with a bulk Core insert in the same
transaction, so a rolled-back change leaves no audit entry either.
"""
import json
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import bindparam, event, func, inspect, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.extensions import db
from models import AuditLogEntry
from models.base import TenantScoped, utcnow

MASK = "••••••"
NOT_AUDITED = {"id", "tenant_id"}

# Who changes data outside a request (CLI, scheduler): set by the command or job.
audit_actor: ContextVar[tuple[int | None, str]] = ContextVar("audit_actor", default=(None, "system"))
# Set by a bulk writer (a connector run) that records one audit entry for all it writes.
audited_in_bulk: ContextVar[bool] = ContextVar("audited_in_bulk", default=False)


def _actor() -> tuple[int | None, str]:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.email
    return audit_actor.get()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list)):  # JSON columns (a connector's settings) read as JSON, not Python
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _row_entries(obj, action: str) -> list[dict]:
    state = inspect(obj)
    entries = []
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in NOT_AUDITED:
            continue
        history = state.attrs[name].history
        if action == "create":
            old, new = None, getattr(obj, name)
            if new is None or new == "":
                continue
        elif action == "delete":
            old, new = (history.unchanged or history.deleted or [None])[0], None
            if old is None or old == "":
                continue
        else:
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
        entry = _field_entry(obj, attr, old, new)
        if entry is not None:
            entries.append(entry)
    return entries


def _field_entry(obj, attr, old, new) -> dict | None:
    """One field's entry (``_show_codes`` then names a foreign key's row by its code);
    None when its text did not change."""
    if _text(old) == _text(new):
        return None
    if attr.key in getattr(obj, "__audit_masked__", ()):
        old, new = (MASK if old else None), (MASK if new else None)
    target = next((fk.column.table for fk in attr.columns[0].foreign_keys), None)
    field = attr.key.removesuffix("_id") if target is not None else attr.key
    return {"field": field, "old_value": _text(old), "new_value": _text(new), "_target": target}


def _show_codes(session: Session, rows: list[dict]) -> None:
    """Replace the ids of foreign keys by the codes of the rows they point at: from the
    session when the row is loaded there, else with one query per table."""
    wanted: dict = {}
    for row in rows:
        target = row.pop("_target", None)
        if target is not None:
            row["_target"] = target
            wanted.setdefault(target, set()).update(
                int(v) for v in (row["old_value"], row["new_value"]) if v is not None)
    codes: dict = {}
    for table, ids in wanted.items():
        mapper = next((m for m in AuditLogEntry.registry.mappers if m.local_table is table), None)
        name = next((name for name in ("code", "number") if name in table.c), None)
        if mapper is None or name is None:
            continue
        known = {}
        for row_id in ids:
            loaded = session.identity_map.get(identity_key(mapper.class_, row_id))
            if loaded is not None and getattr(loaded, name):
                known[row_id] = getattr(loaded, name)
        missing = ids - known.keys()
        if missing:
            known.update((row_id, value) for row_id, value in session.connection().execute(
                select(table.c.id, table.c[name]).where(table.c.id.in_(missing))).all() if value)
        codes[table] = known
    for row in rows:
        table = row.pop("_target", None)
        if table in codes:
            for key in ("old_value", "new_value"):
                if row[key] is not None:
                    row[key] = codes[table].get(int(row[key]), row[key])


def _row_code(obj) -> str:
    """How a person names the row: its code, else its number (a validated invoice), else
    its parent's code or number and its place (an invoice line: ``FA000012 / 3``)."""
    own = getattr(obj, "code", None) or getattr(obj, "number", None)
    if own:
        return str(own)
    parent = getattr(obj, "__audit_parent__", None)
    parent_row = getattr(obj, parent, None) if parent else None
    if parent_row is not None:
        place = getattr(obj, "position", None)
        return f"{_row_code(parent_row)} / {place}" if place is not None else _row_code(parent_row)
    return ""


def _entry_base(obj, action: str, actor: tuple[int | None, str], now) -> dict:
    user_id, email = actor
    return {"tenant_id": obj.tenant_id, "user_id": user_id, "user_email": email, "changed_at": now,
            "table_name": obj.__tablename__, "row_id": obj.id, "row_code": _row_code(obj), "action": action}


def _collect(session: Session) -> list[dict]:
    actor, now = _actor(), utcnow()
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not isinstance(obj, TenantScoped):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            base = _entry_base(obj, action, actor, now)
            rows.extend({**base, **entry} for entry in _row_entries(obj, action))
    return rows


@event.listens_for(Session, "after_flush")
def _write_audit_entries(session: Session, flush_context) -> None:
    if audited_in_bulk.get():
        return
    _insert_entries(session, _collect(session))


def _insert_entries(session: Session, rows: list[dict]) -> None:
    if rows:
        _show_codes(session, rows)
        session.connection().execute(AuditLogEntry.__table__.insert(), rows)


def update_row(obj, values: dict) -> bool:
    """Write ``values`` (attribute → new value) of a loaded row, and their audit entries,
    without the unit of work: the shortest write, for a row written under a lock, where
    its time is everyone's wait. On PostgreSQL one statement writes both (the ``UPDATE``
    in a ``WITH``, the entries inserted from what it returned); elsewhere two. Conditional
    on the row's version column as a flush is (an invoice's state): False, nothing
    written, when the row changed meanwhile. The object then holds the values as read
    from the database: nothing is left for a flush to write (nor to audit twice)."""
    session = db.session()
    state = inspect(obj)
    mapper = state.mapper
    attrs = {name: mapper.get_property(name) for name in values}
    old = {name: getattr(obj, name) for name in values}
    parameters = {attr.columns[0].key: values[name] for name, attr in attrs.items()}
    parameters.update(_row_parameters(state))
    with session.no_autoflush:  # the actor may be loaded: no flush of a row half set
        for name, value in values.items():  # first: the entries name the row as it will be (its new number)
            set_committed_value(obj, name, value)
        if _write_row(session, mapper, parameters, _update_entries(obj, attrs, old, values)):
            return True
        for name, value in old.items():
            set_committed_value(obj, name, value)
    return False


def _update_entries(obj, attrs: dict, old: dict, values: dict) -> list[dict]:
    if not isinstance(obj, TenantScoped) or audited_in_bulk.get():
        return []
    base = _entry_base(obj, "update", _actor(), utcnow())
    entries = (_field_entry(obj, attr, old[name], values[name]) for name, attr in attrs.items()
               if name not in NOT_AUDITED)
    return [{**base, **entry} for entry in entries if entry is not None]


def _write_row(session: Session, mapper, parameters: dict, entries: list[dict]) -> bool:
    """The conditional ``UPDATE`` and the entries: True when the row was written."""
    connection = session.connection()
    if not entries or connection.dialect.name != "postgresql":
        if connection.execute(_update_statement(mapper), parameters).rowcount != 1:
            return False
        _insert_entries(session, entries)
        return True
    _show_codes(session, entries)
    first = entries[0]
    parameters = {f"_set_{key}" if not key.startswith("_") else key: value for key, value in parameters.items()}
    parameters.update({f"_entry_{name}": first[name] for name in ENTRY_SHARED})
    parameters.update({f"_entries_{name}": [entry[name] for entry in entries] for name in ENTRY_OWN})
    statement = _update_and_audit_statement(mapper, tuple(key for key in parameters if key.startswith("_set_")))
    return connection.execute(statement, parameters).rowcount == len(entries)


ENTRY_SHARED = ("tenant_id", "user_id", "user_email", "changed_at", "table_name", "row_id", "row_code", "action")
ENTRY_OWN = ("field", "old_value", "new_value")


@lru_cache
def _update_statement(mapper):
    """``UPDATE <table> SET <the parameters' columns> WHERE <key> [AND <version>]``,
    built once per table."""
    return mapper.local_table.update().where(*_row_conditions(mapper))


def _row_parameters(state) -> dict:
    """The values of ``_row_conditions``' parameters for a loaded row: its key, and its
    version as read (the update is conditional on it)."""
    mapper = state.mapper
    parameters = {f"_key_{column.key}": state.dict[mapper.get_property_by_column(column).key]
                  for column in mapper.primary_key}
    if mapper.version_id_col is not None:
        version = mapper.get_property_by_column(mapper.version_id_col).key
        parameters["_version"] = state.committed_state.get(version, state.dict[version])
    return parameters


def _row_conditions(mapper) -> list:
    conditions = [column == bindparam(f"_key_{column.key}") for column in mapper.primary_key]
    if mapper.version_id_col is not None:
        conditions.append(mapper.version_id_col == bindparam("_version"))
    return conditions


@lru_cache
def _update_and_audit_statement(mapper, set_keys: tuple[str, ...]):
    """PostgreSQL: ``WITH updated AS (UPDATE … WHERE <key> [AND <version>] RETURNING
    <key>) INSERT INTO audit_log … SELECT … FROM updated, unnest(<fields>, <old>,
    <new>)``: the entries are written only when the row was, in the same round trip.
    Built once per table and set of columns."""
    table, audit = mapper.local_table, AuditLogEntry.__table__
    updated = (table.update().where(*_row_conditions(mapper))
               .values({key.removeprefix("_set_"): bindparam(key) for key in set_keys})
               .returning(*mapper.primary_key).cte("updated"))
    own = func.unnest(*(bindparam(f"_entries_{name}", type_=ARRAY(audit.c[name].type)) for name in ENTRY_OWN)
                      ).table_valued(*ENTRY_OWN).render_derived(name="entries")
    shared = [bindparam(f"_entry_{name}", type_=audit.c[name].type) for name in ENTRY_SHARED]
    rows = select(*shared, *(own.c[name] for name in ENTRY_OWN)).select_from(updated.join(own, true()))
    return (audit.insert().from_select([*ENTRY_SHARED, *ENTRY_OWN], rows).add_cte(updated)
            .execution_options(preserve_rowcount=True))  # an INSERT's count is read only when asked


def update_row_from(obj, values: dict, source, late: dict[str, str], parameters: dict, guard: str | None = None,
                    row_code: str | None = None):
    """PostgreSQL: ``update_row`` where some values come from ``source``, a data-modifying
    CTE run in the same statement (a number taken from its sequence). ``late`` maps an
    attribute to the source's column giving it (a text or integer column: its SQL text is
    its audit text). ``parameters`` are the source's; ``guard``, a boolean column of the
    source the write also needs (the number acceptable); ``row_code``, the source's column
    that names the row in the entries when one of its late values does (an invoice, by the
    number it takes).

    For a row written under a lock that ``source`` takes: the entries, their JSON and the
    parameters are built before, the statement is compiled once and sent through the
    driver's cursor, so that the lock is held for this one round trip and the commit.
    Returns (the source's row as a dict, None without one; True when the row was written); written, the
    object holds the values as written, as with ``update_row``."""
    session = db.session()
    state = inspect(obj)
    mapper = state.mapper
    attrs = {name: mapper.get_property(name) for name in values}
    for name in late:
        _check_late(obj, mapper.get_property(name))
    plan = _update_from_plan(mapper, tuple(attrs[name].columns[0].key for name in values),
                             tuple(late.items()), source, guard, row_code)
    bound = {**plan.defaults, **parameters}
    for name, attr in attrs.items():
        value, process = values[name], plan.processors[attr.columns[0].key]
        bound[f"_set_{attr.columns[0].key}"] = process(value) if process and value is not None else value
    bound.update(_row_parameters(state))
    old = {name: getattr(obj, name) for name in (*values, *late)}
    with session.no_autoflush:
        for name, value in values.items():  # first: the entries name the row as it will be
            set_committed_value(obj, name, value)
        entries = _update_entries(obj, attrs, old, values)
        _show_codes(session, entries)
        if isinstance(obj, TenantScoped) and not audited_in_bulk.get():
            entries += [{"field": name, "old_value": _text(old[name]), "new_value": None} for name in late]
        base = _entry_base(obj, "update", _actor(), utcnow())
        bound.update({f"_entry_{name}": base[name] for name in ENTRY_SHARED})
        bound["_entries"] = json.dumps([{name: entry[name] for name in ENTRY_OWN} for entry in entries])
        row = _run_driver_statement(session.connection(), plan.sql, bound)
        taken = dict(zip(plan.source_keys, row[:-1])) if row is not None else None
        if taken is not None and row[-1]:
            for name, column in late.items():
                set_committed_value(obj, name, taken[column])
            return taken, True
        for name in values:
            set_committed_value(obj, name, old[name])
    return taken, False


def _check_late(obj, attr) -> None:
    """A value from SQL is audited as its SQL text: only where that is ``_text``'s (text,
    integers), not masked, not a foreign key (named by its row's code)."""
    type_ = attr.columns[0].type.python_type
    if (type_ not in (str, int) or attr.key in getattr(obj, "__audit_masked__", ())
            or attr.columns[0].foreign_keys):
        raise ValueError(f"{attr.key} cannot be written from SQL with its audit entry")


class _UpdateFromPlan:
    """``update_row_from``'s statement compiled once: its SQL, its literal parameters, the
    bind processors of the columns set, the source's column names."""

    def __init__(self, statement, dialect, table, set_keys, source):
        compiled = statement.compile(dialect=dialect)
        self.sql, self.defaults = str(compiled), dict(compiled.params)
        self.processors = {key: table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in set_keys}
        self.source_keys = [column.key for column in source.c]


@lru_cache
def _update_from_plan(mapper, set_keys: tuple[str, ...], late: tuple[tuple[str, str], ...], source, guard,
                      row_code) -> _UpdateFromPlan:
    """``WITH <source>, updated AS (UPDATE … FROM <source> WHERE <key> [AND <version>] [AND
    <guard>] RETURNING <key>, <late values as text>), logged AS (INSERT INTO audit_log …
    SELECT … FROM updated, json_to_recordset(<entries>)) SELECT <source>, <written> FROM
    <source>``: a late field's entry takes its new value from what was written, and is
    dropped when it did not change, as ``_field_entry`` drops the others."""
    from sqlalchemy import String, Text, case, cast, column, exists
    from sqlalchemy.dialects.postgresql import JSON

    table, audit = mapper.local_table, AuditLogEntry.__table__
    conditions = _row_conditions(mapper) + ([source.c[guard]] if guard else [])
    written = {name: cast(source.c[source_column], Text).label(f"_late_{name}") for name, source_column in late}
    set_values = {key: bindparam(f"_set_{key}") for key in set_keys}
    set_values.update({mapper.get_property(name).columns[0].key: source.c[source_column] for name, source_column in late})
    updated = (table.update().where(*conditions).values(set_values)
               .returning(*mapper.primary_key, *written.values(),
                          *([source.c[row_code].label("_row_code")] if row_code else [])).cte("updated"))
    entries = func.json_to_recordset(bindparam("_entries", type_=JSON)).table_valued(
        column("field", String), column("old_value", Text), column("new_value", Text)
    ).render_derived(name="entries", with_types=True)
    new_value = (case({name: updated.c[f"_late_{name}"] for name in written}, value=entries.c.field,
                      else_=entries.c.new_value) if written else entries.c.new_value)
    shared = {name: bindparam(f"_entry_{name}", type_=audit.c[name].type) for name in ENTRY_SHARED}
    if row_code:
        shared["row_code"] = updated.c["_row_code"]
    rows = (select(*shared.values(), entries.c.field, entries.c.old_value, new_value)
            .select_from(updated.join(entries, true())).where(entries.c.old_value.is_distinct_from(new_value)))
    logged = audit.insert().from_select([*ENTRY_SHARED, *ENTRY_OWN], rows).cte("logged")
    statement = select(*source.c, exists(select(updated.c[mapper.primary_key[0].key])).label("written")
                       ).add_cte(updated).add_cte(logged)
    return _UpdateFromPlan(statement, db.engine.dialect, table, set_keys, source)


def _run_driver_statement(connection, sql: str, parameters: dict) -> tuple:
    """One statement through the driver's cursor, its one row; a driver error raised as
    SQLAlchemy raises it (an ``IntegrityError``…)."""
    dialect = connection.dialect
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, parameters)
        return cursor.fetchone()
    except dialect.dbapi.Error as error:
        raise DBAPIError.instance(sql, parameters, error, dialect.dbapi.Error, dialect=dialect) from error
    finally:
        cursor.close()


def audit_in_one_entry(tenant_id: int, table_name: str, action: str, text: str, row_id: int | None = None,
                       row_code: str = "", actor: tuple | None = None, connection=None) -> None:
    """The one audit entry of a bulk write (an import, a copy, a connector run): who,
    what, counts. ``actor`` defaults to the request's user or the command's actor;
    ``connection`` to the session's (a run writes on its own connection)."""
    user_id, email = actor or _actor()
    (connection or db.session.connection()).execute(AuditLogEntry.__table__.insert().values(
        tenant_id=tenant_id, user_id=user_id, user_email=email, changed_at=utcnow(), table_name=table_name,
        row_id=row_id, row_code=row_code, action=action, field="", old_value=None, new_value=text))
