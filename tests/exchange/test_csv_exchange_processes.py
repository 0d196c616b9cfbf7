"""CSV receive across real processes: a receive killed with SIGKILL in the middle then
run again leaves every document whole or absent and the final counts exact; two
receive processes started at once integrate each document once; and the database
key alone keeps a document from being integrated twice when the look-up missed it."""
import json
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from core.extensions import db
from exchange import runs
from models import Client, DeliveryNote, DeliveryNoteLine, ReceivedDocument
from models.base import utcnow
from models.exchange import Connector, SyncRun
from models.pending import PendingDocument

import csv_env
from exchange_env import REPO_ROOT, flask_env

WAIT_SECONDS = 60  # an upper bound for a loaded machine, never a measured duration
DOCUMENTS = 6000


@pytest.fixture
def ctx(app, tenants):
    csv_env.clean_root(app)
    with app.app_context():
        tenant = tenants["ACME"]
        connector = csv_env.mapped_connector(tenant)
        db.session.add(Client(tenant_id=tenant, code="TRFVJJ", name="Jio"))
        db.session.commit()
        values = {"tenant": tenant, "connector_id": connector.id, "folder": csv_env.folder()}
        db.session.remove()
    return values


def _big_file(folder, count=DOCUMENTS):
    rows = []
    for number in range(1, count + 1):
        for line in (1, 2):
            rows.append(f"D{number:05d};18/11/2026;TRFVJJ;Jio;Virement;{line};SRV-FRAIS;Frais;1;10,00;20")
    (folder / "Documents_big.csv").write_text(csv_env.documents_file(rows), encoding="utf-8")


def _start(app, batch_size=20):
    env = {**flask_env(app), "CSV_EXCHANGE_BATCH_SIZE": str(batch_size)}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "exchange", "run", "PART", "--tenant",
                             "ACME", "--direction", "receive", "--json"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = condition()
        if value:
            return value
        db.session.rollback()
        time.sleep(0.02)
    raise AssertionError(f"still waiting for {what}")


def _half_documents() -> int:
    """Delivery notes whose lines are not exactly the two of their document."""
    return db.session.execute(text(
        "SELECT count(*) FROM delivery_notes n WHERE (SELECT count(*) FROM delivery_note_lines l "
        "WHERE l.delivery_note_id = n.id) <> 2")).scalar()


def test_a_receive_killed_in_the_middle_then_rerun_leaves_every_document_whole(app, ctx):
    _big_file(ctx["folder"])
    with app.app_context():
        victim = _start(app)
        try:
            killed = _wait_for(lambda: db.session.scalar(select(SyncRun).where(
                SyncRun.status == "running", SyncRun.processed >= 400)), "the run to integrate its first documents")
            victim.send_signal(signal.SIGKILL)
        finally:
            victim.communicate(timeout=WAIT_SECONDS)
        db.session.expire_all()
        integrated = db.session.scalar(select(func.count(DeliveryNote.id)))
        assert 0 < integrated < DOCUMENTS, integrated  # killed in the middle
        assert _half_documents() == 0
        assert db.session.scalar(select(func.count(ReceivedDocument.id))) == integrated
        _wait_for(lambda: db.session.get(SyncRun, killed.id).lease_expires_at < utcnow(), "the lease to expire")
        following = _start(app, batch_size=500)
        out, err = following.communicate(timeout=WAIT_SECONDS)
        assert following.returncode == 0, err
        report = json.loads(out)
        db.session.expire_all()
        assert db.session.get(SyncRun, killed.id).status == "failed"
        assert db.session.scalar(select(func.count(DeliveryNote.id))) == DOCUMENTS
        assert db.session.scalar(select(func.count(DeliveryNoteLine.id))) == 2 * DOCUMENTS
        assert _half_documents() == 0 and db.session.scalar(select(func.count(PendingDocument.id))) == 0
        numbers = db.session.scalars(select(DeliveryNote.sequence_number)).all()
        assert sorted(numbers) == list(range(1, DOCUMENTS + 1))  # no number lost, none twice
        documents = [item for item in report["items"] if item["type"] == "document"]
        assert len(documents) == DOCUMENTS - integrated and {item["state"] for item in documents} == {"ok"}
        db.session.remove()


def test_two_receive_processes_at_once_integrate_each_document_once(app, ctx):
    _big_file(ctx["folder"], count=300)
    with app.app_context():
        first, second = _start(app), _start(app)
        outputs = [process.communicate(timeout=WAIT_SECONDS) for process in (first, second)]
        reports = [json.loads(out) for out, _err in outputs]
        statuses = sorted(report["status"] for report in reports)
        assert statuses in (["refused", "success"], ["success", "success"]), outputs
        db.session.expire_all()
        assert db.session.scalar(select(func.count(DeliveryNote.id))) == 300
        assert db.session.scalar(select(func.count(DeliveryNoteLine.id))) == 600
        assert db.session.scalar(select(func.count(PendingDocument.id))) == 0
        db.session.remove()


def test_the_database_key_refuses_a_document_the_look_up_missed(app, ctx, monkeypatch):
    from exchange.csv_exchange import receive
    with app.app_context():
        csv_env.drop_samples()
        connector = db.session.get(Connector, ctx["connector_id"])
        assert runs.summary(runs.run_now(connector, "receive"))["status"] == "success"
        csv_env.drop_samples()
        monkeypatch.setattr(receive, "known", lambda connector_id, keys: {})  # as if another process won the race
        connector = db.session.get(Connector, ctx["connector_id"])
        report = runs.summary(runs.run_now(connector, "receive"))
        documents = [item for item in report["items"] if item["type"] == "document"]
        assert [(item["state"], item["message"]) for item in documents] == [("skipped", "Déjà intégré.")] * 3
        assert sum(report["counts"].values()) == len(report["items"])  # the refused batch's items: neither kept
        db.session.expire_all()
        assert db.session.scalar(select(func.count(DeliveryNote.id))) == 3
        assert db.session.scalar(select(func.count(DeliveryNoteLine.id))) == 5
        db.session.remove()
