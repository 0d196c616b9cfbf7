"""The work-order webhook (exchanges.md Kind 3, quality.md S12 and R1): the sample
becomes the priced draft invoice, replays give the same invoice, tokens and signatures
are checked, every bad payload is refused whole with every problem listed."""
import io
import time
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from models import Client, Invoice, InvoiceAttachment, ReceivedDocument, SyncRun, SyncRunItem

from work_orders_env import SECRET, TOKEN, attachment, post, sample, set_up_dossier, work_order


@pytest.fixture
def dossier(app, tenants):
    with app.app_context():
        return set_up_dossier(tenants["ACME"])


@pytest.fixture
def client(app):
    return app.test_client()


def _invoice(app, invoice_id):
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        lines = [(line.article.code, line.kind, line.quantity, line.unit_price, line.amount, line.label)
                 for line in invoice.lines]
        return invoice, lines, invoice.client, list(invoice.attachments)


def test_the_sample_becomes_a_priced_draft_invoice(app, dossier, client):
    response = post(client, sample())
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "created"
    with app.app_context():
        invoice = db.session.get(Invoice, answer["invoice_id"])
        assert invoice.state == "draft" and invoice.origin == "work_order"
        assert invoice.external_reference == "BT-2026-0457"
        from core import clock
        assert invoice.invoice_date == clock.today()
        assert str(invoice.service_date) == "2026-11-21"
        assert invoice.memo.startswith("Entretien annuel") and invoice.internal_note.startswith("Client difficile")
        lines = [(l.article.code, l.kind, l.quantity, l.unit_price, l.amount) for l in invoice.lines]
        assert lines == [
            ("FILT-G4", "supply", Decimal("2"), Decimal("12.50"), Decimal("25.00")),
            ("GAZ-R32-1KG", "supply", Decimal("1.5"), Decimal("40.00"), Decimal("60.00")),
            ("MO", "labour", Decimal("2.5"), Decimal("55.00"), Decimal("137.50")),   # by e-mail (any case)
            ("MO", "labour", Decimal("1.0"), Decimal("48.00"), Decimal("48.00")),    # by name: Léa Dubois
            ("KM", "travel", Decimal("38"), Decimal("0.45"), Decimal("17.10")),      # the connector's rate
        ]
        assert invoice.total_excl_vat == Decimal("287.60") and invoice.total_incl_vat == Decimal("345.12")
        assert invoice.lines[0].vat_rate.code == "T20" and invoice.lines[2].unit.code == "H"
        client = invoice.client
        assert (client.code, client.name, client.vat_number, client.country, client.city) == (
            "WO-001", "Boulangerie Dupré", "BE0123456749", "BE", "Bruxelles")
        [stored] = invoice.attachments
        assert stored.filename == "BT-2026-0457.pdf" and stored.content_type == "application/pdf"
        assert stored.content.startswith(b"%PDF-1.4")
        run = db.session.scalars(select(SyncRun)).one()
        assert (run.trigger, run.direction, run.status, run.lease_key) == ("webhook", "receive", "success", None)
        item = db.session.scalars(select(SyncRunItem)).one()
        assert (item.type, item.identifier, item.state) == ("work_order", "wo_8f2c1a", "ok")
        assert "WO-001" in item.message


def test_a_replay_answers_200_with_the_same_invoice(app, dossier, client):
    first = post(client, sample()).get_json()
    again = post(client, sample())
    assert again.status_code == 200
    assert again.get_json() == {"invoice_id": first["invoice_id"], "status": "already_received"}
    changed = post(client, work_order(memo="autre chose"))  # the id decides, not the content
    assert changed.status_code == 200 and changed.get_json()["invoice_id"] == first["invoice_id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert db.session.scalar(select(func.count()).select_from(Client)) == 1
        runs = db.session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
        assert [r.status for r in runs] == ["success"] * 3 and all(r.trigger == "webhook" for r in runs)
        states = [i.state for i in db.session.scalars(select(SyncRunItem).order_by(SyncRunItem.id))]
        assert states == ["ok", "skipped", "skipped"]


def test_the_attachment_downloads_from_the_invoice(app, dossier, client, browser):
    from rules.tenancy import create_user
    from models import Tenant
    with app.app_context():
        create_user("bo@acme.test", "correct-horse-battery", [(db.session.get(Tenant, 1) or
                                                                db.session.scalars(select(Tenant)).first(),
                                                                "backoffice")])
        db.session.commit()
    invoice_id = post(client, sample()).get_json()["invoice_id"]
    with app.app_context():
        attachment_id = db.session.scalars(select(InvoiceAttachment.id)).one()
    b = browser("bo@acme.test")
    details = b.get(f"/admin/invoices/details/?id={invoice_id}").get_data(as_text=True)
    assert f"/admin/invoices/attachments/{attachment_id}/" in details
    download = b.get(f"/admin/invoices/attachments/{attachment_id}/")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    printed = b.get(f"/admin/invoices/print/?id={invoice_id}").get_data(as_text=True)
    assert "Entretien annuel pompe" in printed                 # the memo is printed
    assert "Client difficile" not in printed and "gérant" not in printed  # never the internal note
    export = b.get("/admin/invoices/export/xlsx/")
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.data)) as workbook:
        cells = " ".join(workbook.read(name).decode("utf-8") for name in workbook.namelist()
                         if name.endswith(".xml"))
    assert "BT-2026-0457" in cells and "Client difficile" not in cells  # nor in the exported list


