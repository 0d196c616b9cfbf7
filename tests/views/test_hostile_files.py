"""Hostile files through the screens and the commands: zip bombs refused before they are
parsed (declared size, ratio, bytes actually inflated), a bounded number of row errors
per page, more rows than PostgreSQL takes parameters in one statement, and a payments
batch whose total overflows its column."""
import io
import struct
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from core.extensions import db
from models import Payment, Unit
from spreadsheets.payments_file import check_payment_file
from spreadsheets.reader import UnreadableFile, open_zip
from tests.rules.payment_factory import HEADERS, payment_invoices, xlsx_file

SMALL_LIMITS = {"IMPORT_MAX_UNCOMPRESSED_BYTES": 4 * 1024 * 1024, "IMPORT_MAX_COMPRESSION_RATIO": 100}


@pytest.fixture
def small_limits(app, monkeypatch):
    for key, value in SMALL_LIMITS.items():
        monkeypatch.setitem(app.config, key, value)


def _workbook(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _bomb(workbook: bytes, inflated: int) -> bytes:
    """A real workbook with one more member of ``inflated`` zero bytes (about 1,000:1)."""
    buffer = io.BytesIO(workbook)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * inflated)
    return buffer.getvalue()


def _lying(workbook: bytes, actual: int, declared: int) -> bytes:
    """A member that declares ``declared`` bytes but inflates to ``actual``: the sizes of its
    local header and of the central directory are rewritten."""
    data = bytearray(_bomb(workbook, actual))
    name = b"xl/media/padding.bin"
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        position = 0
        while (position := data.find(signature, position)) != -1:
            name_offset = 30 if signature == b"PK\x03\x04" else 46
            if data[position + name_offset:position + name_offset + len(name)] == name:
                struct.pack_into("<I", data, position + size_offset, declared)
            position += 4
    return bytes(data)


def test_the_guard_refuses_by_declared_size_ratio_and_bytes_inflated(app_ctx, small_limits):
    good = _workbook([["code", "label"], ["U", "Unité"]])
    open_zip(good)  # an ordinary workbook passes
    for bomb in (_bomb(good, 8 * 1024 * 1024),              # declared size above the limit
                 _bomb(good, 2 * 1024 * 1024),              # under the size, but about 1,000:1
                 _lying(good, 8 * 1024 * 1024, 1000)):      # declares 1,000 bytes, inflates to 8 MB
        with pytest.raises(UnreadableFile):
            open_zip(bomb)


def test_zip_bomb_through_the_table_import_screen_and_command(app, browser, tenants, small_limits, tmp_path):
    bomb = _bomb(_workbook([["code", "label"]] + [[f"U{i}", "Unité"] for i in range(10)]), 16 * 1024 * 1024)
    b = browser("consultant@acme.test")
    response = b.post("/admin/units/import/", {"file": (io.BytesIO(bomb), "units.xlsx")},
                      content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="import-file-errors"' in page and "bombe" in page
    assert len(page) < 100_000
    path = tmp_path / "units.xlsx"
    path.write_bytes(bomb)
    result = app.test_cli_runner().invoke(args=["import", "units", "--tenant", "ACME", str(path)])
    assert result.exit_code == 1 and "bomb" in result.output
    with app.app_context():
        assert db.session.query(Unit).count() == 0


def test_zip_bomb_through_the_payments_screen_and_command(app, browser, tenants, small_limits, tmp_path):
    bomb = _bomb(xlsx_file([["FA000001", date(2026, 11, 5), 10.0, "Virement", "", "BQ-1"]]), 16 * 1024 * 1024)
    b = browser("backoffice@acme.test")
    response = b.post("/admin/payments/import/", {"file": (io.BytesIO(bomb), "reglements.xlsx")},
                      content_type="multipart/form-data")
    assert response.status_code == 200 and "bombe" in response.get_data(as_text=True)
    path = tmp_path / "reglements.xlsx"
    path.write_bytes(bomb)
    result = app.test_cli_runner().invoke(args=["payments", "import", "--tenant", "ACME", str(path)])
    assert result.exit_code != 0 and "bomb" in result.output
    with app.app_context():
        assert db.session.query(Payment).count() == 0


def test_a_page_shows_a_bounded_number_of_row_errors(app, browser, tenants, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_SHOWN_ROWS", 5)
    csv = "code;label\n" + "".join(f"U{i};\n" for i in range(12))  # every label missing
    b = browser("consultant@acme.test")
    page = b.post("/admin/units/import/", {"file": (io.BytesIO(csv.encode()), "units.csv")},
                  content_type="multipart/form-data").get_data(as_text=True)
    assert page.count("import-error") == 5
    assert "7 lignes en erreur de plus ne sont pas affichées" in page


def test_a_payments_batch_whose_total_overflows_is_refused_at_the_control_screen(app_ctx, tenants):
    payment_invoices(tenants["ACME"])
    data = xlsx_file([["FA000001", date(2026, 11, 5), 600_000_000_000.0, "Virement", "", "BQ-1"],
                      ["FA000001", date(2026, 11, 6), 600_000_000_000.0, "Virement", "", "BQ-2"]])
    with pytest.raises(UnreadableFile, match="999"):
        check_payment_file(data, "reglements.xlsx", tenants["ACME"], today=date(2026, 11, 23))


def test_an_80000_row_import_preview_on_any_database(app, browser, tenants):
    """More codes than PostgreSQL's 65,535 bound parameters of one statement."""
    rows = 80_000
    csv = "code;label\n" + "".join(f"U{i:06d};Unité {i}\n" for i in range(rows))
    with app.app_context():
        db.session.add(Unit(tenant_id=tenants["ACME"], code="U000007", label="Existe"))
        db.session.commit()
    b = browser("consultant@acme.test")
    response = b.post("/admin/units/import/", {"file": (io.BytesIO(csv.encode()), "units.csv")},
                      content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="import-confirm"' in page, page[:2000]
    assert f"{rows} lignes : {rows - 1} à créer, 1 à mettre à jour, 0 erreur." in page


def test_the_payments_control_screen_shows_a_bounded_number_of_rows(app, browser, tenants, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENTS_MAX_SHOWN_ROWS", 2)
    with app.app_context():
        payment_invoices(tenants["ACME"])
        db.session.commit()
    data = xlsx_file([["FA999999", date(2026, 11, 5), 10.0, "Virement", "", f"BQ-{i}"] for i in range(5)])
    page = browser("backoffice@acme.test").post("/admin/payments/import/", {
        "file": (io.BytesIO(data), "reglements.xlsx")}, content_type="multipart/form-data").get_data(as_text=True)
    assert page.count('<tr class="table-danger"') == 2
    assert "3 lignes de plus ne sont pas affichées." in page


def test_the_zip_guard_tells_the_members_holding_a_formula_marker(monkeypatch):
    """The formula scan of the payments file looks only at the sheets in which the guard's
    inflation saw a marker: one inside a chunk, one across two chunks, none."""
    from spreadsheets import reader
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("across.xml", b"x" * 9 + b"<f>1</f>")  # "<" ends the first 10-byte chunk
        archive.writestr("inside.xml", b"<c><x:f>A1</x:f></c>")
        archive.writestr("plain.xml", b"<c><v>1</v></c><c><v>2</v></c>")
    monkeypatch.setattr(reader, "INFLATE_CHUNK", 10)
    _archive, marked = reader.inflate_zip(buffer.getvalue(), (b"<f", b":f"))
    assert marked == {"across.xml", "inside.xml"}
    assert reader.inflate_zip(buffer.getvalue())[1] == set()
