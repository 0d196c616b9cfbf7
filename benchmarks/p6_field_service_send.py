"""P6 — field-service send of 50,000 articles + 20,000 clients to the reference peer.

Measured: a real first send run of a connector (``exchange.runs.run_now``; a new
connector each time, so that every row goes: rows read in a few queries,
eligibility, payloads, fingerprints, batches of 500, sent records, report items) against the reference peer started as
its own process (``flask --app app exchange peer field-service``) on loopback.
Baseline: a bare ``requests`` session PUTting the same JSON batches to the same peer.
Target: ≤ 2×.
"""
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import requests

from benchmarks.harness import Figure, best_of_pair, bench_app, bulk_insert, create_tenant_user, time_shares

ARTICLES = 50_000
CLIENTS = 20_000
BATCH = 500
TARGET = 2.0
REPO_ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_peer(config: dict):
    import os
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": config["SECRET_KEY"]}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "exchange", "peer", "field-service",
                                "--port", str(port)], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/v1/ping", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the reference peer did not start")


def run(dataset_name=None, repeat: int = 3, report=print) -> dict:
    from core.extensions import db
    from exchange import runs
    from exchange.base import save_connector
    from models import Article, Client, Connector

    with bench_app() as (app, config):
        tenant_id = create_tenant_user("BENCH", "p6@bench.test")
        bulk_insert(Client, tenant_id, lambda i: {"code": f"C{i:06d}", "name": f"Client {i}", "city": "Lyon",
                                                  "address": f"{i} rue de la Paix", "postcode": "69001",
                                                  "email": f"c{i}@bench.test", "phone": "0400000000",
                                                  "deactivated": False, "country": "France",
                                                  "vat_number": ""}, 0, CLIENTS)
        bulk_insert(Article, tenant_id, lambda i: {"code": f"A{i:06d}", "label": f"Article {i}",
                                                   "sale_price": Decimal("12.5"), "active": True,
                                                   "available_for_export": True}, 0, ARTICLES)
        process, url = _start_peer(config)
        try:
            # each send is a first send (every row sent, every sent record written): a connector
            # each (the warm-up, the timed runs, the profiled one)
            connectors = []
            for number in range(repeat + 2):
                connector, errors = save_connector(tenant_id, "field_service", f"P6-{number}", "P6", True,
                                                   {"base_url": url, "api_key": "bench", "batch_size": str(BATCH)})
                assert not errors, errors
                connectors.append(connector.id)
            db.session.commit()
            pending = list(connectors)

            def measured():
                row = db.session.get(Connector, pending.pop(0))
                run_id = runs.run_now(row, "send", "command")
                status = runs.progress(run_id)["status"]
                if status != "success":
                    raise RuntimeError(f"P6 send run ended {status}: {runs.progress(run_id)['message']}")
                db.session.remove()

            measured()  # warm-up, and what the peer now holds is what the baseline sends
            received = requests.get(url + "/_received", timeout=60).json()["received"]
            batches = [(path, received[name][start:start + BATCH])
                       for name, path in (("customers", "/v1/customers"), ("items", "/v1/items"))
                       for start in range(0, len(received[name]), BATCH)]
            sent_rows = sum(len(rows) for _path, rows in batches)
            session = requests.Session()
            session.headers.update({"X-Api-Key": "bench", "Accept": "application/json"})

            def baseline():
                for path, rows in batches:
                    response = session.put(url + path, json={"items": rows}, timeout=60)
                    response.raise_for_status()
                    response.json()

            (best, median), (base_best, base_median) = best_of_pair(measured, baseline, repeat)
            shares = time_shares(measured)
        finally:
            process.kill()
            process.communicate()
    figure = Figure("P6", "P6 field send", TARGET, base_best, best, sent_rows,
                    {"median_s": round(median, 3), "baseline_median_s": round(base_median, 3),
                     "batches": len(batches), "time_shares": shares})
    report(figure.line())
    return figure.as_dict()
