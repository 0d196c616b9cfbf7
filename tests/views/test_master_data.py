"""Master-data screens: rules next to their fields, roles, tenants, AJAX look-ups, export/import."""
import html
import io
import json
import os
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest
from flask_babel import force_locale

from commands.seed import seed_demo
from core.extensions import db
from core.glossary import CHOICE_LABELS, FIELD_LABELS
from models import (
    Article, ArticleFamily, AuditLogEntry, Client, ClientFamily, Contact, Contract, DossierSettings, Employee,
    Equipment, JobSite, ProductNature, Sector, Site, Supplier, SupplierFamily, Tenant, Unit, VatRate,
)
from rules.parameters import ROW_RULES
from spreadsheets.importer import import_table

SCREENS = {
    "clients": Client, "suppliers": Supplier, "contacts": Contact, "sites": Site, "job-sites": JobSite,
    "employees": Employee, "articles": Article, "contracts": Contract, "equipment": Equipment,
}


# --- Data and page helpers -----------------------------------------------------------------

def _add_tenant_data(tenant_id: int) -> dict:
    """The same codes in every tenant: parameters, two clients with a site each, a supplier…"""
    def add(obj):
        db.session.add(obj)
        return obj
    t = tenant_id
    rows = {
        "CF": add(ClientFamily(tenant_id=t, code="ENTR", label="Entreprises")),
        "SF": add(SupplierFamily(tenant_id=t, code="NEG", label="Négoce")),
        "ELEC": add(ArticleFamily(tenant_id=t, code="ELEC", label="Électricité")),
        "PLOM": add(ArticleFamily(tenant_id=t, code="PLOM", label="Plomberie")),
        "4MO": add(ProductNature(tenant_id=t, code="4MO", label="Main-d'œuvre")),
        "6FO": add(ProductNature(tenant_id=t, code="6FO", label="Fournitures")),
        "U": add(Unit(tenant_id=t, code="U", label="Unité")),
        "H": add(Unit(tenant_id=t, code="H", label="Heure")),
        "T20": add(VatRate(tenant_id=t, code="T20", label="TVA 20 %", rate=D("20"))),
        "LYON": add(Sector(tenant_id=t, code="LYON", label="Lyon")),
        "E1": add(Employee(tenant_id=t, code="E1", first_name="Karim", last_name="Benali", technician=True,
                           hourly_cost=D("31.50"), billable_hourly_rate=D("58.00"), hire_date=date(2015, 3, 2))),
    }
    db.session.flush()
    rows["ELEC-CAB"] = add(ArticleFamily(tenant_id=t, code="ELEC-CAB", label="Câbles", parent=rows["ELEC"]))
    rows["PLOM-SAN"] = add(ArticleFamily(tenant_id=t, code="PLOM-SAN", label="Sanitaires", parent=rows["PLOM"]))
    rows["C1"] = add(Client(tenant_id=t, code="C1", name="Boulangerie Dupont", city="Lyon", postcode="69001",
                            client_family=rows["CF"], salesperson=rows["E1"], address="=HYPERLINK(\"x\")"))
    rows["C2"] = add(Client(tenant_id=t, code="C2", name="Mairie de Meylan", city="Meylan"))
    rows["F1"] = add(Supplier(tenant_id=t, code="F1", name="Rexel", supplier_family=rows["SF"]))
    db.session.flush()
    rows["S1"] = add(Site(tenant_id=t, code="S1", name="Fournil", client=rows["C1"], city="Lyon"))
    rows["S2"] = add(Site(tenant_id=t, code="S2", name="Mairie", client=rows["C2"]))
    rows["A1"] = add(Article(tenant_id=t, code="MO-ELEC", label="Main-d'œuvre électricien", family=rows["ELEC"],
                             nature=rows["4MO"], unit=rows["H"], net_purchase_price=D("32"),
                             sale_price=D("47.52"), vat_rate=rows["T20"]))
    rows["A2"] = add(Article(tenant_id=t, code="CAB-3G15", label="Câble R2V 3G1,5", family=rows["ELEC"],
                             subfamily=rows["ELEC-CAB"], nature=rows["6FO"], unit=rows["U"],
                             net_purchase_price=D("0.8900"), cost_price=D("0.9612"), sale_price=D("1.2238"),
                             vat_rate=rows["T20"], available_for_export=False))
    db.session.flush()
    rows["K1"] = add(Contract(tenant_id=t, code="K1", client=rows["C1"], site=rows["S1"],
                              start_date=date(2025, 1, 1), term_date=date(2025, 12, 31)))
    rows["J1"] = add(JobSite(tenant_id=t, code="J1", name="Rénovation fournil", client=rows["C1"], site=rows["S1"],
                             sector=rows["LYON"], status="open", start_date=date(2025, 3, 1)))
    db.session.flush()
    return {code: row.id for code, row in rows.items()}


