"""What every benchmark shares: its own app and database, a logged-in client, fast
bulk inserts, timings (best of N) and peak memory of a request in a subprocess.

The database is a temporary SQLite file, or, when ``DATABASE_URL`` is set, a
PostgreSQL schema of its own (``passerelle_bench``) dropped at the end: the
benchmark never touches the database's ``public`` schema.
"""
import cProfile
import logging
import os
import pstats
import re
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import JSON, text

PASSWORD = "bench-password-123"
PG_SCHEMA = "passerelle_bench"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@dataclass
class Figure:
    """One printed line and its entry in ``results.json``."""

    key: str
    label: str
    target: float
    baseline_s: float
    measured_s: float
    rows: int
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.measured_s / self.baseline_s if self.baseline_s else float("inf")

    @property
    def ok(self) -> bool:
        if self.extra.get("information_only"):  # measured where the target does not apply
            return True
        return self.ratio <= self.target and self.extra.get("memory_ok", True)

    def line(self) -> str:
        text_ = (f"{self.label:<18} ratio {self.ratio:5.2f} (target ≤ {self.target:g})  "
                 f"baseline {_seconds(self.baseline_s)}  measured {_seconds(self.measured_s)}")
        if "peak_mb" in self.extra:
            text_ += f"  peak {self.extra['peak_mb']:.0f} MB"
            if "peak_mb_small" in self.extra:
                text_ += f" ({self.extra['peak_mb_small']:.0f} MB at {self.extra['rows_small']} rows)"
        text_ += f"  rows {self.rows}"
        if "matches" in self.extra:
            text_ += f"  matches {self.extra['matches']}"
        if self.extra.get("information_only"):
            text_ += f"  (for information: {self.extra['information_only']})"
        elif not self.ok:
            text_ += "  ** NOT MET **"
        if "time_shares" in self.extra:
            text_ += "\n" + " " * 19 + "time in: " + describe_shares(self.extra["time_shares"])
        return text_

    def as_dict(self) -> dict:
        return {"ratio": round(self.ratio, 3), "target": self.target, "baseline_s": round(self.baseline_s, 4),
                "measured_s": round(self.measured_s, 4), "rows": self.rows, **self.extra, "ok": self.ok}


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def best_of(function, repeat: int, warmup: int = 1) -> tuple[float, float]:
    """(best, median) wall time of ``function()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def best_of_pair(measured, baseline, repeat: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Like ``best_of`` for two functions run alternately, so that both see the same noise:
    ((best, median) of ``measured``, (best, median) of ``baseline``)."""
    times = ([], [])
    for _ in range(repeat):
        for function, bucket in zip((measured, baseline), times):
            start = time.perf_counter()
            function()
            bucket.append(time.perf_counter() - start)
    return tuple((min(bucket), statistics.median(bucket)) for bucket in times)


# --- What dominates a figure ----------------------------------------------------------

# (part, what its code's file path or built-in's name contains), first match wins: the own
# time of every profiled function is given to one part.
PARTS = (
    ("database", ("sqlite3", "psycopg", "_sqlite", "pq.", "/psycopg/")),
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("templates (Jinja)", ("/jinja2/", "/markupsafe/", "<template>", ".html")),
    ("XLSX writing", ("/xlsxwriter/", "zlib", "zipfile")),
    ("XLSX reading", ("/python_calamine/", "python_calamine", "/openpyxl/")),
    ("PDF (WeasyPrint)", ("/weasyprint/", "/pydyf/", "/fontTools/", "/tinycss2/", "/cssselect2/", "/PIL/")),
    ("HTTP and waiting for the peer", ("/requests/", "/urllib3/", "http/client", "socket", "select",
                                       "ssl", "/http/")),
    ("Flask, Werkzeug, WTForms", ("/flask/", "/werkzeug/", "/flask_admin/", "/wtforms/", "/flask_wtf/",
                                  "/flask_login/", "/flask_babel/", "/babel/")),
    ("Passerelle code", tuple(f"/{package}/" for package in
                              ("core", "rules", "exchange", "views", "spreadsheets", "models", "jobs", "commands"))),
)


