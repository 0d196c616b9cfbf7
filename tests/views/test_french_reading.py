"""What a French user reads: Flask-Admin's own messages in our words, plurals, the French
number and date formats of the shared formatters, the audit log in words, closed lists by
label in exports, French export file names, the home page of what is waiting, error pages
with the navigation."""
from datetime import date, datetime
from decimal import Decimal
from html import unescape

from core.clock import today
from core.extensions import db
from models import AuditLogEntry, Client, Invoice, JobSite, OperationCode
from param_rows import xlsx_values
from views import formatters


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_numbers_and_dates_read_french(app):
    with app.test_request_context():
        nbsp = "\u202f"
        assert formatters.number_text(Decimal("1.3500")) == "1,35"
        assert formatters.number_text(Decimal("47.5200")) == "47,52"
        assert formatters.number_text(Decimal("66.6875")) == "66,6875"
        assert formatters.number_text(Decimal("1630.13")) == f"1{nbsp}630,13"
        assert formatters.amount_text(Decimal("1250.4")) == f"1{nbsp}250,40"
        assert formatters.fast_amount_text()(Decimal("1250.4")) == f"1{nbsp}250,40"
        assert formatters.money_text(Decimal("7884.34")).replace("\xa0", " ").replace(nbsp, " ") == "7 884,34 €"
        assert formatters.percent_text(Decimal("5.50")) == "5,5\xa0%"
        assert formatters.date_text(date(2026, 12, 2)) == "02/12/2026"
        # stored in UTC, read in Paris (UTC+1 in winter, +2 in summer)
        assert formatters.datetime_text(datetime(2026, 12, 2, 3, 9, 54)) == "02/12/2026 04:09"
        assert formatters.datetime_text(datetime(2026, 7, 1, 22, 30)) == "02/07/2026 00:30"


def test_flask_admin_messages_and_page_sizes_are_ours(app, browser, tenants):
    b = browser("consultant@acme.test")
    page = _text(b.post("/admin/operation-codes/new/", {"code": "", "label": ""}))
    assert "Rien n'a été créé : corrigez les champs signalés en rouge." in page
    assert "Failed to create record" not in page
    page = _text(b.get("/admin/operation-codes/"))
    assert "50 lignes par page" in page and "50 articles" not in page and "Rechercher" in page


def test_plurals_agree(app, browser, tenants):
    b = browser("consultant@acme.test")
    one = "code;label;document_type\nQT;Devis;quote\n".encode()
    three = "code;label;document_type\nQ1;Devis;quote\nQ2;Devis 2;Devis\nQ3;Commande;order\n".encode()
    import io
    for data, wanted in ((one, ("1 ligne :", "Importer la ligne", "0 erreur.")),
                         (three, ("3 lignes :", "Importer les 3 lignes", "0 erreur."))):
        page = _text(b.post("/admin/operation-codes/import/", {"file": (io.BytesIO(data), "codes.csv")},
                            content_type="multipart/form-data"))
        for text in wanted:
            assert text in page, (text, page[page.find("import-summary") - 50:][:600])


def test_the_audit_log_reads_as_sentences_of_the_trade(app, browser, tenants):
    b = browser("backoffice@acme.test")
    assert b.post("/admin/clients/new/", {"code": "C0001", "name": "Dupont Bâtiment", "postcode": "69001"}
                  ).status_code == 302
    with app.app_context():
        client_id = db.session.query(Client.id).scalar()
    assert b.post("/admin/job-sites/new/", {"code": "CH1", "name": "Rénovation", "client": str(client_id),
                                            "status": "open", "start_date": "2026-03-15"}).status_code == 302
    page = _text(browser("viewer@acme.test").get("/admin/audit-log/"))
    for text in ("Chantiers", "CH1", "Statut", "Ouvert", "15/03/2026", "Client", "C0001", "Clients"):
        assert text in page, text
    body = page[page.index("model-list"):page.index("</table>")]
    assert "job_sites" not in body and ">open<" not in body and "2026-03-15" not in body
    with app.app_context():
        moment = db.session.query(AuditLogEntry.changed_at).first()[0]
    with app.test_request_context():
        assert formatters.datetime_text(moment) in page  # date and time, in Paris


def test_exports_show_labels_and_are_named_after_the_french_screen(app, browser, tenants):
    with app.app_context():
        db.session.add(OperationCode(tenant_id=tenants["ACME"], code="DV", label="Devis", document_type="quote"))
        db.session.commit()
    response = browser("consultant@acme.test").get("/admin/operation-codes/export/xlsx/")
    assert f"codes_operation_{today():%Y%m%d}.xlsx" in response.headers["Content-Disposition"]
    rows = xlsx_values(response.data)
    assert "Devis" in rows[1] and "quote" not in rows[1]


def test_related_rows_show_code_and_name(app, browser, tenants):
    with app.app_context():
        client = Client(tenant_id=tenants["ACME"], code="C0012", name="SCI Les Terrasses de Fourvière et du Rhône")
        db.session.add(client)
        db.session.flush()
        db.session.add(JobSite(tenant_id=tenants["ACME"], code="CH1", name="Réfection", client_id=client.id))
        db.session.commit()
    page = _text(browser("viewer@acme.test").get("/admin/job-sites/"))
    assert 'title="C0012 — SCI Les Terrasses de Fourvière et du Rhône"' in page
    assert ">C0012 — SCI Les Terrasses de Fourvière…<" in page


def test_the_home_page_shows_the_drafts_waiting_for_the_role(app, browser, tenants):
    with app.app_context():
        client = Client(tenant_id=tenants["ACME"], code="C1", name="Dupont")
        db.session.add(client)
        db.session.flush()
        db.session.add_all([Invoice(tenant_id=tenants["ACME"], client_id=client.id) for _ in range(2)])
        db.session.commit()
    page = _text(browser("backoffice@acme.test").get("/admin/"))
    assert "2 factures brouillons à valider" in page and "/admin/invoices/?flt" in page
    assert "1 facture" not in _text(browser("backoffice@beta.test").get("/admin/"))
    assert "à valider" not in _text(browser("viewer@acme.test").get("/admin/"))


def test_error_pages_keep_the_navigation_and_say_what_to_do(app, browser, tenants):
    b = browser("viewer@acme.test")
    for url, code, advice in (("/admin/clients/new/", 403, "demandez-le à un administrateur"),
                              ("/admin/no-such-screen/", 404, "vérifiez l'adresse")):
        response = b.get(url)
        page = _text(response)
        assert response.status_code == code and advice in page and 'class="navbar' in page
        assert "favicon.svg" in page
