"""CSV exchange screens in French: the stepped creation form, the reception screen
(three tables, mapping in place, Réceptionner / Recevoir), roles, the at_login
banner, the home page count, *Tout renvoyer*."""
import io
import re
import time

import openpyxl
import pytest
from sqlalchemy import func, select

from core.extensions import db
from models import DeliveryNote, Tenant
from models.exchange import SyncRun
from rules.tenancy import create_user

import csv_env

PASSWORD = "correct-horse-battery"
WAIT_SECONDS = 60


@pytest.fixture
def ctx(app, tenants):
    csv_env.clean_root(app)
    with app.app_context():
        tenant_id = tenants["ACME"]
        tenant = db.session.get(Tenant, tenant_id)
        for role in ("backoffice", "viewer", "consultant"):
            create_user(f"{role}@acme.test", PASSWORD, [(tenant, role)])
        setup = csv_env.dossier(tenant_id)
        connector = csv_env.connector(tenant_id)
        csv_env.map_codes(tenant_id, connector.id, setup["articles"], ("SRV-FRAIS", "LEG-DOC", "MSG-INT"))
        db.session.commit()
        values = {"tenant": tenant_id, "connector_id": connector.id, "folder": csv_env.folder()}
        db.session.remove()
    return values  # no app context held: the test client's requests each push their own


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _wait(b, run_id):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        progress = b.get(f"/admin/sync-runs/progress/?id={run_id}").get_json()
        if progress["status"] != "running":
            return progress
        time.sleep(0.05)
    raise AssertionError("the run did not finish")


def _drop_samples(app):
    with app.app_context():
        csv_env.drop_samples()


