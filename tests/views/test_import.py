"""Spreadsheet import of parameter tables: the inverse of the export, all rows or none."""
import io

import openpyxl
import pytest
from click.testing import Result

from core.extensions import db
from models import AuditLogEntry, OperationCode, Unit, VatRate


def _xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(b, resource, data, filename="file.xlsx"):
    return b.post(f"/admin/{resource}/import/", {"file": (io.BytesIO(data), filename)},
                  content_type="multipart/form-data")


def _codes(app, model, tenant_id):
    with app.app_context():
        return sorted(r.code for r in db.session.query(model).filter_by(tenant_id=tenant_id))


def test_preview_then_confirm_creates_rows_with_relations_by_code(app, browser, tenants):
    b = browser("consultant@acme.test")
    data = _xlsx([["code", "label", "document_type", "billable", "credit_note_operation_code", "active"],
                  ["FA", "Facture", "invoice", "oui", "AV", "oui"],
                  ["AV", "Avoir", "credit_note", "non", None, "oui"]])
    preview = _upload(b, "operation-codes", data)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="import-confirm"' in page, page[page.find("<body"):][:3000]
    assert _codes(app, OperationCode, tenants["ACME"]) == []  # the preview writes nothing
    token = page.split('name="upload" value="')[1].split('"')[0]
    confirm = b.post("/admin/operation-codes/import/confirm/", {"upload": token})
    assert confirm.status_code == 302
    with app.app_context():
        rows = {r.code: r for r in db.session.query(OperationCode).filter_by(tenant_id=tenants["ACME"])}
        assert rows["FA"].credit_note_operation_code.code == "AV" and rows["FA"].billable is True
        # exchanges.md: an import is audited once (who, what, counts), not field by field
        entries = db.session.query(AuditLogEntry).filter_by(table_name="operation_codes").all()
        assert [(entry.action, entry.user_email) for entry in entries] == [("import", "consultant@acme.test")]
        assert "2" in entries[0].new_value
    assert b.post("/admin/operation-codes/import/confirm/", {"upload": token}).status_code == 404


def test_errors_by_row_and_column_and_nothing_written(app, browser, tenants):
    b = browser("consultant@acme.test")
    data = _xlsx([["code", "label", "document_type", "billable", "credit_note_operation_code"],
                  ["OK1", "Valid row", "quote", "non", None],
                  ["FA", "Facture sans avoir", "invoice", "oui", None],
                  ["FB", "Avoir inconnu", "invoice", "oui", "NOPE"],
                  ["OK1", "Doublon", "quote", "peut-être", None]])
    page = _upload(b, "operation-codes", data).get_data(as_text=True)
    assert 'id="import-confirm"' not in page
    assert page.count("import-error") == 4  # missing credit note, unknown code, duplicate code, bad boolean
    assert "NOPE" in page
    assert _codes(app, OperationCode, tenants["ACME"]) == []


@pytest.mark.parametrize("content, filename", [
    (b"", "empty.xlsx"), (b"not a spreadsheet at all\x00\x01", "x.xlsx"), (b"PK\x03\x04broken", "x.xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1encrypted", "x.xlsx"),
])
def test_unreadable_files_get_one_clear_message(app, browser, tenants, content, filename):
    b = browser("consultant@acme.test")
    response = _upload(b, "units", content, filename)
    assert response.status_code == 200
    assert 'id="import-file-errors"' in response.get_data(as_text=True)
    assert _codes(app, Unit, tenants["ACME"]) == []


def test_formula_cells_and_script_text(app, browser, tenants):
    b = browser("consultant@acme.test")
    page = _upload(b, "units", _xlsx([["code", "label"], ["U", "=1+1"]])).get_data(as_text=True)
    assert "import-error" in page and 'id="import-confirm"' not in page
    csv = "code;label\nU;<script>alert(1)</script>\nH;=cmd|' /C calc'!A0\n".encode("cp1252")
    page = _upload(b, "units", csv, "units.csv").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'id="import-confirm"' in page