def time_shares(function) -> dict[str, float]:
    """Run ``function()`` once under cProfile; returns each part's share of the time
    (0..1, largest first) so that a figure says where its time goes. Time spent in other
    processes (a peer, workers) is not seen, except as waiting on sockets."""
    profiler = cProfile.Profile()
    profiler.runcall(function)
    stats = pstats.Stats(profiler).stats
    totals: dict[str, float] = {}
    for (filename, _line, name), (_calls, _primitive, own_time, _cumulative, _callers) in stats.items():
        part = _part_of(filename if filename != "~" else name)
        totals[part] = totals.get(part, 0.0) + own_time
    whole = sum(totals.values()) or 1.0
    return {part: round(seconds / whole, 3)
            for part, seconds in sorted(totals.items(), key=lambda item: item[1], reverse=True)}


def _part_of(where: str) -> str:
    where = where.replace("\\", "/")
    for part, needles in PARTS:
        if any(needle in where for needle in needles):
            return part
    return "other Python (standard library, built-ins)"


def describe_shares(shares: dict[str, float], parts: int = 4) -> str:
    """'database 48 %, SQLAlchemy 21 %, …' — the largest parts."""
    return ", ".join(f"{part} {share * 100:.0f} %" for part, share in list(shares.items())[:parts])


# --- The benchmark's app and database ----------------------------------------------------

def database_url(tmp_dir: str, name: str = "bench") -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir}/{name}.db"


def pg_schema(name: str = "bench") -> str:
    return PG_SCHEMA if name == "bench" else f"{PG_SCHEMA}_{name}"


def app_config(url: str, tmp_dir: str, search_path: str | None = None) -> dict:
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-secret",
        "EXCHANGE_ROOT": os.path.join(tmp_dir, "exchange"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": False,
    }
    if search_path:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={search_path}"}}
    return config


def _prepare_pg_schema(url: str, schema: str) -> str:
    """A fresh schema; returns the search path: the schema, then where pg_trgm lives."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            # pg_trgm outside the benchmark's schemas (several may exist at once): where the
            # app's migration would put it, unless it is already installed somewhere.
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            # unaccent too: the folding function names it public.unaccent (core.search), and
            # created by the migration it would land in the benchmark's schema on a fresh database
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public"))
            extension_schema = connection.execute(text(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")).scalar()
            connection.execute(text(f"CREATE SCHEMA {schema}"))
            # The extension's schema stays on the search path: an empty version table here
            # keeps Alembic from reading another one and makes it create every table here.
            connection.execute(text(f"CREATE TABLE {schema}.alembic_version "
                                    "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    finally:
        engine.dispose()
    return schema if extension_schema == schema else f"{schema},{extension_schema}"


@contextmanager
def bench_app(name: str = "bench", push_context: bool = True):
    """A migrated app on a fresh database: yields (app, config), inside an app context
    unless ``push_context`` is false. Time requests without it: a request made inside an
    app context of its app reuses that context (and its database session) instead of
    having its own, as it would in production. Several may be open at once with
    different names (each has its own SQLite file or PostgreSQL schema)."""
    from flask_migrate import upgrade

    from app import create_app
    from core.extensions import db

    tmp_dir = tempfile.mkdtemp(prefix=f"passerelle-{name}-")
    url = database_url(tmp_dir, name)
    schema = pg_schema(name) if url.startswith("postgresql") else None
    config = app_config(url, tmp_dir, _prepare_pg_schema(url, schema) if schema else None)
    app = create_app(config)
    try:
        with app.app_context():
            logging.disable(logging.INFO)  # env.py sets Alembic's logging to INFO: keep to figures
            try:
                upgrade()
            finally:
                logging.disable(logging.NOTSET)
        if push_context:
            with app.app_context():
                yield app, config
        else:
            yield app, config
    finally:
        with app.app_context():
            db.session.remove()
            if schema:
                with db.engine.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            db.engine.dispose()
        shutil.rmtree(tmp_dir, ignore_errors=True)


def create_tenant_user(tenant_code: str, email: str, role: str = "admin") -> int:
    """A tenant and one user with ``role`` in it; returns the tenant id."""
    from core.extensions import db
    from rules.tenancy import create_tenant, create_user

    tenant = create_tenant(tenant_code, f"{tenant_code} bench")
    create_user(email, PASSWORD, [(tenant, role)])
    db.session.commit()
    return tenant.id


def login(app, email: str):
    """A test client logged in as ``email`` (the login form with its CSRF token)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    match = _CSRF.search(page)
    token = match.group(1) or match.group(2)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"login failed for {email}: {response.status_code}")
    return client


