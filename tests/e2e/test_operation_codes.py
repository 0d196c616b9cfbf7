"""A consultant configures operation codes in a real browser: login form, menu,
create forms with their select2 relation selects, list search and XLSX export.

Selectors use URLs, field names and ids, never the UI language (French by default)."""
import io

import openpyxl
import pytest
from flask_babel import force_locale
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from core.extensions import db
from models import OperationCode
from rules.parameters import operation_code_errors
from tests.conftest import PASSWORD
from views.parameters import OperationCodeView

LIST_URL = "/admin/operation-codes/"


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/login" not in page.url, page.inner_text("body")


def open_from_menu(page, href: str) -> None:
    """Open a screen through its menu: the dropdown holding its link, then the link."""
    link = page.locator(f'nav a.dropdown-item[href="{href}"]')
    menu = page.locator("nav li.dropdown", has=page.locator(f'a[href="{href}"]'))
    assert not link.is_visible()
    menu.locator("a.dropdown-toggle").click()
    with page.expect_navigation():
        link.click()
    assert page.url.endswith(href)


def choose_select2(page, field: str, text: str) -> None:
    """Pick an option of a Flask-Admin select2 (3.x) box the way a user does: open it, type
    in its search box, click the first result containing ``text`` (plain and AJAX selects)."""
    page.click(f"#s2id_{field} a.select2-choice")
    page.locator("#select2-drop:visible input.select2-input").fill(text)
    result = page.locator("#select2-drop:visible li.select2-result-selectable", has_text=text).first
    result.click()
    page.locator("#select2-drop").wait_for(state="hidden")


def selected_option_text(page, field: str) -> str:
    return page.eval_on_selector(f"select#{field}", "s => s.options[s.selectedIndex].text")


def fill_operation_code(page, code: str, label: str, document_type: str) -> None:
    page.fill("input#code", code)
    page.fill("input#label", label)
    type_text = page.eval_on_selector(
        "select#document_type", "(s, v) => [...s.options].find(o => o.value === v).text", document_type)
    choose_select2(page, "document_type", type_text)
    assert page.input_value("select#document_type") == document_type


def submit_form(page):
    """Save the create form; return the form data the browser posted."""
    with page.expect_request(lambda r: r.method == "POST" and "/new/" in r.url) as posted:
        with page.expect_navigation():
            page.click("form.admin-form [type=submit]:not([name])")
    return posted_form(posted.value)


def posted_form(request) -> dict[str, str]:
    """The fields of a form POST as the server reads them (urlencoded or multipart)."""
    body = request.post_data_buffer or b""
    mimetype, options = parse_options_header(request.headers["content-type"])
    _stream, form, _files = FormDataParser().parse(io.BytesIO(body), mimetype, len(body), options)
    return form.to_dict()


def codes_in_db(app) -> dict[str, tuple[str, str | None]]:
    """Operation codes in the database: code -> (document type, code of its credit-note code)."""
    with app.app_context():
        rows = db.session.query(OperationCode).all()
        result = {row.code: (row.document_type, row.credit_note_operation_code.code
                             if row.credit_note_operation_code else None) for row in rows}
        db.session.remove()
        return result


