"""The parameters workbook: export → import into an empty tenant → export gives the same
cells; importing again changes nothing; all or nothing; hostile workbooks; roles."""
import io
import zipfile

import openpyxl
import pytest

from commands.seed import seed_demo
from core.extensions import db
from models import AuditLogEntry, DossierSettings, OperationCode, Tenant, Unit
from rules.tenancy import create_tenant


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        create_tenant("VIDE", "Dossier vide")
        db.session.commit()
        db.session.remove()


def _cells(path_or_bytes) -> dict[str, list[tuple]]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    workbook = openpyxl.load_workbook(source, read_only=True)
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}


STATE_COLUMNS = {"Dernier chrono utilisé"}


def _without(sheets: dict, headers: set) -> dict:
    kept = {}
    for title, rows in sheets.items():
        indexes = [i for i, header in enumerate(rows[0]) if header not in headers] if rows else []
        kept[title] = [tuple(row[i] for i in indexes) for row in rows]
    return kept


def _export(app, tenant, path):
    result = app.test_cli_runner().invoke(args=["params", "export", "--tenant", tenant, "-o", str(path)])
    assert result.exit_code == 0, result.output
    return _cells(str(path))


def test_the_workbook_of_an_empty_tenant_imports_back(app, demo, tmp_path):
    """Sheets of empty tables have only their headers: nothing to import, not an error."""
    sheets = _export(app, "VIDE", tmp_path / "empty.xlsx")
    assert all(len(rows) == 1 for title, rows in sheets.items() if title != "Paramètres dossier")
    result = app.test_cli_runner().invoke(args=["params", "import", "--tenant", "VIDE", str(tmp_path / "empty.xlsx")])
    assert result.exit_code == 0, result.output


def test_round_trip_into_an_empty_tenant(app, demo, tmp_path):
    source = _export(app, "DEMO", tmp_path / "demo.xlsx")
    assert "Codes opération" in source and "Paramètres dossier" in source and len(source) == 16
    assert source["Paramètres dossier"][0] == ("Paramètre", "Valeur")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["params", "import", "--tenant", "VIDE", str(tmp_path / "demo.xlsx")])
    assert result.exit_code == 0, result.output
    copy = _export(app, "VIDE", tmp_path / "vide.xlsx")
    # The last number used is the state of a sequence, not a parameter: read only, not imported.
    assert _without(copy, STATE_COLUMNS) == _without(source, STATE_COLUMNS)
    assert {row[-1] for row in copy["Numérotations"][1:]} == {0}
    with app.app_context():
        before = db.session.query(AuditLogEntry).count()
    again = runner.invoke(args=["params", "import", "--tenant", "VIDE", str(tmp_path / "vide.xlsx")])
    assert again.exit_code == 0 and "0 created" in again.output
    with app.app_context():
        assert db.session.query(AuditLogEntry).count() == before  # nothing changed, nothing audited


def _changed(path, sheet_title, row_index, column_index, value) -> bytes:
    workbook = openpyxl.load_workbook(path)
    workbook[sheet_title].cell(row=row_index, column=column_index, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_all_or_nothing_when_the_last_sheet_has_one_bad_row(app, demo, tmp_path):
    _export(app, "DEMO", tmp_path / "demo.xlsx")
    workbook = openpyxl.load_workbook(tmp_path / "demo.xlsx")
    workbook["Unités"].append(["NOUV", "Nouvelle unité"])
    settings = workbook["Paramètres dossier"]
    for row in settings.iter_rows(min_row=2):
        if row[0].value == "Coefficient de difficulté":
            row[1].value = "pas un nombre"
    workbook.save(tmp_path / "bad.xlsx")
    result = app.test_cli_runner().invoke(args=["params", "import", "--tenant", "DEMO", str(tmp_path / "bad.xlsx")])
    assert result.exit_code == 1 and "Paramètres dossier" in result.output
    with app.app_context():
        assert not db.session.query(Unit).filter_by(code="NOUV").count()  # the first sheets are undone too


@pytest.mark.parametrize("make, message", [
    (lambda path: b"not a workbook", "Excel"),
    (lambda path: _changed(path, "Unités", 2, 2, "=1+1"), "formule"),
    (lambda path: _renamed(path), "Feuille inconnue"),
])
def test_hostile_workbooks_get_one_message(app, demo, tmp_path, make, message):
    _export(app, "DEMO", tmp_path / "demo.xlsx")
    data = make(tmp_path / "demo.xlsx")
    (tmp_path / "hostile.xlsx").write_bytes(data)
    result = app.test_cli_runner().invoke(args=["params", "import", "--tenant", "DEMO", str(tmp_path / "hostile.xlsx")])
    assert result.exit_code == 1 and message.lower() in result.output.lower(), result.output


def _renamed(path) -> bytes:
    workbook = openpyxl.load_workbook(path)
    workbook["Unités"].title = "Feuille inconnue de moi"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused(app, demo, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (300 * 1024 * 1024))
    (tmp_path / "bomb.xlsx").write_bytes(buffer.getvalue())
    result = app.test_cli_runner().invoke(args=["params", "import", "--tenant", "DEMO", str(tmp_path / "bomb.xlsx")])
    assert result.exit_code == 1 and result.output.strip()


def test_screen_download_preview_confirm_and_roles(app, demo, browser, tmp_path):
    from commands.seed import DEMO_PASSWORD
    consultant = browser()
    assert consultant.login("consultant@demo.test", DEMO_PASSWORD).status_code == 302
    download = consultant.get("/admin/parameters-workbook/download/")
    assert download.status_code == 200 and "classeur_des_parametres_" in download.headers["Content-Disposition"]
    (tmp_path / "down.xlsx").write_bytes(download.data)
    with app.app_context():
        code = db.session.query(OperationCode).join(Tenant).filter(Tenant.code == "DEMO").order_by(OperationCode.code).first()
        code_id, old_label = code.id, code.label
    workbook = openpyxl.load_workbook(tmp_path / "down.xlsx")
    sheet = workbook["Codes opération"]
    sheet.cell(row=2, column=2, value="<script>alert(1)</script> libellé changé")
    buffer = io.BytesIO()
    workbook.save(buffer)
    preview = consultant.post("/admin/parameters-workbook/upload/", {"file": (io.BytesIO(buffer.getvalue()), "p.xlsx")},
                              content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    assert 'id="workbook-confirm"' in page and "Codes opération" in page and "<script>alert" not in page
    with app.app_context():
        assert db.session.get(OperationCode, code_id).label == old_label  # the preview writes nothing
    token = page.split('name="upload" value="')[1].split('"')[0]
    assert consultant.post("/admin/parameters-workbook/confirm/", {"upload": token}).status_code == 302
    assert consultant.post("/admin/parameters-workbook/confirm/", {"upload": token}).status_code == 404
    with app.app_context():
        assert db.session.get(OperationCode, code_id).label.endswith("libellé changé")
        assert db.session.query(DossierSettings).count() >= 2
    backoffice = browser()
    assert backoffice.login("backoffice@demo.test", DEMO_PASSWORD).status_code == 302
    assert backoffice.get("/admin/parameters-workbook/").status_code == 403
    assert backoffice.get("/admin/parameters-workbook/download/").status_code == 403