def test_export_then_import_changes_nothing(app, tenants):
    runner = app.test_cli_runner()
    with app.app_context():
        db.session.add_all([VatRate(tenant_id=tenants["ACME"], code="T20", label="TVA 20 %", rate="20"),
                            VatRate(tenant_id=tenants["ACME"], code="T55", label="TVA 5,5 %", rate="5.5")])
        db.session.commit()
        before = db.session.query(AuditLogEntry).count()
    import tempfile, os
    path = os.path.join(tempfile.mkdtemp(), "vat.xlsx")
    assert runner.invoke(args=["export", "vat-rates", "--tenant", "ACME", "-o", path]).exit_code == 0
    result: Result = runner.invoke(args=["import", "vat-rates", "--tenant", "ACME", path])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(AuditLogEntry).count() == before
        rates = {r.code: r.rate for r in db.session.query(VatRate)}
        assert str(rates["T55"]) == "5.50"


def test_cli_import_prints_errors_and_exits_1(app, tenants, tmp_path):
    path = tmp_path / "vat.csv"
    path.write_text("code;label;rate\nT20;TVA;20\nBAD;Trop;150\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "vat-rates", "--tenant", "ACME", str(path)])
    assert result.exit_code == 1
    assert "150" in result.output or "100" in result.output
    assert _codes(app, VatRate, tenants["ACME"]) == []
    path.write_text("code;label;rate\nT20;TVA;20\nT10;TVA;10,0\n", encoding="utf-8")
    result = runner.invoke(args=["import", "vat-rates", "--tenant", "ACME", "--dry-run", str(path)])
    assert result.exit_code == 0 and _codes(app, VatRate, tenants["ACME"]) == []
    result = runner.invoke(args=["import", "vat-rates", "--tenant", "ACME", str(path)])
    assert result.exit_code == 0 and _codes(app, VatRate, tenants["ACME"]) == ["T10", "T20"]


def test_read_only_roles_cannot_import(browser, tenants):
    b = browser("backoffice@acme.test")
    assert b.get("/admin/units/import/").status_code == 403
    assert 'id="import-link"' not in b.get("/admin/units/").get_data(as_text=True)



@pytest.mark.parametrize("dry_run, rows", [(False, [["code", "label"], ["U1", None]]),
                                           (True, [["code", "label"], ["U2", "Pièce"]])])
def test_a_refused_or_dry_import_keeps_what_the_caller_flushed(app, tenants, dry_run, rows):
    """The importer undoes only its own rows (a savepoint): the caller's pending work
    stays, for the caller to commit."""
    from commands.context import admin_view
    from core import transaction
    from spreadsheets.importer import import_table
    with app.app_context():
        db.session.add(Unit(tenant_id=tenants["ACME"], code="KEPT", label="Flushed by the caller"))
        db.session.flush()
        report = import_table(admin_view("units").import_spec(), _xlsx(rows), "units.xlsx", tenants["ACME"],
                              dry_run=dry_run)
        assert not report.written
        transaction.commit()
    assert _codes(app, Unit, tenants["ACME"]) == ["KEPT"]


def test_rows_of_the_file_point_at_each_other_and_the_rules_see_them(app, tenants):
    """Relations to rows the same file creates, in any order: a subfamily of a new family
    is written with its parent; a subfamily of that subfamily is refused (the rule sees
    the new subfamily's parent before anything is written), and nothing is written."""
    from commands.context import admin_view
    from core import transaction
    from models import ArticleFamily
    from spreadsheets.importer import import_table
    header = ["code", "label", "parent"]
    with app.app_context():
        spec = admin_view("article-families").import_spec()
        refused = import_table(spec, _xlsx([header, ["SS1", "Sous-sous", "S1"], ["S1", "Sous", "F1"],
                                            ["F1", "Famille", None]]), "f.xlsx", tenants["ACME"])
        assert not refused.written and [row.number for row in refused.rows if "parent" in row.errors] == [2]
        written = import_table(spec, _xlsx([header, ["S1", "Sous", "F1"], ["F1", "Famille", None]]), "f.xlsx",
                               tenants["ACME"])
        assert written.written and written.count("create") == 2, written.messages()
        transaction.commit()
    with app.app_context():
        rows = {row.code: row for row in db.session.query(ArticleFamily).filter_by(tenant_id=tenants["ACME"])}
        assert rows["S1"].parent.code == "F1" and rows["F1"].parent is None