def test_reception_flow_read_map_receive(app, ctx, browser):
    _drop_samples(app)
    b = browser("backoffice@acme.test")
    page = _page(b.get("/admin/csv-reception/?connector=PART"))
    assert "2 fichiers en attente dans le dossier d'import." in page
    assert '<h4 class="mb-4">' not in page  # one heading, naming the connector too
    assert "<h1 class=\"h4\">Réception CSV — PART" in page
    response = b.post("/admin/csv-reception/read/", {"connector": "PART"})
    assert response.status_code == 302
    page = _page(b.get("/admin/csv-reception/?connector=PART"))
    assert "Fichiers lus : 2 lus, 0 problème." in page and "Voir le rapport" in page
    assert "Sans correspondance" in page and 'name="map-NOTAIRE"' in page
    assert page.count("Nouveau document") == 2 and "Articles sans correspondance" in page
    assert "Les documents contenant des articles sans correspondance ne seront pas intégrés." in page
    assert "Études Martin &amp; Fils" in page and "Cébéo Distribution" in page and "Nouveau" in page
    assert "71,88" in page and ">Recevoir<" in page and ">Réceptionner<" in page
    response = b.post("/admin/csv-reception/map/", {"connector": "PART", "map-NOTAIRE": "NOPE"})
    page = _page(response)  # the screen again, nothing saved, what was typed still in its field
    assert response.status_code == 200 and "Code NOTAIRE : Article inconnu : NOPE." in page
    assert 'name="map-NOTAIRE" value="NOPE"' in page
    b.post("/admin/csv-reception/map/", {"connector": "PART", "map-NOTAIRE": "a-notaire"})
    page = _page(b.get("/admin/csv-reception/?connector=PART"))
    assert "1 correspondance enregistrée." in page and "Articles sans correspondance" not in page
    assert page.count("Nouveau document") == 3
    response = b.post("/admin/csv-reception/receive/", {"connector": "PART"})
    assert response.status_code == 302 and "/admin/sync-runs/details/" in response.headers["Location"]
    run_id = int(response.headers["Location"].split("id=")[1].split("&")[0])
    assert _wait(b, run_id)["status"] == "success"
    with app.app_context():
        assert db.session.scalar(select(func.count(DeliveryNote.id))) == 3
    page = _page(b.get("/admin/csv-reception/?connector=PART"))
    assert "Aucun document en attente." in page and "Aucun tiers en attente." in page
    # the documents' origin is named by the connector's code, on screen and in the export
    with app.app_context():
        note_id = db.session.scalar(select(func.min(DeliveryNote.id)))
    for url in ("/admin/delivery-notes/", f"/admin/delivery-notes/details/?id={note_id}"):
        page = _page(b.get(url))
        assert "csv_exchange:" not in page and re.search(r"<td[^>]*>\s*PART\s*</td>", page), url
    sheet = openpyxl.load_workbook(io.BytesIO(b.get("/admin/delivery-notes/export/xlsx/").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert {row[rows[0].index("Origine")] for row in rows[1:]} == {"PART"}


def test_labels_are_shown_escaped_and_unknown_connectors_answer_in_french(ctx, browser):
    (ctx["folder"] / "Documents_1.csv").write_text(csv_env.documents_file(
        ["R1;18/11/2026;X;<b>Nom</b>;;1;EVIL;<script>alert(1)</script>;1;1;20"]))
    b = browser("backoffice@acme.test")
    b.post("/admin/csv-reception/read/", {"connector": "PART"})
    page = _page(b.get("/admin/csv-reception/?connector=PART"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = _page(b.get("/admin/csv-reception/?connector=NOPE"))
    assert "Connecteur d&#39;échange CSV inconnu : NOPE." in page or "Connecteur d'échange CSV inconnu : NOPE." in page
    page = _page(b.get("/admin/csv-reception/"))
    assert "PART" in page
    assert b.post("/admin/csv-reception/read/", {"connector": "NOPE"}).status_code == 302


def test_a_viewer_reads_but_cannot_receive(ctx, browser):
    b = browser("viewer@acme.test")
    page = _page(b.get("/admin/csv-reception/?connector=PART"))
    assert ">Recevoir<" not in page
    for url in ("/admin/csv-reception/read/", "/admin/csv-reception/receive/", "/admin/csv-reception/map/"):
        assert b.post(url, {"connector": "PART"}).status_code == 403


def _set_mode(app, ctx, mode):
    from models.exchange import Connector
    with app.app_context():
        connector = db.session.get(Connector, ctx["connector_id"])
        connector.settings = {**connector.settings, "update_mode": mode}
        db.session.commit()


def test_the_at_login_banner_and_the_home_count(app, ctx, browser):
    _drop_samples(app)
    _set_mode(app, ctx, "manual")
    b = browser("backoffice@acme.test")
    page = _page(b.get("/admin/"))
    assert "en attente de réception" not in page  # the manual mode warns of nothing
    _set_mode(app, ctx, "at_login")
    b = browser("backoffice@acme.test")
    page = _page(b.get("/admin/"))
    assert "Connecteur PART : des données sont en attente de réception (2)." in page
    assert "/admin/csv-reception/?connector=PART" in page
    assert "2 données en attente de réception" in page
    page = _page(b.get("/admin/"))
    assert "Connecteur PART : des données" not in page  # the banner is shown once, after login


def test_the_creation_form_is_in_steps_and_checks_codes(app, ctx, browser):
    b = browser("consultant@acme.test")
    page = _page(b.get("/admin/connectors/new/?kind=csv_exchange"))
    for text in ("Étape 1 : Liaison", "Étape 2 : Dossiers", "Étape 3 : Envoi", "Étape 4 : Réception",
                 "Famille des nouveaux clients", "Mode de mise à jour"):
        assert text in page
    form = {"code": "P2", "label": "Partenaire 2", "enabled": "y", "communication_mode": "csv_files",
            "import_folder": "p2/in", "export_folder": "", "retention_days": "90", "articles_mode": "exportable_only",
            "article_filter": "", "price_category": "", "unit": "", "clients_mode": "custom_filter",
            "client_filter": "", "include_contacts": "", "send_schedule": "", "depot": "",
            "document_type": "order", "establishment": "", "client_family": "NOPE", "supplier_family": "",
            "update_mode": "scheduled", "receive_schedule": ""}
    page = _page(b.post("/admin/connectors/new/?kind=csv_exchange", form))
    assert page.count("Ce paramètre est obligatoire.") == 2  # depot, supplier family
    form.update(depot="DEP1", supplier_family="FRN")
    page = _page(b.post("/admin/connectors/new/?kind=csv_exchange", form))
    for text in ("Indiquez les codes des familles de clients à envoyer", "Le dossier d&#39;export est obligatoire",
                 "La planification de la réception est obligatoire en mode planifié."):
        assert text in page
    form.update(client_filter="CLI", export_folder="p2/out", receive_schedule="every:15")
    page = _page(b.post("/admin/connectors/new/?kind=csv_exchange", form))
    assert "Code inconnu dans ce dossier : NOPE." in page
    form.update(client_family="cli", import_folder="partner/in")
    page = _page(b.post("/admin/connectors/new/?kind=csv_exchange", form))
    assert "déjà utilisé par un autre connecteur" in page
    form.update(import_folder="p2/in")
    assert b.post("/admin/connectors/new/?kind=csv_exchange", form).status_code == 302
    from models.exchange import Connector
    with app.app_context():
        saved = db.session.scalar(select(Connector).filter_by(code="P2"))
        assert saved.settings["client_family"] == "CLI" and saved.settings["depot"] == "DEP1"


def test_the_receive_schedule_runs_in_scheduled_mode_only(app, ctx, browser):
    """A schedule typed in manual or at-login mode is refused (it would receive anyway),
    and one stored before this rule is not scheduled; the schedule's help text is read
    as written (``every:<minutes>`` is text, not a tag)."""
    from exchange.base import kind_of
    from exchange.schedules import connector_schedules, wanted_jobs
    from models.exchange import Connector
    b = browser("consultant@acme.test")
    page = _page(b.get("/admin/connectors/new/?kind=csv_exchange"))
    assert ("every:&lt;minutes&gt; ou une expression cron à cinq champs ; en mode planifié seulement, où elle est "
            "obligatoire.") in page
    form = {"code": "P3", "label": "Partenaire 3", "enabled": "y", "communication_mode": "csv_files",
            "import_folder": "p3/in", "export_folder": "p3/in/out", "retention_days": "90",
            "articles_mode": "exportable_only", "article_filter": "", "price_category": "", "unit": "",
            "clients_mode": "all", "client_filter": "", "include_contacts": "", "send_schedule": "every:30",
            "depot": "DEP1", "document_type": "order", "establishment": "", "client_family": "CLI",
            "supplier_family": "FRN", "update_mode": "manual", "receive_schedule": "every:5"}
    page = _page(b.post("/admin/connectors/new/?kind=csv_exchange", form))
    assert "Une planification de réception ne s&#39;applique qu&#39;en mode planifié" in page
    assert "Le dossier d&#39;export doit être en dehors du dossier d&#39;import." in page
    form.update(receive_schedule="", export_folder="p3/out")
    assert b.post("/admin/connectors/new/?kind=csv_exchange", form).status_code == 302
    with app.app_context():
        saved = db.session.scalar(select(Connector).filter_by(code="P3"))
        saved.settings = {**saved.settings, "receive_schedule": "every:5"}  # stored before the rule
        db.session.commit()
        assert connector_schedules(saved) == {"send": "every:30"}
        assert all(job[0] != saved.id or job[1] == "send" for job in wanted_jobs().values())
        saved.settings = {**saved.settings, "update_mode": "scheduled"}
        assert connector_schedules(saved) == {"send": "every:30", "receive": "every:5"}
        assert kind_of("csv_exchange").schedule_applies(saved.settings, "receive")
        db.session.rollback()


def test_send_everything_again_is_a_full_send(app, ctx, browser):
    b = browser("backoffice@acme.test")
    page = _page(b.get(f"/admin/connectors/details/?id={ctx['connector_id']}"))
    assert "Tout renvoyer" in page and "Réception CSV" in page
    response = b.post("/admin/connectors/run/", {"id": ctx["connector_id"], "direction": "send", "full_send": "1"})
    assert response.status_code == 302
    run_id = int(response.headers["Location"].split("id=")[1].split("&")[0])
    _wait(b, run_id)
    with app.app_context():
        assert db.session.get(SyncRun, run_id).full_send is True


def test_a_mapping_on_the_reception_screen_is_unique_both_ways(app, ctx, browser):
    _drop_samples(app)
    b = browser("backoffice@acme.test")
    b.post("/admin/csv-reception/read/", {"connector": "PART"})
    page = _page(b.post("/admin/csv-reception/map/", {"connector": "PART", "map-NOTAIRE": "A-SRV-FRAIS"}))
    assert "Code NOTAIRE : L&#39;article A-SRV-FRAIS a déjà la correspondance SRV-FRAIS." in page
    hostile = _page(b.post("/admin/csv-reception/map/", {"connector": "PART", "map-NOTAIRE": '"><script>x</script>'}))
    assert "<script>x" not in hostile and 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in hostile
    page = _page(b.get("/admin/csv-reception/?connector=PART"))
    assert 'name="map-NOTAIRE"' in page  # still without mapping