@pytest.fixture
def data(app, tenants):
    """Ids of the rows of each tenant: ``data["ACME"]["C1"]``."""
    with app.app_context():
        result = {code: _add_tenant_data(tenant_id) for code, tenant_id in tenants.items()}
        db.session.commit()
        return result


def _codes(app, model, tenant_id):
    with app.app_context():
        return sorted(row.code for row in db.session.query(model).filter_by(tenant_id=tenant_id))


def _audit_count(app):
    with app.app_context():
        return db.session.query(AuditLogEntry).count()


def field_errors(page: str) -> dict[str, list[str]]:
    """Form field id → the error messages shown under it."""
    errors = {}
    blocks = re.split(r'<div class="form-group[^"]*">', page)[1:]
    for block in blocks:
        label = re.search(r'<label for="([^"]+)"', block)
        feedback = re.search(r'class="invalid-feedback">(.*?)</div>', block, re.S)
        if label and feedback:
            errors[label.group(1)] = [html.unescape(m.strip())
                                      for m in re.findall(r"<li>(.*?)</li>", feedback.group(1), re.S)]
    return errors


def french(app, message_function):
    with app.test_request_context(), force_locale("fr"):
        return str(message_function())


def _post(b, url, data):
    return b.post(url, {key: value for key, value in data.items() if value is not None})


# --- Registration, menus and roles ----------------------------------------------------------

