"""The consultant tools in a real browser (#15): an administrator makes a new dossier from
the demo as a template and gives the demo's consultant a role in it; the consultant
downloads the parameters workbook, changes a coefficient and the company identity,
uploads it, reads the preview, imports it, and finds the health check clean.

Selectors use URLs, ids and names, never the UI language."""
from decimal import Decimal

import openpyxl
import pytest
from flask_babel import force_locale

from commands.seed import DEMO_PASSWORD, seed_demo
from core.extensions import db
from core.glossary import label_of
from models import DossierSettings, Tenant, User


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        db.session.remove()


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/login" not in page.url, page.inner_text("body")


def _settings_of(app, code: str) -> DossierSettings:
    with app.app_context():
        settings = db.session.query(DossierSettings).join(Tenant).filter(Tenant.code == code).one()
        db.session.expunge(settings)
        return settings


def test_a_dossier_from_the_template_adjusted_through_one_workbook(app, demo, page, screenshot, tmp_path):
    log_in(page, "admin@demo.test")
    page.goto("/admin/tenants/new/")
    page.fill("input[name=code]", "NOUV")
    page.fill("input[name=name]", "Nouveau dossier")
    with app.app_context():
        demo_id = db.session.query(Tenant.id).filter_by(code="DEMO").scalar()
    page.select_option("select[name=copy_from]", value=str(demo_id))
    screenshot("copy-from")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit], form.admin-form button[type=submit]")
    with app.app_context():
        new_tenant = db.session.query(Tenant).filter_by(code="NOUV").one()
        consultant_id = db.session.query(User.id).filter_by(email="consultant@demo.test").scalar()
        new_id = new_tenant.id
    page.goto(f"/admin/users/edit/?id={consultant_id}")
    page.click("#memberships-button")
    rows = page.locator("select[name$='-tenant']")
    rows.last.select_option(value=str(new_id), force=True)  # a select2 field: the select itself is hidden
    page.locator("select[name$='-role']").last.select_option("consultant", force=True)
    screenshot("consultant-role")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit], form.admin-form button[type=submit]")
    assert "alert-danger" not in page.content()
    page.goto("/logout")

    log_in(page, "consultant@demo.test")
    with page.expect_navigation():  # the switcher posts itself on change
        page.select_option("#tenant-select", value=str(new_id))
    assert page.locator("#tenant-select").input_value() == str(new_id)
    page.goto("/admin/parameters-workbook/")
    with page.expect_download() as download:
        page.click("#workbook-download")
    path = tmp_path / "parametres.xlsx"
    download.value.save_as(path)
    workbook = openpyxl.load_workbook(path)
    with app.test_request_context(), force_locale("fr"):
        wanted = {str(label_of("labour_sales_coefficient")): "1,42", str(label_of("siren")): "732 829 320",
                  str(label_of("vat_number")): "FR44732829320"}
    settings_sheet = workbook["Paramètres dossier"]
    for row in settings_sheet.iter_rows(min_row=2):
        if row[0].value in wanted:
            row[1].value = wanted.pop(row[0].value)
    assert not wanted, f"settings not found in the workbook: {wanted}"
    workbook.save(path)

    page.set_input_files("#workbook-upload input[type=file]", str(path))
    with page.expect_navigation():
        page.click("#workbook-upload button")
    assert page.locator("#workbook-summary").is_visible()
    screenshot("preview")
    assert _settings_of(app, "NOUV").labour_sales_coefficient != Decimal("1.42")  # the preview writes nothing
    with page.expect_navigation():
        page.click("#workbook-confirm")
    assert page.locator(".alert-success").count()
    page.goto("/admin/parameter-health/")
    screenshot("health")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide at 1280 px: the navigation bar overflows"
    assert page.locator("#health-blocking").count() == 0, page.inner_text("#health-summary")
    settings = _settings_of(app, "NOUV")
    assert settings.labour_sales_coefficient == Decimal("1.42") and settings.siren == "732829320"
    assert _settings_of(app, "DEMO").labour_sales_coefficient != Decimal("1.42")  # the template is untouched
