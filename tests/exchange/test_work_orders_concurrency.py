"""Deliveries at the same moment, against the application served by a process of its
own (threaded server): one id posted 10 times at once gives one invoice (the others
answer 200 with it), 5 different work orders for one new customer give five invoices
and one client; the reference sender posts the signed sample."""
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from core.extensions import db
from models import Client, Invoice, ReceivedDocument, SyncRun

from exchange_env import REPO_ROOT, flask_env
from work_orders_env import SAMPLE, SECRET, TOKEN, body_of, set_up_dossier, work_order


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(app, tmp_path_factory):
    port = _free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port), "--with-threads",
         "--no-reload", "--no-debugger"],
        cwd=REPO_ROOT, env=flask_env(app), stdout=subprocess.DEVNULL, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/login", timeout=1)
            break
        except requests.ConnectionError:
            assert process.poll() is None, "the server did not start"
            time.sleep(0.1)
    yield url
    process.kill()
    process.communicate()
    log.close()


@pytest.fixture
def hook(app, tenants, server):
    with app.app_context():
        set_up_dossier(tenants["ACME"], signing_secret=SECRET)
    return f"{server}/hooks/work-orders/ACME/WO"


def _at_once(hook, bodies):
    from exchange.work_orders.security import signature_header
    barrier, answers = threading.Barrier(len(bodies)), [None] * len(bodies)

    def deliver(position, body):
        headers = {"Content-Type": "application/json", "X-Api-Key": TOKEN,
                   "X-Signature": signature_header(SECRET, body)}
        barrier.wait()
        response = requests.post(hook, data=body, headers=headers, timeout=60)
        try:
            answers[position] = (response.status_code, response.json())
        except ValueError:
            answers[position] = (response.status_code, {"text": response.text[:300]})

    threads = [threading.Thread(target=deliver, args=(n, body)) for n, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_ten_deliveries_of_one_id_at_once_give_one_invoice(app, hook):
    answers = _at_once(hook, [body_of(work_order())] * 10)
    statuses = sorted(status for status, _answer in answers)
    assert statuses == [200] * 9 + [201], answers
    assert len({answer["invoice_id"] for _status, answer in answers}) == 1
    assert sorted(answer["status"] for _s, answer in answers) == ["already_received"] * 9 + ["created"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert db.session.scalar(select(func.count()).select_from(Client)) == 1
        runs = db.session.scalars(select(SyncRun)).all()
        assert len(runs) == 10 and {r.trigger for r in runs} == {"webhook"}
        assert {r.status for r in runs} == {"success"}


def test_five_work_orders_of_one_new_customer_at_once_give_five_invoices_and_one_client(app, hook):
    bodies = [body_of(work_order(id=f"wo-{n}", number=f"BT-{n}")) for n in range(5)]
    answers = _at_once(hook, bodies)
    assert [status for status, _answer in answers] == [201] * 5, answers
    assert len({answer["invoice_id"] for _status, answer in answers}) == 5
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 5
        assert db.session.scalars(select(Client.code)).all() == ["WO-001"]
        assert {i.client.code for i in db.session.scalars(select(Invoice))} == {"WO-001"}
        keys = set(db.session.scalars(select(ReceivedDocument.external_key)))
        assert keys == {f"wo-{n}" for n in range(5)} | {"client:vat:BE0123456749"}


def test_the_reference_sender_posts_the_signed_sample(app, hook):
    command = [sys.executable, "-m", "flask", "--app", "app", "exchange", "peer", "work-orders", "--post",
               str(SAMPLE), "--url", hook, "--token", TOKEN]
    unsigned = subprocess.run(command, cwd=REPO_ROOT, env=flask_env(app), capture_output=True, text=True)
    assert unsigned.returncode == 1 and "HTTP 401" in unsigned.stdout
    signed = subprocess.run([*command, "--secret", SECRET], cwd=REPO_ROOT, env=flask_env(app), capture_output=True,
                            text=True)
    assert signed.returncode == 0 and "HTTP 201" in signed.stdout and '"created"' in signed.stdout, signed.stderr
    again = subprocess.run([*command, "--secret", SECRET], cwd=REPO_ROOT, env=flask_env(app), capture_output=True,
                           text=True)
    assert again.returncode == 0 and "already_received" in again.stdout
