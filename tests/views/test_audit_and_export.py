"""Audit log (who, when, table, row, field, old → new; read-only screen), XLSX export of
lists (French headers, filtered rows, typed cells, frozen header, autofilter, no
formulas) and the command line: export, tenants create, users create, seed-demo."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale

from commands.seed import DEMO_PASSWORD, DEMO_USERS
from core.extensions import db
from core.glossary import label_of
from models import (
    AuditLogEntry, DossierSettings, Membership, NumberingSequence, OperationCode, Tenant, Unit, User, VatRate,
)
from rules.parameters import numbering_sequence_errors, operation_code_errors
from rules.settings import dossier_settings_errors
from html_page import form_values, hrefs, list_cells, parse
from param_rows import add_row, admin_view, read_xlsx, xlsx_values

MO_FILE = Path(__file__).resolve().parents[2] / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"
french_catalogue = pytest.mark.skipif(not MO_FILE.exists(), reason="French catalogue not compiled yet (make translations)")


def _entries(app, **filters):
    with app.app_context():
        rows = db.session.query(AuditLogEntry).filter_by(**filters).order_by(AuditLogEntry.id).all()
        return [(e.action, e.field, e.old_value, e.new_value) for e in rows], rows


def _headers(app, endpoint):
    """The export headers of a list: the UI labels of its fields, in French."""
    with app.test_request_context(), force_locale("fr"):
        return [str(label_of(name)) for name in admin_view(endpoint).export_field_names()]


# --- audit log ------------------------------------------------------------------------------------

def test_create_update_and_delete_are_audited_field_by_field(app, browser, tenants):
    with app.app_context():
        credit_note_id = add_row(OperationCode, tenants["ACME"], "AV", document_type="credit_note").id
    b = browser("consultant@acme.test")
    assert b.post("/admin/operation-codes/new/", {
        "code": "FA", "label": "Facture", "document_type": "invoice", "billable": "y", "active": "y",
        "credit_note_operation_code": str(credit_note_id)}).status_code == 302
    with app.app_context():
        row_id = db.session.query(OperationCode.id).filter_by(code="FA").scalar()

    created, rows = _entries(app, table_name="operation_codes", row_id=row_id, action="create")
    assert set(created) == {("create", "code", None, "FA"), ("create", "label", None, "Facture"),
                            ("create", "document_type", None, "invoice"), ("create", "billable", None, "1"),
                            ("create", "credit_note_operation_code", None, "AV"), ("create", "active", None, "1")}
    for entry in rows:
        assert (entry.user_email, entry.tenant_id, entry.row_code) == ("consultant@acme.test", tenants["ACME"], "FA")
        assert entry.user_id is not None and isinstance(entry.changed_at, datetime)

    url = f"/admin/operation-codes/edit/?id={row_id}"
    data = {**form_values(b.get(url)), "label": "Facture directe"}
    data.pop("billable")
    assert b.post(url, data).status_code == 302
    updated, _rows = _entries(app, table_name="operation_codes", row_id=row_id, action="update")
    assert set(updated) == {("update", "label", "Facture", "Facture directe"), ("update", "billable", "1", "0")}

    assert b.post("/admin/operation-codes/delete/", {"id": str(row_id)}).status_code == 302
    deleted, _rows = _entries(app, table_name="operation_codes", row_id=row_id, action="delete")
    assert ("delete", "label", "Facture directe", None) in deleted
    assert ("delete", "credit_note_operation_code", "AV", None) in deleted
    assert ("delete", "code", "FA", None) in deleted

    # the screen shows them, newest first
    page = browser("viewer@acme.test").get("/admin/audit-log/")
    fields = list_cells(page, "field")
    assert "Libellé" in fields and "OP pour avoir" in fields  # field labels, not column names
    assert "Facture directe" in list_cells(page, "new_value")
    assert set(list_cells(page, "user_email")) >= {"consultant@acme.test"}


def test_a_refused_save_leaves_no_audit_entry(app, browser, tenants):
    b = browser("consultant@acme.test")
    response = b.post("/admin/operation-codes/new/", {"code": "FA", "label": "Facture", "document_type": "invoice"})
    assert response.status_code == 200
    assert _entries(app, table_name="operation_codes")[0] == []


@pytest.mark.parametrize("role", ["admin", "consultant", "backoffice", "viewer"])
def test_the_audit_log_is_read_only(app, browser, tenants, role):
    b = browser(f"{role}@acme.test")
    with app.app_context():
        add_row(Unit, tenants["ACME"], "H")
        entry_id = db.session.query(AuditLogEntry.id).filter_by(tenant_id=tenants["ACME"]).first()[0]
        count = db.session.query(AuditLogEntry).count()
    page = b.get("/admin/audit-log/")
    assert page.status_code == 200
    links = hrefs(page)
    assert not any(part in link for link in links for part in ("/audit-log/new/", "/audit-log/edit/",
                                                                 "/audit-log/import/"))
    assert "/admin/audit-log/delete/" not in [form.attrs.get("action") for form in parse(page).find_all("form")]
    assert b.get(f"/admin/audit-log/details/?id={entry_id}").status_code == 200
    assert b.get("/admin/audit-log/new/").status_code == 403
    assert b.post("/admin/audit-log/new/", {"table_name": "x", "action": "create"}).status_code == 403
    assert b.get(f"/admin/audit-log/edit/?id={entry_id}").status_code == 403
    assert b.post(f"/admin/audit-log/edit/?id={entry_id}", {"new_value": "forged"}).status_code == 403
    assert b.post("/admin/audit-log/delete/", {"id": str(entry_id)}).status_code == 403
    assert b.post("/admin/audit-log/action/", {"action": "delete", "rowid": str(entry_id)}).status_code == 403
    assert b.get("/admin/audit-log/import/").status_code == 403
    with app.app_context():
        assert db.session.query(AuditLogEntry).count() == count
        assert db.session.get(AuditLogEntry, entry_id).new_value != "forged"


# --- XLSX export ----------------------------------------------------------------------------------

@pytest.fixture
def codes(app, tenants):
    acme = tenants["ACME"]
    with app.app_context():
        credit_note = add_row(OperationCode, acme, "AV", "Avoir", document_type="credit_note", billable=True)
        rows = [("FA", "Facture directe", "invoice", True), ("FS", "Facture de situation", "invoice", True),
                ("FX", "Facture interne", "invoice", False), ("DE", "Devis", "quote", False),
                ("AC", "Facture d'acompte", "down_payment", True)]
        for code, label, kind, billable in rows:
            add_row(OperationCode, acme, code, label, document_type=kind, billable=billable,
                    credit_note_operation_code_id=credit_note.id if kind != "quote" else None)
        add_row(OperationCode, tenants["BETA"], "FB", "Facture beta", document_type="quote")
    return acme


def _filter(app, endpoint, column, kind, position):
    with app.app_context():
        for key, (_index, flt) in admin_view(endpoint)._filter_args.items():
            if type(flt).__name__ == kind and flt.column.key == column:
                return f"flt{position}_{key}"
    raise LookupError(column)


def test_the_export_of_a_list_has_its_filtered_rows_typed_under_french_headers(app, browser, codes):
    by_type = _filter(app, "operation-codes", "document_type", "FilterEqual", 0)
    billable = _filter(app, "operation-codes", "billable", "BooleanEqualFilter", 1)
    query = f"search=facture&{by_type}=invoice&{billable}=1"
    b = browser("viewer@acme.test")
    listing = list_cells(b.get(f"/admin/operation-codes/?{query}"), "code")
    response = b.get(f"/admin/operation-codes/export/xlsx/?{query}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"] and ".xlsx" in response.headers["Content-Disposition"]

    values = xlsx_values(response.data)
    headers = _headers(app, "operation-codes")
    assert values[0] == headers
    assert len(headers) == 7
    rows = values[1:]
    with app.app_context():
        expected = db.session.query(OperationCode).filter(
            OperationCode.tenant_id == codes, OperationCode.document_type == "invoice",
            OperationCode.billable.is_(True), OperationCode.label.ilike("%facture%")).order_by(OperationCode.code)
        # closed-list values by their label, as the list shows them (the import reads them back)
        expected = [(row.code, row.label, {"invoice": "Facture"}[row.document_type], row.billable,
                     row.credit_note_operation_code.code, row.active) for row in expected]
    assert [row[0] for row in rows] == listing == ["FA", "FS"]
    with app.app_context():
        names = admin_view("operation-codes").export_field_names()
    column = {name: names.index(name) for name in names}
    assert [(r[column["code"]], r[column["label"]], r[column["document_type"]], r[column["billable"]],
             r[column["credit_note_operation_code"]], r[column["active"]]) for r in rows] == expected
    assert all(r[column["billable"]] is True and r[column["active"]] is True for r in rows)


def test_export_cells_are_typed_with_frozen_header_and_autofilter(app, browser, tenants):
    acme = tenants["ACME"]
    with app.app_context():
        add_row(VatRate, acme, "T20", "Normal", rate=Decimal("20"))
        add_row(VatRate, acme, "T55", "Réduit", rate=Decimal("5.5"))
        add_row(NumberingSequence, acme, "FAC", document_type="invoice", gapless=True, padding=6, next_number=42)
    b = browser("consultant@acme.test")
    sheet = read_xlsx(b.get("/admin/vat-rates/export/xlsx/").data)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    assert [[cell.value for cell in row] for row in sheet.iter_rows()][1:] == [["T20", "Normal", 20], ["T55", "Réduit", 5.5]]
    rate = sheet["C3"]
    assert rate.data_type == "n" and isinstance(rate.value, float) and rate.number_format == "#,##0.00"
    assert sheet.column_dimensions["A"].width and sheet.column_dimensions["B"].width

    sheet = read_xlsx(b.get("/admin/numbering-sequences/export/xlsx/").data)
    row = {header.value: cell for header, cell in zip(sheet[1], sheet[2])}
    with app.test_request_context(), force_locale("fr"):
        padding, next_number, gapless = (str(label_of(n)) for n in ("padding", "next_number", "gapless"))
    assert row[padding].value == 6 and row[padding].data_type == "n"
    assert row[next_number].value == 42
    assert row[gapless].value is True and row[gapless].data_type == "b"

    # dates and times are dates, not text
    sheet = read_xlsx(b.get("/admin/audit-log/export/xlsx/").data)
    changed_at = sheet["A2"]
    assert changed_at.is_date and isinstance(changed_at.value, datetime)
    assert abs(changed_at.value - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(hours=1)
    tenants_sheet = read_xlsx(browser("admin@acme.test").get("/admin/tenants/export/xlsx/").data)
    assert [c.value for c in tenants_sheet[2]][:2] == ["ACME", "ACME Bâtiment"]
    assert tenants_sheet["C2"].is_date


@pytest.mark.parametrize("text", ["=1+1", "+33 6 12 34 56 78", "-5", "@SUM(A1:A2)", '=HYPERLINK("http://evil.example")',
                                  "=cmd|' /C calc'!A0", "http://example.com/page"])
def test_exported_text_never_becomes_a_formula_or_a_link(app, browser, tenants, text):
    with app.app_context():
        add_row(Unit, tenants["ACME"], "X", text)
        add_row(Unit, tenants["ACME"], text[:40], "code that looks like a formula")
    sheet = read_xlsx(browser("viewer@acme.test").get("/admin/units/export/xlsx/").data)
    cells = [cell for row in sheet.iter_rows(min_row=2, max_col=2) for cell in row]  # code and label (then the UN/ECE code)
    assert len(cells) == 4
    for cell in cells:
        assert cell.data_type == "s", (cell.coordinate, cell.value)
        assert cell.hyperlink is None
    assert text in [cell.value for cell in cells] and text[:40] in [cell.value for cell in cells]


def test_an_empty_list_exports_its_header_only(app, browser, tenants):
    values = xlsx_values(browser("viewer@acme.test").get("/admin/units/export/xlsx/").data)
    assert values == [_headers(app, "units")]


@french_catalogue
def test_export_headers_are_in_french(app, browser, tenants):
    headers = xlsx_values(browser("viewer@acme.test").get("/admin/operation-codes/export/xlsx/").data)[0]
    assert "Libellé" in headers and "OP pour avoir" in headers  # the glossary of the spec
    english = ["Label", "Document type", "Billable", "Credit-note operation code", "Active"]
    assert not set(english) & set(headers)


# --- command line ---------------------------------------------------------------------------------

def test_the_export_command_gives_the_rows_of_the_screen(app, browser, codes, tmp_path):
    output = tmp_path / "codes.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "operation-codes", "--tenant", "acme", "-o", str(output)])
    assert result.exit_code == 0, result.output
    from_command = xlsx_values(output.read_bytes())
    from_screen = xlsx_values(browser("viewer@acme.test").get("/admin/operation-codes/export/xlsx/").data)
    assert from_command == from_screen
    assert len(from_command) == 1 + 6 and "FB" not in [row[0] for row in from_command]
    sheet = read_xlsx(output.read_bytes())
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")


def test_the_export_command_refuses_an_unknown_resource_or_tenant(app, tenants, tmp_path):
    runner = app.test_cli_runner()
    output = tmp_path / "x.xlsx"
    assert runner.invoke(args=["export", "nothing", "--tenant", "ACME", "-o", str(output)]).exit_code != 0
    assert runner.invoke(args=["export", "units", "--tenant", "NOPE", "-o", str(output)]).exit_code != 0
    assert not output.exists()


def test_tenants_create(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "create", "--code", "gamma", "--name", "Gamma Travaux"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(code="GAMMA").one()
        assert tenant.name == "Gamma Travaux"
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenant.id).one()
        assert (settings.labour_nature_prefix, settings.quote_validity_days) == ("4MO", 30)
        assert db.session.query(Unit).filter_by(tenant_id=tenant.id).count() == 0
    again = runner.invoke(args=["tenants", "create", "--code", "GAMMA", "--name", "Twice"])
    assert again.exit_code != 0 and "GAMMA" in again.output
    with app.app_context():
        assert db.session.query(Tenant).count() == 1


def test_users_create(app, tenants):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Both@Example.test", "--password", "long-password-1",
                                 "--role", "backoffice", "--tenant", "ACME", "--tenant", "beta"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.query(User).filter_by(email="both@example.test").one()
        assert user.password_hash.startswith("scrypt:") and user.check_password("long-password-1")
        assert sorted((m.tenant.code, m.role) for m in user.memberships) == [("ACME", "backoffice"),
                                                                            ("BETA", "backoffice")]

    refused = [
        ["--email", "wizard@example.test", "--password", "long-password-1", "--role", "wizard", "--tenant", "ACME"],
        ["--email", "short@example.test", "--password", "short", "--role", "viewer", "--tenant", "ACME"],
        ["--email", "nowhere@example.test", "--password", "long-password-1", "--role", "viewer", "--tenant", "NOPE"],
        ["--email", "both@example.test", "--password", "long-password-1", "--role", "viewer", "--tenant", "ACME"],
        ["--email", "not-an-email", "--password", "long-password-1", "--role", "viewer", "--tenant", "ACME"],
        ["--email", "notenant@example.test", "--password", "long-password-1", "--role", "viewer"],
    ]
    for args in refused:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code != 0, args
    with app.app_context():
        assert db.session.query(User).count() == 9
        assert db.session.query(Membership).count() == 10


def test_a_user_created_by_the_command_logs_in_with_his_role(app, browser, tenants):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "--email", "cli@acme.test", "--password", "long-password-1",
                               "--role", "viewer", "--tenant", "ACME"]).exit_code == 0
    b = browser()
    assert b.login("cli@acme.test", "long-password-1").status_code == 302
    assert b.get("/admin/units/").status_code == 200
    assert b.get("/admin/units/new/").status_code == 403


def _demo_counts(app):
    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(code="DEMO").one()
        return {model.__tablename__: db.session.query(model).filter_by(tenant_id=tenant.id).count()
                for model in (OperationCode, NumberingSequence, VatRate, Unit, DossierSettings, AuditLogEntry)} | {
            "users": db.session.query(User).count(), "tenants": db.session.query(Tenant).count()}


def test_seed_demo_loads_a_valid_demo_tenant_once(app, browser):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = _demo_counts(app)
    assert counts["tenants"] == 1 and counts["users"] == 4
    assert counts["operation_codes"] > 0 and counts["numbering_sequences"] > 0 and counts["vat_rates"] > 0
    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(code="DEMO").one()
        roles = sorted((m.user.email, m.role) for m in db.session.query(Membership).filter_by(tenant_id=tenant.id))
        assert sorted(role for _email, role in roles) == ["admin", "backoffice", "consultant", "viewer"]
        assert roles == sorted((email, role) for email, role, _name in DEMO_USERS)
        # the demo parameters respect the rules of the screens
        for code in db.session.query(OperationCode).filter_by(tenant_id=tenant.id):
            values = {"document_type": code.document_type, "credit_note_operation_code": code.credit_note_operation_code}
            assert operation_code_errors(values, tenant.id, code.id) == {}, code.code
        for sequence in db.session.query(NumberingSequence).filter_by(tenant_id=tenant.id):
            values = {name: getattr(sequence, name) for name in ("document_type", "establishment", "gapless",
                                                                  "next_number", "padding")}
            assert numbering_sequence_errors(values, tenant.id, sequence.id) == {}, sequence.code
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenant.id).one()
        values = {column.key: getattr(settings, column.key) for column in DossierSettings.__mapper__.column_attrs}
        values |= {rel.key: getattr(settings, rel.key) for rel in DossierSettings.__mapper__.relationships}
        assert dossier_settings_errors(values, tenant.id) == {}

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert _demo_counts(app) == counts

    for email, role, _name in DEMO_USERS:
        b = browser()
        assert b.login(email, DEMO_PASSWORD).status_code == 302, email
        assert b.get("/admin/operation-codes/new/").status_code == (200 if role in ("admin", "consultant") else 403)