# --- tokens, tenants, connectors ---------------------------------------------------------------------

def test_unknown_or_disabled_connectors_and_tenants_answer_404_alike(app, tenants, dossier, client):
    unknown_connector = post(client, sample(), connector="NOPE")
    unknown_tenant = post(client, sample(), tenant="NOPE")
    assert unknown_connector.status_code == unknown_tenant.status_code == 404
    assert unknown_connector.get_json() == unknown_tenant.get_json()
    with app.app_context():
        from models import Connector
        db.session.get(Connector, dossier).enabled = False
        db.session.commit()
    assert post(client, sample()).status_code == 404
    assert client.get("/hooks/work-orders/ACME/WO").status_code == 405
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN[:-1], "é" * 5])
def test_a_bad_or_missing_token_answers_401_and_records_nothing(app, dossier, client, token):
    response = post(client, sample(), token=token)
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["field"] == "X-Api-Key"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_no_session_and_no_csrf_token_are_needed(app, dossier):
    app.config["WTF_CSRF_ENABLED"], saved = True, app.config.get("WTF_CSRF_ENABLED")
    try:
        assert post(app.test_client(), sample()).status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = saved


def test_the_same_connector_code_in_two_tenants(app, tenants, client):
    with app.app_context():
        set_up_dossier(tenants["ACME"])
        set_up_dossier(tenants["BETA"], inbound_token="beta-token-987654321")
    assert post(client, sample(), tenant="BETA").status_code == 401          # ACME's token opens only ACME
    beta = post(client, sample(), tenant="beta", token="beta-token-987654321")
    acme = post(client, sample(), tenant="ACME")
    assert beta.status_code == acme.status_code == 201                        # one id, two dossiers: two invoices
    with app.app_context():
        assert db.session.get(Invoice, beta.get_json()["invoice_id"]).tenant_id == tenants["BETA"]
        assert db.session.get(Invoice, acme.get_json()["invoice_id"]).tenant_id == tenants["ACME"]
        assert db.session.get(Invoice, acme.get_json()["invoice_id"]).client.tenant_id == tenants["ACME"]


# --- signatures ----------------------------------------------------------------------------------------

@pytest.fixture
def signed(app, tenants):
    with app.app_context():
        return set_up_dossier(tenants["ACME"], signing_secret=SECRET)


def test_a_valid_signature_is_accepted(signed, client):
    assert post(client, sample(), secret=SECRET).status_code == 201