def test_every_master_data_screen_has_its_pages(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for name in SCREENS:
        for sub in ("", "new/", "edit/", "details/", "delete/", "export/<export_type>/", "import/",
                    "ajax/lookup/"):
            assert f"/admin/{name}/{sub}" in rules, (name, sub)


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_every_role_reads_lists_details_and_exports(app, browser, data, screen):
    model = SCREENS[screen]
    with app.app_context():
        row_id = db.session.query(model.id).filter_by(tenant_id=1).order_by(model.id).first()
    for role in ("admin", "consultant", "backoffice", "viewer"):
        b = browser(f"{role}@acme.test")
        listing = b.get(f"/admin/{screen}/")
        assert listing.status_code == 200, (role, screen)
        assert f'href="/admin/{screen}/"' in listing.get_data(as_text=True)  # in the menu
        if row_id:
            assert b.get(f"/admin/{screen}/details/?id={row_id[0]}").status_code == 200
        export = b.get(f"/admin/{screen}/export/xlsx/")
        assert export.status_code == 200 and export.data[:2] == b"PK"


def test_backoffice_writes_viewer_cannot(app, browser, data, tenants):
    acme = data["ACME"]
    b = browser("backoffice@acme.test")
    assert b.get("/admin/clients/new/").status_code == 200
    response = _post(b, "/admin/clients/new/", {"code": "C9", "name": "Nouveau client", "city": "Lyon",
                                                "client_family": acme["CF"], "salesperson": acme["E1"]})
    assert response.status_code == 302, field_errors(response.get_data(as_text=True))
    with app.app_context():
        client = db.session.query(Client).filter_by(tenant_id=tenants["ACME"], code="C9").one()
        assert client.salesperson.code == "E1" and client.client_family.code == "ENTR"
        client_id = client.id
    assert _post(b, f"/admin/clients/edit/?id={client_id}", {"code": "C9", "name": "Renommé"}).status_code == 302
    assert b.post("/admin/clients/delete/", {"id": str(client_id)}).status_code == 302
    assert "C9" not in _codes(app, Client, tenants["ACME"])
    assert b.get("/admin/articles/import/").status_code == 200

    viewer = browser("viewer@acme.test")
    before = _audit_count(app)
    assert viewer.get("/admin/clients/new/").status_code == 403
    assert _post(viewer, "/admin/clients/new/", {"code": "C8", "name": "Refusé"}).status_code == 403
    assert viewer.get(f"/admin/clients/edit/?id={acme['C1']}").status_code == 403
    assert _post(viewer, f"/admin/clients/edit/?id={acme['C1']}", {"code": "C1", "name": "X"}).status_code == 403
    assert viewer.post("/admin/clients/delete/", {"id": str(acme["C1"])}).status_code == 403
    assert viewer.get("/admin/clients/import/").status_code == 403
    listing = viewer.get("/admin/clients/").get_data(as_text=True)
    assert "/admin/clients/new/" not in listing and "/admin/clients/edit/" not in listing
    assert _codes(app, Client, tenants["ACME"]) == ["C1", "C2"] and _audit_count(app) == before


# --- Rules through the screens: the error next to its field, nothing saved ------------------

def _rule_cases(ids):
    return {
        "site without client": ("sites", {"code": "S9", "name": "Sans client"}, "client"),
        "job site without client": ("job-sites", {"code": "J9", "name": "Sans client", "status": "open"},
                                    "client"),
        "job site on another client's site": (
            "job-sites", {"code": "J9", "name": "Chantier", "status": "open", "client": ids["C1"],
                          "site": ids["S2"]}, "site"),
        "contact without party": ("contacts", {"code": "P9", "name": "Personne"}, "client"),
        "contact with two parties": ("contacts", {"code": "P9", "name": "Personne", "client": ids["C1"],
                                                  "supplier": ids["F1"]}, "supplier"),
        "subfamily of another family": ("articles", {"code": "A9", "label": "Article", "family": ids["ELEC"],
                                                     "subfamily": ids["PLOM-SAN"]}, "subfamily"),
        "family as subfamily": ("articles", {"code": "A9", "label": "Article", "family": ids["ELEC"],
                                             "subfamily": ids["PLOM"]}, "subfamily"),
        "subfamily as family": ("articles", {"code": "A9", "label": "Article", "family": ids["ELEC-CAB"]},
                                "family"),
        "negative price": ("articles", {"code": "A9", "label": "Article", "net_purchase_price": "-1"},
                           "net_purchase_price"),
        "negative sale price": ("articles", {"code": "A9", "label": "Article", "sale_price": "-0.5"},
                                "sale_price"),
        "negative hourly cost": ("employees", {"code": "E9", "last_name": "Martin", "hourly_cost": "-3"},
                                 "hourly_cost"),
        "negative billable rate": ("employees", {"code": "E9", "last_name": "Martin",
                                                 "billable_hourly_rate": "-3"}, "billable_hourly_rate"),
        "term before start": ("contracts", {"code": "K9", "client": ids["C1"], "start_date": "2025-06-01",
                                            "term_date": "2025-05-31"}, "term_date"),
        "contract on another client's site": ("contracts", {"code": "K9", "client": ids["C1"],
                                                            "site": ids["S2"]}, "site"),
        "code already used": ("clients", {"code": "C1", "name": "Doublon"}, "code"),
    }


RULE_CASES = sorted(_rule_cases(defaultdict(int)))


@pytest.mark.parametrize("case", RULE_CASES)
def test_rules_through_the_screens(app, browser, data, tenants, case):
    screen, values, field = _rule_cases(data["ACME"])[case]
    model = SCREENS[screen]
    before_codes, before_audit = _codes(app, model, tenants["ACME"]), _audit_count(app)
    b = browser("backoffice@acme.test")
    response = _post(b, f"/admin/{screen}/new/", values)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, case
    errors = field_errors(page)
    assert field in errors and errors[field], (case, errors)
    assert _codes(app, model, tenants["ACME"]) == before_codes and _audit_count(app) == before_audit


def test_rule_messages_are_those_of_the_rule_functions(app, browser, data, tenants):
    """The message shown is the rule's own (not a generic required-field message)."""
    acme = data["ACME"]
    b = browser("backoffice@acme.test")
    page = _post(b, "/admin/job-sites/new/", {"code": "J9", "name": "Chantier", "status": "open",
                                             "client": acme["C1"], "site": acme["S2"]}).get_data(as_text=True)
    with app.app_context():
        values = {"client": db.session.get(Client, acme["C1"]), "site": db.session.get(Site, acme["S2"])}
        expected = french(app, lambda: ROW_RULES[JobSite](values, tenants["ACME"], None)["site"])
    assert field_errors(page)["site"] == [expected]
    page = _post(b, "/admin/contacts/new/", {"code": "P9", "name": "X"}).get_data(as_text=True)
    expected = french(app, lambda: ROW_RULES[Contact]({"client": None, "supplier": None}, 1, None)["client"])
    assert field_errors(page)["client"] == [expected]


def test_valid_rows_are_saved_through_every_screen(app, browser, data, tenants):
    acme = data["ACME"]
    b = browser("backoffice@acme.test")
    posts = [
        ("suppliers", {"code": "F9", "name": "Cedeo", "supplier_family": acme["SF"]}),
        ("contacts", {"code": "P9", "name": "Isabelle Martin", "client": acme["C1"], "role": "Gérante"}),
        ("sites", {"code": "S9", "name": "Entrepôt", "client": acme["C2"]}),
        ("job-sites", {"code": "J9", "name": "Chantier", "client": acme["C1"], "site": acme["S1"],
                       "sector": acme["LYON"], "status": "closed", "start_date": "2025-02-03"}),
        ("employees", {"code": "E9", "first_name": "Julien", "last_name": "Moreau", "technician": "y",
                       "hourly_cost": "29.80", "billable_hourly_rate": "55"}),
        ("articles", {"code": "A9", "label": "Câble 3G2,5", "family": acme["ELEC"], "subfamily": acme["ELEC-CAB"],
                      "nature": acme["6FO"], "unit": acme["U"], "net_purchase_price": "1.35",
                      "sale_price": "1.8563", "vat_rate": acme["T20"], "active": "y"}),
        ("contracts", {"code": "K9", "client": acme["C2"], "site": acme["S2"], "start_date": "2025-01-01",
                       "term_date": "2025-12-31", "renewal_due_date": "2025-10-01"}),
        ("equipment", {"code": "Q9", "label": "Chaudière", "site": acme["S1"], "contract": acme["K1"]}),
    ]
    for screen, values in posts:
        response = _post(b, f"/admin/{screen}/new/", values)
        assert response.status_code == 302, (screen, field_errors(response.get_data(as_text=True)))
        assert values["code"] in _codes(app, SCREENS[screen], tenants["ACME"])
    with app.app_context():
        article = db.session.query(Article).filter_by(tenant_id=tenants["ACME"], code="A9").one()
        assert article.net_purchase_price == D("1.35") and article.subfamily.code == "ELEC-CAB"
        employee = db.session.query(Employee).filter_by(tenant_id=tenants["ACME"], code="E9").one()
        assert employee.hourly_cost == D("29.80") and employee.technician is True
        assert db.session.query(JobSite).filter_by(code="J9").one().status == "closed"


def test_codes_are_unique_per_tenant_only(app, browser, data, tenants):
    acme, beta = browser("backoffice@acme.test"), browser("backoffice@beta.test")
    assert _post(acme, "/admin/clients/new/", {"code": "NEW", "name": "A"}).status_code == 302
    assert _post(beta, "/admin/clients/new/", {"code": "NEW", "name": "B"}).status_code == 302
    again = _post(acme, "/admin/clients/new/", {"code": "NEW", "name": "A bis"})
    assert again.status_code == 200 and "code" in field_errors(again.get_data(as_text=True))
    # renaming onto an existing code is refused as well
    edit = _post(acme, f"/admin/clients/edit/?id={data['ACME']['C2']}", {"code": "C1", "name": "Mairie"})
    assert edit.status_code == 200 and "code" in field_errors(edit.get_data(as_text=True))
    assert _codes(app, Client, tenants["ACME"]) == ["C1", "C2", "NEW"]
    assert _codes(app, Client, tenants["BETA"]) == ["C1", "C2", "NEW"]


# --- Tenants: another tenant's rows are 404, never offered nor accepted ---------------------

@pytest.mark.parametrize("screen, key", [("clients", "C1"), ("sites", "S1"), ("articles", "A1"),
                                         ("employees", "E1"), ("contracts", "K1"), ("job-sites", "J1")])
def test_another_tenants_row_is_a_404(app, browser, data, screen, key):
    foreign = data["BETA"][key]
    b = browser("backoffice@acme.test")
    assert b.get(f"/admin/{screen}/details/?id={foreign}").status_code == 404
    assert b.get(f"/admin/{screen}/edit/?id={foreign}").status_code == 404
    assert b.post(f"/admin/{screen}/edit/?id={foreign}", {"code": "HACK", "name": "x"}).status_code == 404
    assert b.post(f"/admin/{screen}/delete/", {"id": str(foreign)}).status_code == 404
    with app.app_context():
        assert db.session.get(SCREENS[screen], foreign).code != "HACK"


def test_ajax_lookup_offers_only_the_tenants_rows(app, browser, data):
    b = browser("backoffice@acme.test")
    response = b.get("/admin/sites/ajax/lookup/?name=client&query=C")
    assert response.status_code == 200
    offered = {row[0] for row in json.loads(response.data)}
    assert offered == {data["ACME"]["C1"], data["ACME"]["C2"]}
    by_name = {row[0] for row in json.loads(b.get("/admin/sites/ajax/lookup/?name=client&query=Boul").data)}
    assert by_name == {data["ACME"]["C1"]}
    for name, query, key in (("site", "S", "S1"), ("client", "", "C1")):
        rows = json.loads(b.get(f"/admin/job-sites/ajax/lookup/?name={name}&query={query}").data)
        assert data["BETA"][key] not in {row[0] for row in rows} and rows
    salespeople = json.loads(b.get("/admin/clients/ajax/lookup/?name=salesperson&query=Ben").data)
    assert [row[0] for row in salespeople] == [data["ACME"]["E1"]]
    assert browser().get("/admin/sites/ajax/lookup/?name=client&query=C").status_code == 302  # login first


def test_another_tenants_row_is_refused_when_posted(app, browser, data, tenants):
    acme, beta = data["ACME"], data["BETA"]
    b = browser("backoffice@acme.test")
    before = _audit_count(app)
    cases = [
        ("sites", {"code": "S9", "name": "Site", "client": beta["C1"]}, "client"),
        ("sites", {"code": "S9", "name": "Site", "client": "1 OR 1=1"}, "client"),
        ("contacts", {"code": "P9", "name": "Contact", "client": acme["C1"], "supplier": "abc"}, "supplier"),
        ("job-sites", {"code": "J9", "name": "Chantier", "status": "open", "client": acme["C1"],
                       "site": beta["S1"]}, "site"),
        ("clients", {"code": "C9", "name": "Client", "salesperson": beta["E1"]}, "salesperson"),
        ("equipment", {"code": "Q9", "label": "Chaudière", "contract": beta["K1"]}, "contract"),
        ("articles", {"code": "A9", "label": "Article", "family": beta["ELEC"]}, "family"),
        ("articles", {"code": "A9", "label": "Article", "vat_rate": beta["T20"]}, "vat_rate"),
        ("job-sites", {"code": "J9", "name": "Chantier", "status": "open", "client": acme["C1"],
                       "sector": beta["LYON"]}, "sector"),
    ]
    for screen, values, field in cases:
        response = _post(b, f"/admin/{screen}/new/", values)
        assert response.status_code == 200, screen
        assert field in field_errors(response.get_data(as_text=True)), screen
        assert values["code"] not in _codes(app, SCREENS[screen], tenants["ACME"])
    edit = _post(b, f"/admin/sites/edit/?id={acme['S1']}", {"code": "S1", "name": "Fournil", "client": beta["C2"]})
    assert edit.status_code == 200 and "client" in field_errors(edit.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Site, acme["S1"]).client_id == acme["C1"]
    assert _audit_count(app) == before


# --- Lists: labour / supply, search, filters ------------------------------------------------

def test_article_list_shows_labour_or_supply_from_the_dossier_prefix(app, browser, data, tenants):
    b = browser("viewer@acme.test")
    labour, supply = (french(app, lambda k=k: CHOICE_LABELS[k]) for k in ("labour", "supply"))

    def kinds():
        page = b.get("/admin/articles/?sort=0").get_data(as_text=True)
        rows = re.findall(r'<td class="col-code">\s*(.*?)\s*</td>.*?<td class="col-article_kind">\s*(.*?)\s*</td>',
                          page, re.S)
        return {html.unescape(code): html.unescape(kind) for code, kind in rows}

    assert kinds() == {"MO-ELEC": labour, "CAB-3G15": supply}
    with app.app_context():
        db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).update(
            {"labour_nature_prefix": "6F"})
        db.session.commit()
    assert kinds() == {"MO-ELEC": supply, "CAB-3G15": labour}