@pytest.mark.usefixtures("tenants")
def test_consultant_creates_credit_note_and_invoice_codes_then_searches_and_exports(app, page, screenshot,
                                                                                   tmp_path):
    page.goto("/login")
    screenshot("login")
    log_in(page, "consultant@acme.test")
    screenshot("home")

    open_from_menu(page, LIST_URL)
    screenshot("empty-list")

    # The credit-note code
    with page.expect_navigation():
        page.click(f'a[href^="{LIST_URL}new/"]')
    fill_operation_code(page, "AVO-E2E", "Avoir navigateur", "credit_note")
    screenshot("credit-note-form")
    posted = submit_form(page)
    assert posted["document_type"] == "credit_note"
    assert page.url.split("?")[0].endswith(LIST_URL)
    assert page.locator(".alert-success").count() == 1
    screenshot("credit-note-saved")

    # The invoice code, whose credit-note code is chosen in the select2 relation select
    with page.expect_navigation():
        page.click(f'a[href^="{LIST_URL}new/"]')
    fill_operation_code(page, "FAC-E2E", "Facture navigateur", "invoice")
    page.check("input#billable")
    choose_select2(page, "credit_note_operation_code", "AVO-E2E")
    assert "AVO-E2E" in selected_option_text(page, "credit_note_operation_code")
    assert "AVO-E2E" in page.inner_text("#s2id_credit_note_operation_code .select2-chosen")
    credit_note_id = page.input_value("select#credit_note_operation_code")
    screenshot("invoice-form")
    posted = submit_form(page)
    assert posted["credit_note_operation_code"] == credit_note_id
    assert posted["document_type"] == "invoice" and posted["billable"] == "y"
    assert page.url.split("?")[0].endswith(LIST_URL), page.inner_text("body")
    screenshot("invoice-saved")
    assert codes_in_db(app) == {"AVO-E2E": ("credit_note", None), "FAC-E2E": ("invoice", "AVO-E2E")}

    # Search the list
    page.fill("form[role=search] input[name=search]", "FAC-E2E")
    with page.expect_navigation():
        page.press("form[role=search] input[name=search]", "Enter")
    assert "search=FAC-E2E" in page.url
    rows = page.locator("table.model-list tbody tr")
    assert rows.count() == 1
    assert "FAC-E2E" in rows.first.locator("td.col-code").inner_text()
    assert "AVO-E2E" in rows.first.locator("td.col-credit_note_operation_code").inner_text()
    screenshot("search")

    # Export the whole list (search cleared)
    page.goto(LIST_URL)
    credit_note_header = page.inner_text("th.col-credit_note_operation_code").strip()
    export = page.locator(f'a[href^="{LIST_URL}export/xlsx/"]')
    assert export.count() == 1
    with page.expect_download() as download_info:
        export.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    screenshot("export")

    sheet = openpyxl.load_workbook(path, read_only=True).active
    header, *data = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert len(header) == len(OperationCodeView.column_export_list)
    code_col = OperationCodeView.column_export_list.index("code")
    credit_col = OperationCodeView.column_export_list.index("credit_note_operation_code")
    by_code = {row[code_col]: row for row in data}
    assert sorted(by_code) == ["AVO-E2E", "FAC-E2E"]
    assert header[credit_col] == credit_note_header  # the list's (French) column title
    assert by_code["FAC-E2E"][credit_col] == "AVO-E2E"
    assert by_code["AVO-E2E"][credit_col] in (None, "")
    assert by_code["FAC-E2E"][OperationCodeView.column_export_list.index("label")] == "Facture navigateur"


def test_invoice_code_without_credit_note_code_shows_the_error_next_to_the_field(app, tenants, page, screenshot):
    log_in(page, "consultant@acme.test")
    page.goto(LIST_URL + "new/")
    fill_operation_code(page, "FAC-SANS", "Facture sans avoir", "invoice")
    assert page.input_value("select#credit_note_operation_code") == "__None"
    screenshot("form")

    posted = submit_form(page)
    assert posted["credit_note_operation_code"] == "__None"
    screenshot("error")

    assert "/new/" in page.url  # the form again, not the list
    group = page.locator("div.form-group", has=page.locator("select#credit_note_operation_code"))
    error = group.locator(".invalid-feedback")
    assert error.is_visible()
    with app.test_request_context(), force_locale("fr"):  # the users' language
        expected = operation_code_errors({"document_type": "invoice", "credit_note_operation_code": None},
                                         tenants["ACME"], None)["credit_note_operation_code"]
    assert error.inner_text().strip() == expected
    assert page.locator("select#credit_note_operation_code.is-invalid").count() == 1
    # only this field is in error, and what was typed is kept
    assert page.locator(".invalid-feedback").count() == 1
    assert page.input_value("input#code") == "FAC-SANS"
    assert page.input_value("select#document_type") == "invoice"
    assert codes_in_db(app) == {}
