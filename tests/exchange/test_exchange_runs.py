"""Runs through the one reporting piece: counts and items, dry run, retry, audit once per
run, failures, leases in one process (the two-process cases are in test_processes)."""
import pytest
from sqlalchemy import func

from core.extensions import db
from exchange import runs
from exchange.locking import INTERRUPTED, AlreadyRunning
from models import AuditLogEntry, Client
from models.exchange import Connector, SyncRun, SyncRunItem
from models.base import utcnow


def _run(connector_id, direction="receive", **kwargs):
    connector = db.session.get(Connector, connector_id)
    run_id = runs.run_now(connector, direction, **kwargs)
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _clients(tenant_id):
    return sorted(code for (code,) in db.session.query(Client.code).filter_by(tenant_id=tenant_id))


def _items(run):
    return [(i.type, i.identifier, i.state) for i in
            db.session.query(SyncRunItem).filter_by(run_id=run.id).order_by(SyncRunItem.id)]


def test_a_run_integrates_each_document_whole_and_reports_every_item(app_ctx, tenants, make_connector):
    connector_id = make_connector(documents=4, fail="TST-002", warn="TST-003")
    run = _run(connector_id)
    assert (run.status, run.total, run.processed) == ("partial", 4, 4)
    assert (run.ok_count, run.warning_count, run.error_count, run.skipped_count) == (2, 1, 1, 0)
    assert _items(run) == [("client", "TST-001", "ok"), ("client", "TST-002", "error"),
                           ("client", "TST-003", "warning"), ("client", "TST-004", "ok")]
    # the failed document was added, then rolled back whole
    assert _clients(tenants["ACME"]) == ["TST-001", "TST-003", "TST-004"]
    assert run.lease_key is None and run.finished_at is not None


def test_re_running_the_same_input_duplicates_nothing(app_ctx, tenants, make_connector):
    connector_id = make_connector()
    _run(connector_id)
    again = _run(connector_id)
    assert (again.status, again.ok_count, again.skipped_count) == ("success", 0, 3)
    assert len(_clients(tenants["ACME"])) == 3


def test_a_dry_run_reports_what_the_real_run_does_and_writes_nothing(app_ctx, tenants, make_connector):
    connector_id = make_connector(documents=5, fail="TST-004", warn="TST-001")
    audit_before = db.session.query(func.count(AuditLogEntry.id)).scalar()
    dry = _run(connector_id, dry_run=True)
    assert _clients(tenants["ACME"]) == []
    assert db.session.query(func.count(AuditLogEntry.id)).scalar() == audit_before
    real = _run(connector_id)
    counts = lambda r: (r.status, r.total, r.processed, r.ok_count, r.skipped_count, r.warning_count, r.error_count)
    assert counts(dry) == counts(real)
    assert _items(dry) == _items(real)
    assert dry.dry_run and dry.lease_key is None


def test_retrying_the_failed_items_runs_only_them_as_a_linked_run(app_ctx, tenants, make_connector):
    connector_id = make_connector(documents=4, fail="TST-002,TST-004")
    first = _run(connector_id)
    assert first.error_count == 2
    connector = db.session.get(Connector, connector_id)
    connector.settings = {**connector.settings, "fail": ""}  # the cause was fixed meanwhile
    db.session.commit()
    retry = _run(connector_id, retry_of=first.id)
    assert retry.retry_of_id == first.id
    assert _items(retry) == [("client", "TST-002", "ok"), ("client", "TST-004", "ok")]
    assert retry.status == "success"
    assert _clients(tenants["ACME"]) == ["TST-001", "TST-002", "TST-003", "TST-004"]


def test_a_run_without_failed_items_cannot_be_retried(app_ctx, make_connector):
    connector_id = make_connector()
    first = _run(connector_id)
    with pytest.raises(runs.RunRefused):
        _run(connector_id, retry_of=first.id)


