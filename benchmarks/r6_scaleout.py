"""R6: scale-out as deployed, on PostgreSQL.

gunicorn with 4 workers and 2 ``flask --app app scheduler`` processes on a schema of
its own, 2,000 clients in the lists; 20 simulated back-office users (lists, searches, details, edits, exports)
on loopback for ``R6_SECONDS`` (120) while a scheduled receive integrates
``R6_DOCUMENTS`` (10,000) documents. The field-service and CSV kinds have not
landed on this branch: the documents are the ``test`` kind's clients, one
document (one transaction, one idempotency check) each. Some seconds into the
run the active scheduler is killed (``SIGKILL``) in the middle of the receive: the
standby takes over, the interrupted run is closed as failed ("interrupted") once
its lease expires, and the next scheduled run integrates the rest.

Printed: errors (5xx, connection errors; target 0), runs that overlapped (target
0), documents integrated exactly once (target: all, no duplicate), the standby's
take-over time (target < 60 s), and p95 of list pages under load against idle
(informational: on 2 cores this measures CPU sharing more than design).
Bounded in time; loopback only. SQLite: not run (R6 is a PostgreSQL check).
"""
import html.parser
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from benchmarks.harness import PASSWORD, analyze, bench_app, bulk_insert, create_tenant_user

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
USERS = int(os.environ.get("R6_USERS", 20))
SECONDS = float(os.environ.get("R6_SECONDS", 120))
DOCUMENTS = int(os.environ.get("R6_DOCUMENTS", 10_000))
EXISTING_CLIENTS = 2_000               # in the lists from the start (the receive adds its own)
KILL_AFTER_DOCUMENTS = DOCUMENTS // 5   # the active scheduler is killed once that many are in
EMAIL = "backoffice@r6.test"
TAKEOVER_TARGET_S = 60
MAX_WAIT_S = 900                        # the receive must end within that after the load
SCHEDULER_ENV = {
    "SCHEDULER_LEASE_SECONDS": "10", "SCHEDULER_HEARTBEAT_SECONDS": "2", "SCHEDULER_STANDBY_POLL_SECONDS": "2",
    "SCHEDULER_RECONCILE_SECONDS": "5", "SCHEDULER_INTERVAL_UNIT_SECONDS": "5",  # every:1 = every 5 s
    "EXCHANGE_LEASE_SECONDS": "10", "EXCHANGE_HEARTBEAT_SECONDS": "2",
}
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
LIST_PAGES = ("/admin/clients/", "/admin/sync-runs/", "/admin/connectors/")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _process_url(config: dict) -> str:
    """The database URL with the benchmark's search path, for the processes started here."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    options = config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {}).get("options")
    if options:
        url += ("&" if "?" in url else "?") + "options=" + quote(options, safe="")
    return url


class FormFields(html.parser.HTMLParser):
    """The fields of each POST ``<form>`` of a page (``forms``): name -> value as a browser sends them."""

    def __init__(self):
        super().__init__()
        self.forms, self.fields = [], None
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.fields = {}
            self.forms.append(self.fields)
        if self.fields is None or not attrs.get("name") and tag != "option":
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields[attrs["name"]] = attrs.get("value", "y")
            elif kind not in ("submit", "button", "file"):
                self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self._select = attrs["name"]
            self.fields.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.fields[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self.fields = None

    def handle_data(self, data):
        if self._textarea and self.fields is not None:
            self.fields[self._textarea] += data

    def form_with(self, name: str) -> dict | None:
        return next((form for form in self.forms if name in form), None)


class User(threading.Thread):
    """One back-office user: log in, then lists, searches, a client's page, an edit, an export,
    with a short think time, until ``stop``."""

    def __init__(self, base: str, number: int, stop: threading.Event, load: list, errors: list):
        super().__init__(name=f"user-{number}", daemon=True)
        import requests
        self.session = requests.Session()
        self.base, self.number, self.stop, self.load, self.errors = base, number, stop, load, errors
        self.random = random.Random(number)
        self.edits = []

    def request(self, method: str, path: str, list_page: bool = False, **kwargs):
        start = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=60, allow_redirects=False, **kwargs)
            body = response.content
        except Exception as error:  # noqa: BLE001 - a connection error is an error to count
            self.errors.append(f"{method} {path}: {type(error).__name__}")
            return None
        elapsed = time.perf_counter() - start
        if response.status_code >= 500 or response.status_code in (400, 403, 404):
            self.errors.append(f"{method} {path}: HTTP {response.status_code}")
        if list_page:
            self.load.append(elapsed)
        return response if body is not None else None

    def login(self) -> None:
        page = self.session.get(self.base + "/login", timeout=60).text
        match = CSRF.search(page)
        response = self.session.post(self.base + "/login", data={
            "email": EMAIL, "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)},
            timeout=60, allow_redirects=False)
        if response.status_code != 302:
            raise RuntimeError(f"login failed: {response.status_code}")

    def edit_a_client(self) -> None:
        page = self.request("GET", "/admin/clients/?sort=0&page=" + str(self.random.randint(0, 5)))
        ids = re.findall(r"/admin/clients/edit/\?id=(\d+)", page.text) if page is not None else []
        if not ids:
            return
        client_id = self.random.choice(ids)
        form_page = self.request("GET", f"/admin/clients/edit/?id={client_id}")
        if form_page is None:
            return
        parser = FormFields()
        parser.feed(form_page.text)
        fields = parser.form_with("city")
        if fields is None:
            self.errors.append(f"edit client {client_id}: no form")
            return
        fields["city"] = self.random.choice(("Lyon", "Grenoble", "Annecy", "Valence"))
        response = self.request("POST", f"/admin/clients/edit/?id={client_id}", data=fields)
        if response is not None and response.status_code != 302:
            self.errors.append(f"edit client {client_id}: HTTP {response.status_code} (not saved)")
        elif response is not None:
            self.edits.append(client_id)

    def run(self) -> None:
        try:
            self.login()
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"login: {error}")
            return
        actions = (
            lambda: self.request("GET", self.random.choice(LIST_PAGES), list_page=True),
            lambda: self.request("GET", "/admin/clients/?search=" + f"R6-{self.random.randint(1, 99):02d}",
                                 list_page=True),
            lambda: self.request("GET", "/admin/clients/?page=" + str(self.random.randint(0, 20)), list_page=True),
            self.edit_a_client,
            lambda: self.request("GET", "/admin/sync-runs/export/xlsx/"),
        )
        weights = (5, 3, 2, 1, 1)
        while not self.stop.is_set():
            self.random.choices(actions, weights)[0]()
            self.stop.wait(self.random.uniform(0.3, 1.0))


def _p95(values: list) -> float:
    if not values:
        return float("nan")
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[-1]


def _wait_http(base: str, deadline: float) -> None:
    import requests
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/login", timeout=5).status_code == 200:
                return
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer")


def _idle_p95(base: str) -> float:
    user = User(base, 999, threading.Event(), [], [])
    user.login()
    for _ in range(2):  # warm-up
        for path in LIST_PAGES:
            user.request("GET", path)
    for _ in range(10):
        for path in LIST_PAGES:
            user.request("GET", path, list_page=True)
    return _p95(user.load)


def _overlaps(runs) -> int:
    real = sorted((run for run in runs if run.status != "refused"), key=lambda run: run.started_at)
    count = 0
    for position, run in enumerate(real):
        for other in real[position + 1:]:
            if run.finished_at is None or other.started_at < run.finished_at:
                count += 1
    return count


def run(dataset_name=None, repeat=None, report=print) -> dict:
    from sqlalchemy import select

    from core.extensions import db
    from exchange.base import save_connector
    from models.exchange import Connector, SyncRun
    from models.master_data import Client
    from models.scheduler import SchedulerLease

    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        report("R6 skipped: it runs on PostgreSQL (set DATABASE_URL=postgresql+psycopg://…)")
        return {"skipped": "needs PostgreSQL", "ok": True}
    work = tempfile.mkdtemp(prefix="passerelle-r6-")
    processes, logs = [], []
    with bench_app("r6", push_context=False) as (app, config):
        app.config["EXCHANGE_TEST_KIND"] = True
        from exchange.base import load_kinds
        load_kinds(app)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": _process_url(config), "SECRET_KEY": config["SECRET_KEY"],
               "EXCHANGE_ROOT": config["EXCHANGE_ROOT"], "PASSERELLE_TEST_KIND": "1",
               "RATELIMIT_STORAGE_URI": "memory://", **SCHEDULER_ENV}

        def start(name: str, args: list) -> subprocess.Popen:
            log = open(os.path.join(work, f"{name}.log"), "w")
            logs.append(log)
            process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            processes.append(process)
            return process

        try:
            with app.app_context():
                tenant_id = create_tenant_user("R6", EMAIL, role="backoffice")
                bulk_insert(Client, tenant_id, lambda i: {"code": f"CLI-{i:05d}", "name": f"Client {i}",
                                                          "city": "Lyon"}, 0, EXISTING_CLIENTS)
                analyze(["clients"])
            start("gunicorn", [str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "--timeout", "120",
                               "app:create_app()"])
            _wait_http(base, time.monotonic() + 120)
            idle = _idle_p95(base)
            report(f"R6 idle: p95 of list pages {idle * 1000:.0f} ms")
            schedulers = [start(f"scheduler-{n}", [str(BIN / "flask"), "--app", "app", "scheduler"])
                          for n in (1, 2)]
            with app.app_context():
                connector, errors = save_connector(tenant_id, "test", "R6", "R6 réception", True,
                                                   {"documents": str(DOCUMENTS), "receive_schedule": "every:1"})
                assert not errors, errors
                db.session.commit()
                connector_id = connector.id

            stop, load, http_errors = threading.Event(), [], []
            users = [User(base, number, stop, load, http_errors) for number in range(USERS)]
            started = time.monotonic()
            for user in users:
                user.start()
            killed_at = took_over_s = None
            active_pid = standby_pid = None
            with app.app_context():
                while time.monotonic() - started < SECONDS or killed_at is None or took_over_s is None:
                    if time.monotonic() - started > SECONDS + MAX_WAIT_S:
                        break
                    time.sleep(0.2)
                    db.session.rollback()
                    lease = db.session.get(SchedulerLease, "scheduler")
                    if killed_at is None:
                        processed = db.session.scalar(select(db.func.max(SyncRun.processed)).where(
                            SyncRun.connector_id == connector_id)) or 0
                        if lease is not None and processed >= KILL_AFTER_DOCUMENTS:
                            active_pid = lease.pid
                            victim = next(p for p in schedulers if p.pid == active_pid)
                            standby_pid = next(p.pid for p in schedulers if p.pid != active_pid)
                            victim.send_signal(signal.SIGKILL)
                            killed_at = time.monotonic()
                            report(f"R6: active scheduler {active_pid} killed at {processed} documents, "
                                   f"{killed_at - started:.0f} s into the load")
                    elif took_over_s is None and lease is not None and lease.pid == standby_pid:
                        took_over_s = time.monotonic() - killed_at
                        report(f"R6: standby {standby_pid} took over in {took_over_s:.1f} s")
            stop.set()
            for user in users:
                user.join(timeout=120)
            load_seconds = time.monotonic() - started
            report(f"R6: load stopped after {load_seconds:.0f} s; waiting for the receive to complete")
            deadline = time.monotonic() + MAX_WAIT_S
            with app.app_context():
                while time.monotonic() < deadline:
                    db.session.rollback()
                    integrated = db.session.scalar(select(db.func.count()).select_from(Client).where(
                        Client.tenant_id == tenant_id, Client.code.like("R6-%")))
                    running = db.session.scalar(select(db.func.count()).select_from(SyncRun).where(
                        SyncRun.connector_id == connector_id, SyncRun.status == "running"))
                    if integrated >= DOCUMENTS and not running:
                        break
                    time.sleep(1)
                db.session.get(Connector, connector_id).enabled = False  # no run after the figures
                db.session.commit()
                runs = db.session.query(SyncRun).filter_by(connector_id=connector_id).order_by(SyncRun.id).all()
                codes = db.session.scalars(select(Client.code).where(Client.tenant_id == tenant_id,
                                                                     Client.code.like("R6-%"))).all()
                overlaps = _overlaps(runs)
                run_rows = [f"#{one.id} {one.trigger} {one.status} {one.started_at:%H:%M:%S.%f} -> "
                            f"{one.finished_at and one.finished_at.strftime('%H:%M:%S.%f')} {one.lease_owner} "
                            f"processed {one.processed} {one.message[:60]}" for one in runs]
                statuses = {}
                for one in runs:
                    statuses[one.status] = statuses.get(one.status, 0) + 1
                interrupted = sum(1 for one in runs if one.status == "failed")
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM if process is processes[0] else signal.SIGKILL)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            for log in logs:
                log.close()

    under_load = _p95(load)
    unique = len(set(codes))
    result = {
        "errors": len(http_errors), "error_samples": sorted(set(http_errors))[:10],
        "overlapping_runs": overlaps, "documents": DOCUMENTS, "integrated": unique, "duplicates": len(codes) - unique,
        "runs": statuses, "interrupted_runs": interrupted, "takeover_s": None if took_over_s is None
        else round(took_over_s, 1), "p95_idle_ms": round(idle * 1000), "p95_load_ms": round(under_load * 1000),
        "list_requests": len(load), "edits_saved": sum(len(user.edits) for user in users), "users": USERS, "load_s": round(load_seconds), "logs": work,
    }
    result["ok"] = (result["errors"] == 0 and overlaps == 0 and unique == DOCUMENTS and not result["duplicates"]
                    and took_over_s is not None and took_over_s < TAKEOVER_TARGET_S)
    report(f"R6 errors {result['errors']} (target 0)" + (f"  e.g. {result['error_samples'][:3]}"
                                                         if http_errors else ""))
    report(f"R6 overlapping runs {overlaps} (target 0)  runs by status {statuses}")
    if overlaps:
        for row in run_rows:
            report(f"    {row}")
    report(f"R6 documents integrated {unique} of {DOCUMENTS}, duplicates {result['duplicates']} (target 0)")
    report(f"R6 standby take-over {result['takeover_s']} s (target < {TAKEOVER_TARGET_S} s)")
    report(f"R6 p95 list pages: idle {result['p95_idle_ms']} ms, under load {result['p95_load_ms']} ms "
           f"({len(load)} list requests and {result['edits_saved']} edits saved by {USERS} users in "
           f"{result['load_s']} s; informational)"
           + ("" if result["ok"] else "  ** NOT MET **"))
    return result