@pytest.mark.parametrize("case", ["missing", "wrong secret", "301 s old", "301 s ahead", "garbage", "no v1"])
def test_a_bad_signature_answers_401(app, signed, client, case):
    headers, secret, timestamp = {}, SECRET, None
    if case == "missing":
        secret = None
    elif case == "wrong secret":
        secret = "another-secret"
    elif case == "301 s old":
        timestamp = int(time.time()) - 301
    elif case == "301 s ahead":
        timestamp = int(time.time()) + 301
    elif case == "garbage":
        secret, headers = None, {"X-Signature": "t=abc,v1=zz"}
    elif case == "no v1":
        secret, headers = None, {"X-Signature": f"t={int(time.time())}"}
    response = post(client, sample(), secret=secret, timestamp=timestamp, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["field"] == "X-Signature"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0


def test_a_signature_299_seconds_old_is_accepted(signed, client):
    assert post(client, sample(), secret=SECRET, timestamp=int(time.time()) - 299).status_code == 201


def test_a_body_changed_after_signing_is_refused(signed, client):
    from exchange.work_orders.security import signature_header
    from work_orders_env import body_of
    header = signature_header(SECRET, body_of(sample()))
    tampered = body_of(work_order(km=3800))
    response = post(client, tampered, headers={"X-Signature": header})
    assert response.status_code == 401


def test_during_a_rotation_either_secret_signs(app, tenants, client):
    with app.app_context():
        set_up_dossier(tenants["ACME"], signing_secret=f"{SECRET}, new-secret-42")
    assert post(client, work_order(id="a"), secret=SECRET).status_code == 201
    assert post(client, work_order(id="b", number="N-b"), secret="new-secret-42").status_code == 201
    assert post(client, work_order(id="c", number="N-c"), secret="retired").status_code == 401


# --- payloads --------------------------------------------------------------------------------------------

def _refused(app, client, document, status=422):
    response = post(client, document)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0
        assert db.session.scalar(select(func.count()).select_from(ReceivedDocument)) == 0
    return {e["field"]: e["message"] for e in response.get_json()["errors"]}


def test_every_problem_is_listed_and_kept_in_the_report(app, dossier, client):
    document = work_order(completedAt="hier", km=-3, products=[{"code": "NOPE", "quantity": 1},
                                                               {"code": "FILT-G4", "quantity": "2"}])
    document["users"][1]["hours"] = -1
    document["users"].append({"fullName": "Inconnu Total", "email": "x@y.example", "hours": 1})
    del document["customer"]["name"]
    errors = _refused(app, client, document)
    assert set(errors) == {"completedAt", "km", "products[1].quantity", "users[1].hours", "customer.name",
                           "products[0]", "users[2]"}
    assert "NOPE" in errors["products[0]"]
    assert "Inconnu Total" in errors["users[2]"] and "taux" in errors["users[2]"]  # French: create … set a rate
    with app.app_context():
        run = db.session.scalars(select(SyncRun)).one()
        assert (run.status, run.trigger) == ("failed", "webhook")
        item = db.session.scalars(select(SyncRunItem)).one()
        assert (item.state, item.identifier) == ("error", "wo_8f2c1a")
        for field in errors:
            assert field in item.message


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b'{"id": NaN}', b"[" * 100000,
                                  b'"text"', b"null"])
def test_a_body_that_is_no_work_order_is_refused(app, dossier, client, body):
    errors = _refused(app, client, body)
    assert errors


@pytest.mark.parametrize("changes, field", [
    ({"id": None}, "id"), ({"id": ["x"]}, "id"), ({"id": "x" * 201}, "id"), ({"number": 12.5}, "number"),
    ({"users": "Karim"}, "users"), ({"users": [1]}, "users[0]"), ({"km": "38"}, "km"), ({"km": True}, "km"),
    ({"km": 1e300}, "km"), ({"km": 0.00001}, "km"), ({"products": {"code": "x"}}, "products"),
    ({"customer": "Dupré"}, "customer"), ({"customer": None}, "customer"), ({"memo": {"a": 1}}, "memo"),
    ({"memo": "nul\u0000byte"}, "memo"), ({"completedAt": 1732194300}, "completedAt"),
    ({"attachments": [{"kind": "virus", "fileName": "a.pdf", "contentBase64": "QQ=="}]}, "attachments[0].kind"),
    ({"attachments": [{"kind": "workorder", "fileName": "a.pdf", "contentBase64": "%%%"}]},
     "attachments[0].contentBase64"),
    ({"attachments": [{"kind": "workorder", "fileName": "a.pdf"}]}, "attachments[0].contentBase64"),
])
def test_wrong_types_and_missing_fields_are_named(app, dossier, client, changes, field):
    document = work_order(**changes)
    if "customer" in changes and changes["customer"] is None:
        del document["customer"]
    errors = _refused(app, client, document)
    assert field in errors, errors