def test_article_kind_filter_and_list_search(app, browser, data):
    b = browser("viewer@acme.test")
    labour = b.get("/admin/articles/?flt0_0=labour").get_data(as_text=True)
    supply = b.get("/admin/articles/?flt0_0=supply").get_data(as_text=True)
    assert "MO-ELEC" in labour and "CAB-3G15" not in labour
    assert "CAB-3G15" in supply and "MO-ELEC" not in supply
    found = b.get("/admin/articles/?search=lectricien").get_data(as_text=True)
    assert "MO-ELEC" in found and "CAB-3G15" not in found
    clients = b.get("/admin/clients/?search=ulangerie").get_data(as_text=True)
    assert "Boulangerie Dupont" in clients and "Mairie de Meylan" not in clients
    assert "Mairie de Meylan" in b.get("/admin/clients/?search=c2").get_data(as_text=True)
    export = b.get("/admin/articles/export/xlsx/?flt0_0=supply")
    sheet = openpyxl.load_workbook(io.BytesIO(export.data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["CAB-3G15"]


def test_export_keeps_text_as_text(app, browser, data):
    export = browser("viewer@acme.test").get("/admin/clients/export/xlsx/")
    workbook = openpyxl.load_workbook(io.BytesIO(export.data))
    sheet = workbook.active
    headers = [cell.value for cell in sheet[1]]
    address = headers.index(french(app, lambda: FIELD_LABELS["address"]))
    values = [row[address] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert '=HYPERLINK("x")' in values  # a string, not a formula


# --- Export → import round trip, bad imports -----------------------------------------------

def _export_import(app, resource, tmp_path):
    runner = app.test_cli_runner()
    path = os.path.join(tmp_path, f"{resource}.xlsx")
    result = runner.invoke(args=["export", resource, "--tenant", "ACME", "-o", path])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["import", resource, "--tenant", "ACME", path])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("resource, model", [("clients", Client), ("articles", Article), ("sites", Site),
                                             ("employees", Employee), ("contracts", Contract),
                                             ("job-sites", JobSite)])
def test_export_then_import_changes_nothing(app, data, tenants, tmp_path, resource, model):
    def snapshot():
        with app.app_context():
            rows = db.session.query(model).filter_by(tenant_id=tenants["ACME"]).order_by(model.id).all()
            columns = [c.key for c in model.__table__.columns]
            return [{c: getattr(row, c) for c in columns} for row in rows]

    before, audit = snapshot(), _audit_count(app)
    path = _export_import(app, resource, tmp_path)
    assert snapshot() == before and _audit_count(app) == audit
    sheet = openpyxl.load_workbook(path).active
    assert sheet.max_row == len(before) + 1


def test_import_creates_articles_with_relations_by_code(app, data, tenants, tmp_path):
    path = tmp_path / "articles.csv"
    path.write_text("code;label;family;subfamily;nature;unit;net_purchase_price;vat_rate;active\n"
                    "A10;Disjoncteur 16 A;ELEC;ELEC-CAB;6FO;U;7,80;T20;oui\n"
                    "A11;Main-d'œuvre plombier;PLOM;;4MO;H;32;T20;oui\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "articles", "--tenant", "ACME", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        article = db.session.query(Article).filter_by(tenant_id=tenants["ACME"], code="A10").one()
        assert (article.family.code, article.subfamily.code, article.net_purchase_price) == (
            "ELEC", "ELEC-CAB", D("7.80"))
        assert article.family.tenant_id == tenants["ACME"]


def test_bad_import_reports_row_and_column_and_writes_nothing(app, browser, data, tenants, tmp_path):
    content = ("code;label;family;subfamily;net_purchase_price\n"
               "A10;Disjoncteur;ELEC;ELEC-CAB;7,80\n"
               "A11;Inconnu;NOPE;;1\n"
               "A12;Mauvaise sous-famille;ELEC;PLOM-SAN;1\n"
               "A13;Prix négatif;PLOM;;-2\n").encode("utf-8")
    with app.app_context():
        from commands.context import admin_view, tenant_context
        view = admin_view("articles")
        with tenant_context("ACME") as tenant:
            report = import_table(view.import_spec(), content, "articles.csv", tenant.id, dry_run=True)
        errors = {(row.number, name) for row in report.rows for name in row.errors}
        assert errors == {(3, "family"), (4, "subfamily"), (5, "net_purchase_price")}
        assert "NOPE" in report.rows[1].errors["family"]

    path = tmp_path / "articles.csv"
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["import", "articles", "--tenant", "ACME", str(path)])
    assert result.exit_code == 1 and "NOPE" in result.output and "3" in result.output
    b = browser("backoffice@acme.test")
    page = b.post("/admin/articles/import/", {"file": (io.BytesIO(content), "articles.csv")},
                  content_type="multipart/form-data").get_data(as_text=True)
    assert page.count("import-error") >= 3 and "NOPE" in page and 'id="import-confirm"' not in page
    assert _codes(app, Article, tenants["ACME"]) == ["CAB-3G15", "MO-ELEC"]


def test_import_refuses_another_tenants_codes_only_by_their_absence(app, data, tenants, tmp_path):
    """Relations are looked up by code in the importing tenant only."""
    with app.app_context():
        db.session.add(ClientFamily(tenant_id=tenants["BETA"], code="ONLYBETA", label="Beta"))
        db.session.commit()
    path = tmp_path / "clients.csv"
    path.write_text("code;name;client_family\nC10;Client;ONLYBETA\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "clients", "--tenant", "ACME", str(path)])
    assert result.exit_code == 1 and "ONLYBETA" in result.output
    assert "C10" not in _codes(app, Client, tenants["ACME"])


# --- Demo data ------------------------------------------------------------------------------

def test_demo_seed_has_master_data_that_follows_the_rules_and_is_idempotent(app, app_ctx):
    assert seed_demo() is True
    tenant_id = db.session.query(Tenant.id).filter_by(code="DEMO").scalar()
    counts = {model: db.session.query(model).filter_by(tenant_id=tenant_id).count() for model in SCREENS.values()}
    assert counts[Client] >= 12 and counts[Article] >= 30 and counts[Employee] == 7  # + Léa Dubois (work order)
    assert db.session.query(Employee).filter_by(tenant_id=tenant_id, technician=True).count() == 4
    assert all(counts.values())
    for model in SCREENS.values():
        rule = ROW_RULES[model]
        for row in db.session.query(model).filter_by(tenant_id=tenant_id):
            values = {attr.key: getattr(row, attr.key) for attr in db.inspect(model).attrs}
            assert rule(values, tenant_id, row.id) == {}, (model.__name__, row.code)
    audit = db.session.query(AuditLogEntry).count()
    assert seed_demo() is False
    assert {model: db.session.query(model).filter_by(tenant_id=tenant_id).count()
            for model in SCREENS.values()} == counts
    assert db.session.query(AuditLogEntry).count() == audit
