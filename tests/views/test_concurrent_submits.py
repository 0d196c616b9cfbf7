"""Two people submitting the same thing at once: one wins, the other gets a message, never
a 500, and nothing is written twice (issue 7, item 6).

Each request runs in its own thread with its own application context, hence its own
session and database connection, as two gunicorn workers would.
"""
import io
import threading
import time

import pytest
from sqlalchemy import text

import rules.invoices
from core.extensions import db
from models.invoices import Invoice
from models.payments import Payment, PaymentImportBatch
from tests.rules.invoice_factory import draft_invoice, invoice_setup


@pytest.fixture
def draft(app, tenants):
    with app.app_context():
        setup = invoice_setup(tenants["ACME"])
        invoice_id = draft_invoice(tenants["ACME"], setup).id
        db.session.commit()
        return invoice_id


def _state(app, invoice_id):
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        return invoice.state, invoice.number


def _in_thread(call):
    """Run ``call`` in another thread and return its result (re-raising its error)."""
    box = {}

    def run():
        try:
            box["result"] = call()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            box["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def _result(thread, box):
    thread.join(60)
    assert not thread.is_alive()
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.mark.parametrize("how", ["button", "list action"])
def test_the_loser_of_a_validation_race_gets_a_message(app, browser, draft, monkeypatch, how):
    """The loser reads the draft, then the winner validates and commits, then the loser
    writes: its conditional UPDATE finds no draft any more."""
    winner, loser = browser("backoffice@acme.test"), browser("consultant@acme.test")
    post = ((lambda b: b.post("/admin/invoices/validate/", {"id": str(draft)}, follow_redirects=True))
            if how == "button" else
            (lambda b: b.post("/admin/invoices/action/", {"action": "validate", "rowid": str(draft)},
                              follow_redirects=True)))
    take_number_and_write, race = rules.invoices._take_number_and_write, {}

    def take_number_and_write_after_the_winner(*args):
        if not race:
            race["started"] = True
            race["winner"] = _result(*_in_thread(lambda: post(winner)))
        return take_number_and_write(*args)

    monkeypatch.setattr(rules.invoices, "_take_number_and_write", take_number_and_write_after_the_winner)
    lost = post(loser)
    assert race["winner"].status_code == 200 and "FA00001" in race["winner"].get_data(as_text=True)
    assert lost.status_code == 200, lost.get_data(as_text=True)[:3000]
    page = lost.get_data(as_text=True)
    assert "validée par un autre utilisateur" in page or "déjà validée" in page
    assert _state(app, draft) == ("validated", "FA00001")
    with app.app_context():
        assert db.session.execute(text("SELECT next_number FROM numbering_sequences WHERE document_type = 'invoice'")).scalar() == 2


def test_two_validations_at_the_same_moment_take_one_number(app, browser, draft):
    """Both requests run for real at once. On PostgreSQL a third connection holds the
    sequence's row lock until both requests are seen waiting on it; on SQLite (one writer
    at a time) the two threads simply race."""
    clients = [browser("backoffice@acme.test"), browser("consultant@acme.test")]
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        locker = db.engine.connect()
    try:
        transaction = locker.begin()
        if postgres:
            locker.execute(text("SELECT id FROM numbering_sequences FOR UPDATE"))
        runs = [_in_thread(lambda b=b: b.post("/admin/invoices/validate/", {"id": str(draft)},
                                              follow_redirects=True)) for b in clients]
        if postgres:
            _wait_for_lock_waiters(locker, 2)
        transaction.commit()
        responses = [_result(*run) for run in runs]
    finally:
        locker.close()
    assert [r.status_code for r in responses] == [200, 200], [r.get_data(as_text=True)[:2000] for r in responses]
    pages = [r.get_data(as_text=True) for r in responses]
    assert sum("validée sous le numéro FA00001" in page for page in pages) == 1
    assert sum("par un autre utilisateur" in page or "déjà validée" in page for page in pages) == 1
    assert _state(app, draft) == ("validated", "FA00001")


def _wait_for_lock_waiters(connection, count: int) -> None:
    for _attempt in range(600):
        waiting = connection.execute(text(  # pg_locks is live (pg_stat_activity is a snapshot)
            "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")).scalar()
        if waiting >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the requests never waited on the lock")


# --- a confirmation submitted twice -----------------------------------------------------------

def _twin(app, b):
    """A second client carrying the same session cookie as ``b`` (the same browser tab,
    submitting again before the first answer came back)."""
    twin = app.test_client()
    twin.set_cookie("session", b.client.get_cookie("session").value)
    return twin


def _xlsx(rows) -> bytes:
    import openpyxl
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _preview_token(b, url, data) -> str:
    page = b.post(url, {"file": (io.BytesIO(data), "file.xlsx")},
                  content_type="multipart/form-data").get_data(as_text=True)
    return page.split('name="upload" value="')[1].split('"')[0]


def _payment_file() -> bytes:
    from datetime import date
    from tests.rules.payment_factory import xlsx_file
    return xlsx_file([["FA000001", date(2026, 11, 5), 100, "virement", "C001", "R1"]])


IMPORTS = {
    "table": ("/admin/units/", lambda: _xlsx([["code", "label"], ["H", "Heure"], ["M", "Mètre"]])),
    "payments": ("/admin/payments/", _payment_file),
}


def _written(app, kind, tenant_id):
    from models import AuditLogEntry, Unit
    with app.app_context():
        if kind == "table":
            return (db.session.query(Unit).filter_by(tenant_id=tenant_id).count(),
                    db.session.query(AuditLogEntry).filter_by(table_name="units").count())
        return (db.session.query(Payment).filter_by(tenant_id=tenant_id).count(),
                db.session.query(PaymentImportBatch).filter_by(tenant_id=tenant_id).count())


@pytest.fixture
def payment_invoices(app, tenants):
    from tests.rules.payment_factory import payment_invoices as make
    with app.app_context():
        return make(tenants["ACME"])


@pytest.mark.parametrize("kind", sorted(IMPORTS))
def test_a_confirmation_submitted_again_afterwards_writes_nothing(app, browser, tenants, payment_invoices, kind):
    list_url, make_file = IMPORTS[kind]
    b = browser("consultant@acme.test")
    token = _preview_token(b, list_url + "import/", make_file())
    twin = _twin(app, b)
    assert b.post(list_url + "import/confirm/", {"upload": token}).status_code == 302
    written = _written(app, kind, tenants["ACME"])
    again = twin.post(list_url + "import/confirm/", data={"upload": token, "csrf_token": b.token()},
                      follow_redirects=True)
    assert again.status_code == 200, again.get_data(as_text=True)[:3000]
    assert "déjà été confirmé" in again.get_data(as_text=True)
    assert _written(app, kind, tenants["ACME"]) == written and written[0] > 0


@pytest.mark.parametrize("kind", sorted(IMPORTS))
def test_two_confirmations_at_the_same_moment_write_once(app, browser, tenants, payment_invoices, monkeypatch, kind):
    """The second submit arrives while the first is writing (it runs, in another thread,
    when the first starts writing)."""
    import views.importing
    import views.payments
    list_url, make_file = IMPORTS[kind]
    b = browser("consultant@acme.test")
    token = _preview_token(b, list_url + "import/", make_file())
    twin, csrf_token = _twin(app, b), b.token()
    module, name = (views.importing, "import_table") if kind == "table" else (views.payments, "import_rows")
    write, race = getattr(module, name), {}

    def write_after_the_second_submit(*args, **kwargs):
        if not race:
            race["started"] = True
            race["second"] = _result(*_in_thread(lambda: twin.post(
                list_url + "import/confirm/", data={"upload": token, "csrf_token": csrf_token},
                follow_redirects=True)))
        return write(*args, **kwargs)

    monkeypatch.setattr(module, name, write_after_the_second_submit)
    first = b.post(list_url + "import/confirm/", {"upload": token}, follow_redirects=True)
    second = race["second"]
    assert (first.status_code, second.status_code) == (200, 200), second.get_data(as_text=True)[:3000]
    assert "déjà été confirmé" in second.get_data(as_text=True)
    assert "déjà été confirmé" not in first.get_data(as_text=True)
    assert _written(app, kind, tenants["ACME"]) == ((2, 1) if kind == "table" else (1, 1))  # one audit entry an import
