"""The invoice entry screens: the line grid, the article fill-in endpoint, dependent
look-ups and their server-side rule, narrowed code selects, and no edit or delete action
on a validated invoice anywhere."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from core.extensions import db
from models import DossierSettings, JobSite, OperationCode, ProductNature, Site, Unit, VatRate
from models.invoices import Invoice
from models.master_data import Article, Client
from tests.rules.invoice_factory import draft_invoice, invoice_setup
from html_page import alerts, field_errors, options, parse

BACKOFFICE = "backoffice@acme.test"


@pytest.fixture
def acme(app, tenants):
    """invoice_setup's client C001 (with site S1 and job site CH1), a second client C002
    (site S2, job site CH2), BETA's site SB, and two articles: one with a sale price, one
    priced by the rule (purchase price 7.80, supply coefficient 1.25, overhead 1.10)."""
    with app.app_context():
        setup = invoice_setup(tenants["ACME"])
        tenant = tenants["ACME"]
        other = Client(tenant_id=tenant, code="C002", name="Martin Rénovation")
        beta_client = Client(tenant_id=tenants["BETA"], code="C001", name="Beta client")
        unit = Unit(tenant_id=tenant, code="U", label="Unité")
        nature = ProductNature(tenant_id=tenant, code="6FO", label="Fournitures")
        db.session.add_all([other, beta_client, unit, nature])
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenant).one()
        settings.supply_sales_coefficient, settings.overhead_coefficient = D("1.25"), D("1.10")
        db.session.flush()
        rows = {
            "S1": Site(tenant_id=tenant, code="S1", name="Siège", client_id=setup["client"]),
            "S2": Site(tenant_id=tenant, code="S2", name="Dépôt Martin", client_id=other.id),
            "SB": Site(tenant_id=tenants["BETA"], code="SB", name="Beta", client_id=beta_client.id),
            "CH1": JobSite(tenant_id=tenant, code="CH1", name="Rénovation", client_id=setup["client"]),
            "CH2": JobSite(tenant_id=tenant, code="CH2", name="Chantier Martin", client_id=other.id),
            "PRISE": Article(tenant_id=tenant, code="PRISE", label="Prise 16 A", sale_price=D("12.5"),
                             unit_id=unit.id, vat_rate_id=setup["vat20"], nature_id=nature.id),
            "DISJ": Article(tenant_id=tenant, code="DISJ", label="Disjoncteur 16 A", net_purchase_price=D("7.80"),
                            unit_id=unit.id, vat_rate_id=setup["vat55"], nature_id=nature.id),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        return {**setup, "other_client": other.id, "unit": unit.id,
                **{code: row.id for code, row in rows.items()}}


def _invoice_form(acme, **values):
    return {"invoice_date": date.today().isoformat(), "client": str(acme["client"]), **values}


def _line(index, label, quantity, price, vat, position=None, **extra):
    prefix = f"lines-{index}-"
    data = {"label": label, "kind": "supply", "quantity": quantity, "unit_price": price, "vat_rate": str(vat),
            "position": str(position if position is not None else index + 1), **extra}
    return {prefix + name: value for name, value in data.items()}


def test_the_create_form_is_a_french_grid_without_position_field(browser, tenants, acme):
    page = browser(BACKOFFICE).get("/admin/invoices/new/").get_data(as_text=True)
    grid = parse(page).find("div", "line-grid")
    assert grid is not None and grid.find("template", "line-template") is not None
    headers = [th.text.strip() for th in grid.find("thead").find_all("th")]
    assert headers[1:9] == ["Article", "Libellé", "Type", "Quantité", "Unité", "Prix unitaire HT", "Taux de TVA",
                            "Montant HT"]
    for english in ("Position", "Nouveau", "Ajouter Lignes", "Supprimer?", "Label", "Kind", "Quantity"):
        assert english not in grid.text
    template = grid.find("template", "line-template")
    position = template.find("input", name="position")
    assert position.attrs["type"] == "hidden"
    for name in ("quantity", "unit_price"):
        control = template.find("input", name=name)
        assert (control.attrs["type"], control.attrs["inputmode"]) == ("text", "decimal")
    assert json.loads(grid.attrs["data-vat-rates"]) == {str(acme["vat20"]): "20.00", str(acme["vat55"]): "5.50"}
    rates = [option.text for option in template.find("select", name="vat_rate").find_all("option")]
    assert [text for text in rates if text != "—"] == ["T20 — 20 %", "T55 — 5,5 %"]


def test_choosing_an_article_gives_its_sale_price_or_the_pricing_rule(browser, tenants, acme):
    b = browser(BACKOFFICE)
    sold = b.get(f"/admin/invoices/article-defaults/?id={acme['PRISE']}").get_json()
    assert sold["label"] == "Prise 16 A" and sold["kind"] == "supply"
    assert (sold["unit"][0], sold["vat_rate"][0]) == (acme["unit"], acme["vat20"])
    assert (sold["unit_price"], sold["price_source"]) == ("12.5", "sale_price")
    priced = b.get(f"/admin/invoices/article-defaults/?id={acme['DISJ']}").get_json()
    assert (priced["unit_price"], priced["price_source"]) == ("10.725", "pricing_rule")  # 7.80 × 1.25 × 1.10
    assert priced["vat_rate"][0] == acme["vat55"]


def test_the_article_endpoint_is_behind_login_role_and_tenant(browser, tenants, acme):
    url = f"/admin/invoices/article-defaults/?id={acme['PRISE']}"
    assert browser().get(url).status_code == 302  # to the login page
    assert browser("viewer@acme.test").get(url).status_code == 403
    assert browser("backoffice@beta.test").get(url).status_code == 404
    assert browser(BACKOFFICE).get("/admin/invoices/article-defaults/?id=abc").status_code == 404


def _lookup(b, name, **params):
    response = b.get("/admin/invoices/ajax/lookup/", query_string={"name": name, "query": "", **params})
    return sorted(text.split(" — ")[0] for _id, text in response.get_json())


def test_site_and_job_site_look_ups_offer_the_chosen_clients_rows_only(browser, tenants, acme):
    b = browser(BACKOFFICE)
    assert _lookup(b, "site") == ["S1", "S2"]  # no client chosen yet: the tenant's sites (never BETA's)
    assert _lookup(b, "site", client=acme["client"]) == ["S1"]
    assert _lookup(b, "job_site", client=acme["other_client"]) == ["CH2"]
    beta_client = acme["SB"]  # any id of another tenant finds nothing of it
    assert _lookup(b, "site", client=beta_client) == []
    page = b.get("/admin/invoices/new/").get_data(as_text=True)
    site = parse(page).find("input", id="site")
    assert site.attrs["data-depends-on"] == "client" and site.attrs["data-role"] == "select2-ajax"


def test_the_server_refuses_a_site_or_job_site_of_another_client(app, browser, tenants, acme):
    b = browser(BACKOFFICE)
    response = b.post("/admin/invoices/new/", _invoice_form(acme, site=str(acme["S2"]), job_site=str(acme["CH2"])))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "S2" in field_errors(page, "site")[0] and "CH2" in field_errors(page, "job_site")[0]
    with app.app_context():
        assert db.session.query(Invoice).count() == 0
    ok = b.post("/admin/invoices/new/", _invoice_form(acme, site=str(acme["S1"]), job_site=str(acme["CH1"])))
    assert ok.status_code == 302


def test_lines_are_saved_in_the_order_of_the_grid_with_server_totals(app, browser, tenants, acme):
    b = browser(BACKOFFICE)
    data = _invoice_form(acme, **_line(0, "Second", "1,5", "10,725", acme["vat55"], position=2),
                         **_line(3, "Premier", "2", "45.5", acme["vat20"], position=1, unit=str(acme["unit"])))
    response = b.post("/admin/invoices/new/", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        invoice = db.session.query(Invoice).one()
        assert [(line.position, line.label) for line in invoice.lines] == [(1, "Premier"), (2, "Second")]
        assert invoice.lines[0].unit_id == acme["unit"]
        # 91.00 at 20 % (18.20) + 16.09 (1.5 × 10.725 = 16.0875) at 5.5 % (0.88)
        assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
            D("107.09"), D("19.08"), D("126.17"))
        invoice_id = invoice.id
    edit = b.get(f"/admin/invoices/edit/?id={invoice_id}").get_data(as_text=True)
    rows = parse(edit).find("tbody", "line-rows").find_all("tr", "line-row")
    assert [row.find("input", "line-label").attrs["value"] for row in rows] == ["Premier", "Second"]
    assert rows[1].find("input", "line-quantity").attrs["value"] == "1,5"  # as typed, not 1.5000
    assert rows[0].find("input", "line-delete").attrs["name"].startswith("del-lines-")


def _validated(app, tenants, acme):
    with app.app_context():
        draft = draft_invoice(tenants["ACME"], acme)
        done = draft_invoice(tenants["ACME"], acme)
        done.state, done.number = "validated", "FA00001"
        db.session.commit()
        return draft.id, done.id


def test_a_validated_invoice_has_no_edit_nor_delete_action_anywhere(app, browser, tenants, acme):
    draft_id, done_id = _validated(app, tenants, acme)
    b = browser(BACKOFFICE)
    listing = parse(b.get("/admin/invoices/").get_data(as_text=True))
    hrefs = [a.attrs.get("href", "") for a in listing.find_all("a")]
    assert any(f"edit/?id={draft_id}" in h for h in hrefs) and not any(f"edit/?id={done_id}" in h for h in hrefs)
    delete_ids = [i.attrs.get("value") for form in listing.find_all("form", "icon")
                  if form.attrs.get("action", "").endswith("/delete/") for i in form.find_all("input", name="id")]
    assert str(draft_id) in delete_ids and str(done_id) not in delete_ids
    details = b.get(f"/admin/invoices/details/?id={done_id}").get_data(as_text=True)
    assert 'id="edit-invoice"' not in details and "validate-invoice" not in details
    assert 'id="edit-invoice"' in b.get(f"/admin/invoices/details/?id={draft_id}").get_data(as_text=True)


def test_valider_asks_for_confirmation(app, browser, tenants, acme):
    draft_id, _done = _validated(app, tenants, acme)
    page = browser(BACKOFFICE).get(f"/admin/invoices/details/?id={draft_id}").get_data(as_text=True)
    form = parse(page).find("form", id="validate-form")
    assert "confirm(" in form.attrs["onsubmit"] and "jamais" in form.attrs["onsubmit"]
    listing = browser(BACKOFFICE).get("/admin/invoices/").get_data(as_text=True)
    confirmations = json.loads(parse(listing).find("div", id="actions-confirmation-data").text)
    assert "jamais" in confirmations["validate"]  # the list action's confirmation


def test_bulk_delete_refuses_a_validated_invoice_and_deletes_nothing(app, browser, tenants, acme):
    draft_id, done_id = _validated(app, tenants, acme)
    b = browser(BACKOFFICE)
    response = b.post("/admin/invoices/action/", {"action": "delete", "rowid": [str(draft_id), str(done_id)]},
                      follow_redirects=True)
    messages = " ".join(alerts(response.get_data(as_text=True)))
    assert "Rien n'a été supprimé" in messages and "FA00001" in messages
    with app.app_context():
        assert db.session.query(Invoice).count() == 2
    b.post("/admin/invoices/action/", {"action": "delete", "rowid": [str(draft_id)]})
    with app.app_context():
        assert [invoice.id for invoice in db.session.query(Invoice)] == [done_id]


def test_code_selects_offer_the_codes_of_the_right_kind_only(app, browser, tenants):
    with app.app_context():
        tenant = tenants["ACME"]
        credit = OperationCode(tenant_id=tenant, code="AV", label="Avoir", document_type="credit_note", billable=True)
        db.session.add(credit)
        db.session.flush()
        db.session.add_all([
            OperationCode(tenant_id=tenant, code="FA", label="Facture", document_type="invoice", billable=True,
                          credit_note_operation_code_id=credit.id),
            OperationCode(tenant_id=tenant, code="OO", label="Ordre", document_type="order", billable=False),
        ])
        db.session.commit()
    consultant = browser("consultant@acme.test")
    page = consultant.get("/admin/operation-codes/new/").get_data(as_text=True)
    assert [text.split(" — ")[0] for value, text in options(page, "credit_note_operation_code")
            if value != "__None"] == ["AV"]
    settings = consultant.get("/admin/dossier-settings/").get_data(as_text=True)
    billable = [text.split(" — ")[0] for value, text in options(settings, "grouped_billing_operation_code")
                if value != "__None"]
    operational = [text.split(" — ")[0] for value, text in options(settings, "operational_order_operation_code")
                   if value != "__None"]
    assert billable == ["AV", "FA"] and operational == ["OO"]


def test_a_line_refuses_the_vat_rate_unit_or_article_of_another_dossier(app, browser, tenants, acme):
    with app.app_context():
        beta_vat = VatRate(tenant_id=tenants["BETA"], code="TB", label="TVA Beta", rate=D("20"))
        beta_unit = Unit(tenant_id=tenants["BETA"], code="UB", label="Unité Beta")
        beta_article = Article(tenant_id=tenants["BETA"], code="ARTB", label="Article Beta", sale_price=D("1"))
        db.session.add_all([beta_vat, beta_unit, beta_article])
        db.session.commit()
        foreign = {"vat_rate": beta_vat.id, "unit": beta_unit.id, "article": beta_article.id}
    b = browser(BACKOFFICE)
    for field, foreign_id in foreign.items():
        line = _line(0, "Ligne", "1", "10", acme["vat20"])
        line[f"lines-0-{field}"] = str(foreign_id)
        response = b.post("/admin/invoices/new/", _invoice_form(acme, **line))
        assert response.status_code == 200, field
        page = response.get_data(as_text=True)
        control = parse(page).find("select" if field != "article" else "input", name=f"lines-0-{field}")
        assert "is-invalid" in control.attrs.get("class", ""), field
    with app.app_context():
        assert db.session.query(Invoice).filter_by(tenant_id=tenants["ACME"]).count() == 0
