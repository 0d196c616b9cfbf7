"""A French user types a decimal comma and a French date in a real browser: "1,25" in a
dossier coefficient is saved as 1.25 and read back "1,25"; "15/03/2025" in a job site's
start date is saved and read back; the date picker is French, weeks starting Monday."""
from datetime import date
from decimal import Decimal

import pytest

from commands.seed import DEMO_PASSWORD, seed_demo
from core.extensions import db
from models import DossierSettings, JobSite, Tenant


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        tenant_id = db.session.query(Tenant.id).filter_by(code="DEMO").scalar()
        job_site_id = db.session.query(JobSite.id).filter_by(tenant_id=tenant_id).order_by(JobSite.id).limit(1).scalar()
        return tenant_id, job_site_id


def test_decimal_comma_and_french_date_typed_in_chromium(app, page, demo):
    tenant_id, job_site_id = demo
    page.goto("/login")
    page.fill("input[name=email]", "consultant@demo.test")
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")

    page.goto("/admin/dossier-settings/?tab=coefficients")
    coefficient = page.locator("input[name=labour_sales_coefficient]")
    coefficient.scroll_into_view_if_needed()
    coefficient.fill("")
    coefficient.type("1,25")
    with page.expect_navigation():
        coefficient.press("Enter")
    assert page.locator(".invalid-feedback:visible, .alert-danger").count() == 0, page.inner_text("body")[:2000]
    with app.app_context():
        assert db.session.query(DossierSettings.labour_sales_coefficient).filter_by(
            tenant_id=tenant_id).scalar() == Decimal("1.25")
    page.goto("/admin/dossier-settings/?tab=coefficients")
    assert page.locator("input[name=labour_sales_coefficient]").input_value() == "1,25"

    page.goto(f"/admin/job-sites/edit/?id={job_site_id}")
    start = page.locator("input[name=start_date]")
    start.click()
    picker = page.locator(".daterangepicker:visible")
    assert picker.locator("th").filter(has_text="lu").count() >= 1  # French day names
    first_day = picker.locator("thead tr").nth(1).locator("th").first.inner_text()
    assert first_day.strip().lower().startswith("lu"), first_day  # weeks start on Monday
    start.fill("")
    start.type("15/03/2025")
    with page.expect_navigation():
        start.press("Enter")
    with app.app_context():
        assert db.session.get(JobSite, job_site_id).start_date == date(2025, 3, 15)
    page.goto(f"/admin/job-sites/edit/?id={job_site_id}")
    assert page.locator("input[name=start_date]").input_value() == "15/03/2025"
