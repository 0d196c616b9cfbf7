"""Every create and edit form of every model screen, as each role that may write: no
``type="number"`` input for a decimal column (chromium drops a typed comma), decimals
shown with the French decimal sign, dates shown JJ/MM/AAAA; and date filters typed
JJ/MM/AAAA."""
import re
from datetime import date

import pytest
from flask import url_for
from sqlalchemy import Date, DateTime, Numeric, inspect

from commands.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo
from core.extensions import db
from models import Tenant
from views.base import SecuredModelView

INPUT = re.compile(r"<input\b[^>]*>")
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        return db.session.query(Tenant.id).filter_by(code="DEMO").scalar()


def _model_views(app):
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if isinstance(view, SecuredModelView):
                yield view


def _columns(model, kind):
    return {column.key for column in inspect(model).columns if isinstance(column.type, kind)}


def _inputs(page: str) -> dict[str, dict]:
    return {attrs.get("name"): attrs for attrs in (dict(ATTRIBUTE.findall(tag)) for tag in INPUT.findall(page))}


def _form_urls(app, view, tenant_id):
    urls = []
    if view.allow_create:
        urls.append(url_for(f"{view.endpoint}.create_view"))
    if view.allow_edit:
        query = db.session.query(view.model.id)
        if hasattr(view.model, "tenant_id"):
            query = query.filter(view.model.tenant_id == tenant_id)
        row_id = query.order_by(view.model.id).limit(1).scalar()
        if row_id is not None:
            urls.append(url_for(f"{view.endpoint}.edit_view", id=row_id))
    return urls


def _all_columns(kind) -> set[str]:
    """Names of the columns of this type in every model (inline forms prefix them: ``lines-0-quantity``)."""
    return {column.key for mapper in db.Model.registry.mappers for column in mapper.columns
            if isinstance(column.type, kind)}


def test_no_number_input_for_decimals_and_french_values_in_every_form(app, browser, demo):
    checked, problems = set(), []
    decimals, dates = _all_columns(Numeric), _all_columns((Date, DateTime))
    for email, _role, _name in DEMO_USERS:
        b = browser()
        assert b.login(email, DEMO_PASSWORD).status_code == 302
        with app.test_request_context():
            urls = [url for view in _model_views(app) for url in _form_urls(app, view, demo)]
        for url in urls + ["/admin/dossier-settings/", "/admin/price-simulator/"]:
            response = b.get(url)
            if response.status_code != 200:
                continue  # a role that may not write here (403) or a screen redirecting
            for name, attrs in _inputs(response.get_data(as_text=True)).items():
                column = (name or "").split("-")[-1]
                if column in decimals:
                    checked.add((url.split("?")[0], column))
                    if attrs.get("type") == "number" or attrs.get("inputmode") != "decimal":
                        problems.append(f"{url} {name}: {attrs}")
                    if "." in attrs.get("value", ""):
                        problems.append(f"{url} {name} shows a decimal point: {attrs.get('value')}")
                if column in dates and attrs.get("value") and not re.fullmatch(
                        r"\d{2}/\d{2}/\d{4}( \d{2}:\d{2})?", attrs["value"]):
                    problems.append(f"{url} {name} shows {attrs['value']}")
    assert not problems, "\n".join(problems)
    assert len(checked) >= 15, "; ".join(map(str, sorted(checked)))  # the crawl saw the decimal fields


def test_date_filters_are_typed_jj_mm_aaaa(app, browser, demo):
    from models import JobSite
    with app.app_context():
        sites = db.session.query(JobSite).filter_by(tenant_id=demo).order_by(JobSite.id).limit(2).all()
        sites[0].start_date, sites[1].start_date = date(2025, 3, 15), date(2025, 3, 16)
        wanted, other = sites[0].code, sites[1].code
        db.session.commit()
        view = next(v for v in _model_views(app) if v.endpoint == "job-sites")
        index = next(i for i, flt in enumerate(view._filters)
                     if type(flt).__name__ == "DateEqualFilter" and flt.column.key == "start_date")
    b = browser()
    assert b.login("consultant@demo.test", DEMO_PASSWORD).status_code == 302
    for typed in ("15/03/2025", "2025-03-15"):
        page = b.get(f"/admin/job-sites/?flt1_{index}={typed}").get_data(as_text=True)
        assert wanted in page and other not in page, typed
    page = b.get(f"/admin/job-sites/?flt1_{index}=15/03/2025garbage")
    assert page.status_code == 200 and other in page.get_data(as_text=True)  # an invalid filter is ignored


def test_date_between_filters_read_du_au_in_french(app, browser, demo):
    """The French picker writes "01/03/2025 au 31/03/2025"; "du … au …", " to " and ISO
    dates are read as well; a reversed or broken range is ignored, never a 500."""
    from models import JobSite
    with app.app_context():
        sites = db.session.query(JobSite).filter_by(tenant_id=demo).order_by(JobSite.id).limit(3).all()
        for site, day in zip(sites, (date(2025, 3, 1), date(2025, 3, 31), date(2025, 4, 1))):
            site.start_date = day
        inside, outside = {sites[0].code, sites[1].code}, sites[2].code
        db.session.commit()
        view = next(v for v in _model_views(app) if v.endpoint == "job-sites")
        index = next(i for i, flt in enumerate(view._filters)
                     if type(flt).__name__ == "DateBetweenFilter" and flt.column.key == "start_date")
    b = browser()
    assert b.login("consultant@demo.test", DEMO_PASSWORD).status_code == 302
    for typed in ("01/03/2025 au 31/03/2025", "du 01/03/2025 au 31/03/2025", "2025-03-01 to 2025-03-31",
                  "01/03/2025 - 31/03/2025"):
        page = b.get(f"/admin/job-sites/?flt1_{index}={typed}").get_data(as_text=True)
        assert all(code in page for code in inside) and outside not in page, typed
    for broken in ("31/03/2025 au 01/03/2025", "01/03/2025 au", "au", "01/13/2025 au 31/03/2025\x00"):
        response = b.get(f"/admin/job-sites/?flt1_{index}={broken}")
        assert response.status_code == 200 and outside in response.get_data(as_text=True), broken
    assert '"separator": " au "' in page