def test_texts_with_script_are_kept_as_text_and_printed_escaped(app, dossier, client, browser):
    hostile = "<script>alert(1)</script>"
    document = work_order(memo=hostile, internalNote=hostile)
    document["customer"]["name"] = f"{hostile} SARL"
    invoice_id = post(client, document).get_json()["invoice_id"]
    with app.app_context():
        from rules.tenancy import create_user
        from models import Tenant
        create_user("viewer@acme.test", "correct-horse-battery",
                    [(db.session.scalars(select(Tenant).where(Tenant.code == "ACME")).one(), "viewer")])
        db.session.commit()
        assert db.session.get(Invoice, invoice_id).memo == hostile
    printed = browser("viewer@acme.test").get(f"/admin/invoices/print/?id={invoice_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in printed and "&lt;script&gt;alert(1)&lt;/script&gt;" in printed


def test_a_huge_base64_attachment_is_refused_before_decoding(app, dossier, client):
    document = work_order(attachments=[{"kind": "certificate", "fileName": "big.pdf",
                                        "contentBase64": "A" * (15 * 1024 * 1024)}])
    errors = _refused(app, client, document)
    assert "10" in errors["attachments[0].contentBase64"]


def test_a_20_mb_body_of_attachments_within_the_rule_is_accepted(app, dossier, client):
    document = work_order(attachments=[attachment(7 * 1024 * 1024, "a.pdf"), attachment(7 * 1024 * 1024, "b.jpg"),
                                       attachment(100, "page.html")])
    response = post(client, document)
    assert response.status_code == 201
    with app.app_context():
        stored = {a.filename: (a.content_type, len(a.content)) for a in db.session.scalars(select(InvoiceAttachment))}
    assert stored == {"a.pdf": ("application/pdf", 7 * 1024 * 1024), "b.jpg": ("image/jpeg", 7 * 1024 * 1024),
                      "page.html": ("application/octet-stream", 100)}  # the allow-list, as for manual uploads


def test_a_20_mb_body_with_one_attachment_over_10_mb_is_refused(app, dossier, client):
    errors = _refused(app, client, work_order(attachments=[attachment(14 * 1024 * 1024)]))
    assert "attachments[0].contentBase64" in errors


def test_above_25_mb_answers_413_by_content_length_before_reading(app, dossier, client):
    body = b"{" + b" " * (25 * 1024 * 1024) + b"}"
    response = post(client, body)
    assert response.status_code == 413
    with app.app_context():
        run = db.session.scalars(select(SyncRun)).one()   # the refusal is in a report (the token was right)
        assert run.status == "failed"
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_above_the_limit_without_content_length_is_refused_while_reading(app, dossier, client):
    app.config["WORK_ORDER_MAX_BYTES"], saved = 1000, app.config["WORK_ORDER_MAX_BYTES"]
    try:
        response = client.post("/hooks/work-orders/ACME/WO", input_stream=io.BytesIO(b" " * 2000),
                               headers={"X-Api-Key": TOKEN, "Content-Type": "application/json"},
                               environ_overrides={"wsgi.input_terminated": True})  # chunked: no length
        assert response.status_code == 413
    finally:
        app.config["WORK_ORDER_MAX_BYTES"] = saved


def test_the_demo_turns_the_sample_into_a_priced_draft(app, client):
    from commands.seed import seed_demo
    with app.app_context():
        seed_demo()
        seed_demo()  # again: nothing duplicated
    response = post(client, sample(), tenant="DEMO", connector="BT", token="demo-work-orders-token",
                    secret="demo-signing-secret")
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        invoice = db.session.get(Invoice, response.get_json()["invoice_id"])
        codes = [(line.article.code, line.unit_price) for line in invoice.lines]
        assert codes == [("FILT-G4", Decimal("18.5")), ("GAZ-R32-1KG", Decimal("62")), ("MO-CVC", Decimal("58")),
                         ("MO-CVC", Decimal("52")), ("KM", Decimal("0.45"))]


def test_a_database_that_cannot_record_the_run_answers_503(app, dossier, client, monkeypatch):
    from sqlalchemy.exc import OperationalError
    from exchange import runs

    def locked(*args, **kwargs):
        raise OperationalError("INSERT INTO sync_runs", {}, Exception("database is locked"))
    monkeypatch.setattr(runs, "start", locked)
    response = post(client, sample())
    assert response.status_code == 503 and response.get_json()["errors"][0]["message"]


def test_secrets_that_cannot_be_decrypted_refuse_the_token(app, dossier, client):
    with app.app_context():
        from models import Connector
        db.session.get(Connector, dossier).secrets = "not-a-fernet-token"
        db.session.commit()
    assert post(client, sample()).status_code == 401
