"""Impossible numbers and oversize texts are refused next to the field in every form and
in the import preview (and ``--dry-run``), with the column's real limits, on SQLite and
PostgreSQL; a value stored anyway never breaks a list, its details or its export."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from core.extensions import db
from models import NumberingSequence, ProductNature

HOSTILE_DECIMALS = ["NaN", "sNaN", "Infinity", "-Infinity", "1e400", "123456789,5", "1,23456", "12abc"]


def _natures(app):
    with app.app_context():
        return [(n.code, n.overhead_coefficient) for n in db.session.query(ProductNature).order_by(ProductNature.code)]


def _field_error(page: str, name: str) -> str:
    """The error text shown under the field ``name`` (Flask-Admin's bootstrap4 form)."""
    start = page.index(f'name="{name}"')
    block = page[start:start + 1500]
    match = re.search(r'class="invalid-feedback"[^>]*>(.*?)</', block, re.S) or re.search(
        r'class="help-block[^"]*"[^>]*>(.*?)</', block, re.S)
    return match.group(1).strip() if match else ""


@pytest.mark.parametrize("value", HOSTILE_DECIMALS)
def test_impossible_decimals_refused_next_to_the_field(app, browser, tenants, value):
    b = browser("consultant@acme.test")
    response = b.post("/admin/product-natures/new/", {"code": "4MOS", "label": "Main-d'œuvre",
                                                       "overhead_coefficient": value, "active": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:300]
    assert _field_error(page, "overhead_coefficient"), page[page.find("overhead_coefficient"):][:1500]
    assert _natures(app) == []


def test_decimal_inputs_are_text_inputs_showing_the_french_decimal_sign(app, browser, tenants):
    b = browser("consultant@acme.test")
    assert b.post("/admin/product-natures/new/", {"code": "4MOS", "label": "MO", "overhead_coefficient": "1 001,25",
                                                   "active": "y"}).status_code == 302
    assert _natures(app) == [("4MOS", Decimal("1001.25"))]
    with app.app_context():
        row_id = db.session.query(ProductNature.id).scalar()
    page = b.get(f"/admin/product-natures/edit/?id={row_id}").get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="overhead_coefficient"[^>]*>', page).group(0)
    assert 'type="text"' in tag and 'inputmode="decimal"' in tag and 'value="1001,25"' in tag, tag


def test_oversize_text_and_integer_refused_next_to_the_field(app, browser, tenants):
    b = browser("consultant@acme.test")
    page = b.post("/admin/product-natures/new/", {"code": "X" * 41, "label": "MO", "active": "y"}).get_data(as_text=True)
    assert _field_error(page, "code") and _natures(app) == []
    page = b.post("/admin/numbering-sequences/new/", {
        "code": "FA", "label": "Factures", "document_type": "quote", "prefix": "FA", "padding": "6",
        "next_number": "99999999999999999999"}).get_data(as_text=True)
    assert _field_error(page, "next_number")
    with app.app_context():
        assert db.session.query(NumberingSequence).count() == 0


def _upload(b, resource, data: bytes, filename="natures.csv"):
    import io
    return b.post(f"/admin/{resource}/import/", {"file": (io.BytesIO(data), filename)},
                  content_type="multipart/form-data")


IMPOSSIBLE_ROWS = ("code;label;overhead_coefficient\n"
                   "OK;Valide;1,5\n"
                   + "".join(f"N{index};Nombre;{value}\n" for index, value in enumerate(HOSTILE_DECIMALS))
                   + f"{'C' * 41};Code trop long;1\n"
                   f"LONG;{'L' * 201};1\n")


def test_import_preview_finds_everything_the_database_would_refuse(app, browser, tenants):
    page = _upload(browser("consultant@acme.test"), "product-natures", IMPOSSIBLE_ROWS.encode()).get_data(as_text=True)
    assert 'id="import-confirm"' not in page
    assert page.count("import-error") == len(HOSTILE_DECIMALS) + 2
    assert _natures(app) == []


def test_import_dry_run_reports_them_too(app, tenants, tmp_path):
    path = tmp_path / "natures.csv"
    path.write_text(IMPOSSIBLE_ROWS, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "product-natures", "--tenant", "ACME", "--dry-run", str(path)])
    assert result.exit_code == 1
    assert len([line for line in result.output.splitlines() if line.startswith(("Ligne", "Row"))]) == len(HOSTILE_DECIMALS) + 2
    assert _natures(app) == []


def test_a_stored_nan_never_breaks_the_list_details_or_export(app, browser, tenants):
    b = browser("consultant@acme.test")
    assert b.post("/admin/product-natures/new/", {"code": "4MOS", "label": "MO", "overhead_coefficient": "1",
                                                   "active": "y"}).status_code == 302
    with app.app_context():
        # PostgreSQL's numeric holds NaN; SQLite stores NaN as NULL but keeps an infinite REAL
        stored = "'NaN'" if db.engine.dialect.name == "postgresql" else "9e999"
        db.session.execute(text(f"UPDATE product_natures SET overhead_coefficient = {stored}"))
        db.session.commit()
        row_id = db.session.query(ProductNature.id).scalar()
    for url in ("/admin/product-natures/", f"/admin/product-natures/details/?id={row_id}",
                f"/admin/product-natures/edit/?id={row_id}", "/admin/product-natures/export/xlsx/"):
        assert b.get(url).status_code == 200, url