def bulk_insert(model, tenant_id: int, make_row, start: int, stop: int, batch: int = 20_000) -> None:
    """Insert rows ``make_row(i)`` for i in [start, stop) in one transaction: Core ``insert()``
    executemany (SQLite with a page cache holding the table's indexes, no sync until the
    end), ``COPY`` on PostgreSQL. Triggers and indexes work as for any insert."""
    from core.extensions import db

    table = model.__table__
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql" and not any(
                isinstance(column.type, JSON) for column in table.columns):  # JSON: insert() adapts it
            _copy_rows(connection, table, tenant_id, make_row, start, stop)
            return
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA cache_size = -512000")  # 500 MB, this connection only
            connection.exec_driver_sql("PRAGMA synchronous = OFF")
        with _sqlite_search_filled_after(connection, table.name):
            for low in range(start, stop, batch):
                rows = [{"tenant_id": tenant_id, **make_row(i)} for i in range(low, min(low + batch, stop))]
                connection.execute(table.insert(), rows)
    db.engine.dispose()  # the next connections have the default page cache and sync again


@contextmanager
def _sqlite_search_filled_after(connection, table: str):
    """On SQLite, the FTS5 search table of ``table`` (``core.search``) filled once after
    the rows are inserted, in one ``INSERT … SELECT`` as its migration fills it, instead of
    by its insert trigger row by row (4× slower): the trigger is set aside meanwhile and
    put back as it was. The index ends the same."""
    from core.search import FOLD, search_table

    fts = search_table(table)
    trigger = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (f"{fts}_insert",)).first() \
        if connection.dialect.name == "sqlite" else None
    if trigger is None:
        yield
        return
    last_id = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
    connection.exec_driver_sql(f"DROP TRIGGER {trigger.name}")
    yield
    columns = [row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({fts})")]
    connection.exec_driver_sql(
        f"INSERT INTO {fts}(rowid, {', '.join(columns)}) "
        f"SELECT id, {', '.join(f'{FOLD}({name})' for name in columns)} FROM {table} WHERE id > ?", (last_id,))
    connection.exec_driver_sql(trigger.sql)


def _copy_rows(connection, table, tenant_id: int, make_row, start: int, stop: int) -> None:
    """PostgreSQL ``COPY … FROM STDIN`` of the rows (psycopg's ``Copy.write_row``); columns
    a row leaves out get the column's Python default, as ``insert()`` gives them (a
    callable one, such as a creation time, called once for the load)."""
    if start >= stop:
        return
    first = {"tenant_id": tenant_id, **make_row(start)}
    names = list(first)
    defaults = {column.name: column.default.arg if column.default.is_scalar else column.default.arg(None)
                for column in table.columns if column.name not in names and column.default is not None
                and (column.default.is_scalar or column.default.is_callable)}
    names += list(defaults)
    cursor = connection.connection.driver_connection.cursor()
    quoted = ", ".join(f'"{name}"' for name in names)
    with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for i in range(start, stop):
            row = {"tenant_id": tenant_id, **defaults, **make_row(i)}
            copy.write_row([row[name] for name in names])


def analyze(tables) -> None:
    """The state after a bulk load once the database has caught up: PostgreSQL's
    autovacuum (``VACUUM ANALYZE``: statistics, visibility map, GIN pending lists
    merged), SQLite's ``ANALYZE`` (as ``PRAGMA optimize`` would)."""
    from core.extensions import db

    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in tables:
            verb = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
            connection.execute(text(f"{verb} {name}"))
    db.engine.dispose()  # new connections load the new statistics


def dialect_name() -> str:
    from core.extensions import db

    return db.engine.dialect.name


def drain(response) -> int:
    """Read a (streamed) response body to the end without keeping it; returns its size."""
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    return size