def test_a_run_is_audited_once_not_field_by_field(app_ctx, tenants, make_connector):
    connector_id = make_connector(documents=3)
    db.session.query(AuditLogEntry).delete()
    db.session.commit()
    run = _run(connector_id, actor=(None, "cli"))
    entries = db.session.query(AuditLogEntry).all()
    assert [(e.table_name, e.row_id, e.action, e.user_email) for e in entries] == [("sync_runs", run.id, "run", "cli")]
    assert "3" in entries[0].new_value


def test_a_refused_key_fails_the_run_with_a_readable_message(app_ctx, tenants, make_connector):
    run = _run(make_connector(api_key="refused"))
    assert run.status == "failed" and "API" in run.message
    assert _clients(tenants["ACME"]) == []


def test_an_unexpected_error_fails_the_run_and_keeps_what_was_integrated(app_ctx, tenants, make_connector,
                                                                         monkeypatch):
    from exchange.test_kind import engine
    connector_id = make_connector()
    calls = []
    real_add = db.session.add

    def add_then_break(row):
        calls.append(row)
        if len(calls) == 2:  # the second client
            raise ZeroDivisionError("boom")
        return real_add(row)
    monkeypatch.setattr(db.session, "add", add_then_break)
    run = _run(connector_id)
    monkeypatch.undo()
    assert run.status == "failed" and "ZeroDivisionError" in run.message
    assert _clients(tenants["ACME"]) == ["TST-001"]
    assert engine  # the kind's engine module is the one that ran


def test_a_second_run_while_one_holds_the_lease_is_refused(app_ctx, make_connector):
    connector = db.session.get(Connector, make_connector())
    first = runs.start(connector, "receive")
    with pytest.raises(AlreadyRunning) as refused:
        runs.start(connector, "receive")
    assert refused.value.run_id == first
    runs.start(connector, "send")            # another direction is another lease
    runs.start(connector, "receive", dry_run=True)  # a dry run takes no lease


def test_a_run_whose_lease_expired_is_closed_as_interrupted_before_the_next(app_ctx, make_connector):
    connector = db.session.get(Connector, make_connector())
    dead = runs.start(connector, "receive")
    db.session.query(SyncRun).filter_by(id=dead).update({"lease_expires_at": utcnow()})
    db.session.commit()
    following = runs.start(connector, "receive")
    db.session.expire_all()
    closed = db.session.get(SyncRun, dead)
    assert closed.status == "failed" and closed.lease_key is None and closed.message == str(INTERRUPTED)
    assert db.session.get(SyncRun, following).status == "running"


def test_a_disabled_connector_does_not_run(app_ctx, make_connector):
    connector = db.session.get(Connector, make_connector())
    connector.enabled = False
    db.session.commit()
    with pytest.raises(runs.RunRefused):
        runs.start(connector, "receive")


def test_the_send_writes_its_file_in_the_export_folder_but_not_in_a_dry_run(app, app_ctx, tenants, make_connector):
    from pathlib import Path
    connector_id = make_connector(export_folder="out/tst")
    _run(connector_id)  # receive: three clients
    dry = _run(connector_id, "send", dry_run=True)
    folder = Path(app.config["EXCHANGE_ROOT"]) / "out" / "tst"
    assert dry.ok_count == 3 and not list(folder.glob("*.csv"))
    real = _run(connector_id, "send")
    assert (folder / f"Clients_{real.id}.csv").read_text().splitlines() == ["Code", "TST-001", "TST-002", "TST-003"]


def test_failed_runs_are_counted_for_the_home_page(app_ctx, tenants, make_connector):
    ok_id, broken_id = make_connector("OK1"), make_connector("KO1", api_key="refused")
    _run(ok_id)
    _run(broken_id)
    _run(broken_id, dry_run=True)
    assert runs.failed_runs_count(tenants["ACME"]) == 1
    assert runs.failed_runs_count(tenants["BETA"]) == 0
