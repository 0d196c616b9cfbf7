"""The reference field-service peer as a real process for the tests, and the dossier
its tests exchange with (clients, sites, job sites, employees, articles)."""
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import requests

from core import clock
from core.extensions import db
from exchange.base import save_connector
from models import (
    Article, ArticleFamily, ArticleMapping, Client, Employee, JobSite, ProductNature, Sector, Site, Unit, VatRate,
)

try:
    from exchange_env import REPO_ROOT, flask_env
except ImportError:  # imported from another test folder (the browser test)
    from tests.exchange.exchange_env import REPO_ROOT, flask_env

API_KEY = "cle-terrain-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PeerProcess:
    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "exchange", "peer", "field-service", "--port",
             str(self.port), "--api-key", API_KEY], cwd=REPO_ROOT, env=flask_env(app),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.post(self.url + "/_reset", timeout=1)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None:
                    raise AssertionError(self.process.stderr.read())
                time.sleep(0.1)
        raise AssertionError("the peer did not start")

    def control(self, **values):
        requests.post(self.url + "/_control", json=values, timeout=5).raise_for_status()

    def reset(self):
        requests.post(self.url + "/_reset", timeout=5).raise_for_status()

    def interventions(self, rows):
        requests.post(self.url + "/_interventions", json={"interventions": rows}, timeout=5).raise_for_status()

    def received(self) -> dict:
        return requests.get(self.url + "/_received", timeout=5).json()

    def stop(self):
        self.process.kill()
        self.process.communicate()


def make_fs_connector(tenant_id: int, url: str, code: str = "FS", api_key: str = API_KEY, **settings) -> int:
    raw = {"base_url": url, "api_key": api_key, **{name: str(value) for name, value in settings.items()}}
    connector, errors = save_connector(tenant_id, "field_service", code, f"Terrain {code}", True, raw)
    assert not errors, errors
    db.session.commit()
    return connector.id


def dossier(tenant_id: int) -> dict:
    """A small dossier whose rows sit at every edge of the send rules."""
    t = tenant_id
    add = db.session.add_all
    vat = VatRate(tenant_id=t, code="N20", label="Normal 20 %", rate=Decimal("20"))
    labour, supply = ProductNature(tenant_id=t, code="4MO-E", label="MO"), ProductNature(tenant_id=t, code="FOU",
                                                                                          label="Fourniture")
    unit = Unit(tenant_id=t, code="H", label="Heure")
    family = ArticleFamily(tenant_id=t, code="ELEC", label="Électricité")
    sector = Sector(tenant_id=t, code="NORD", label="Nord")
    add([vat, labour, supply, unit, family, sector])
    db.session.flush()
    clients = {
        "C001": Client(tenant_id=t, code="C001", name="Dupont SA", city="Lille", email="a@dupont.test"),
        "C002": Client(tenant_id=t, code="C002", name="Martin", city="Arras"),
        "C-EMPTY": Client(tenant_id=t, code="C-EMPTY", name="Sans ville", city=""),
        "C-BLANK": Client(tenant_id=t, code="C-BLANK", name="Ville blanche", city="   "),
        "C-OFF": Client(tenant_id=t, code="C-OFF", name="Désactivé", city="Douai", deactivated=True),
    }
    add(clients.values())
    db.session.flush()
    sites = {
        "S001": Site(tenant_id=t, code="S001", name="Siège", client_id=clients["C001"].id, city="Lille"),
        "S003": Site(tenant_id=t, code="S003", name="Entrepôt", client_id=clients["C002"].id),
        "S-BLANK": Site(tenant_id=t, code="S-BLANK", name="Site du client sans ville",
                        client_id=clients["C-BLANK"].id),
    }
    add(sites.values())
    db.session.flush()
    add([
        JobSite(tenant_id=t, code="CH-2026-001", name="Rénovation", client_id=clients["C001"].id,
                site_id=sites["S001"].id, sector_id=sector.id),
        JobSite(tenant_id=t, code="CH-2026-002", name="Entrepôt", client_id=clients["C002"].id,
                site_id=sites["S003"].id),
        JobSite(tenant_id=t, code="CH12", name="Chantier d'un client non envoyé", client_id=clients["C-OFF"].id),
    ])
    today = clock.today()
    add([
        Employee(tenant_id=t, code="E007", first_name="Ana", last_name="Roy", email="ana@x.test", phone="0601",
                 technician=True, hire_date=today - timedelta(days=1)),
        Employee(tenant_id=t, code="E-TODAY", first_name="Léo", last_name="Neuf", email="leo@x.test", phone="0602",
                 technician=True, hire_date=today),
        Employee(tenant_id=t, code="E-NOHIRE", last_name="Sans date", email="n@x.test", phone="0603",
                 technician=True),
        Employee(tenant_id=t, code="E-NOPHONE", last_name="Sans tel", email="p@x.test", phone=" ", technician=True,
                 hire_date=today - timedelta(days=30)),
        Employee(tenant_id=t, code="E-NOMAIL", last_name="Sans mail", phone="0604", technician=True,
                 hire_date=today - timedelta(days=30)),
        Employee(tenant_id=t, code="E-OFFICE", last_name="Bureau", email="o@x.test", phone="0605",
                 hire_date=today - timedelta(days=30)),
    ])
    articles = {
        "4MO-ELEC": Article(tenant_id=t, code="4MO-ELEC", label="Main d'oeuvre électricien", nature_id=labour.id,
                            unit_id=unit.id, vat_rate_id=vat.id, family_id=family.id, sale_price=Decimal("48")),
        "CABLE": Article(tenant_id=t, code="CABLE", label="Câble R2V 3G2,5", nature_id=supply.id,
                         vat_rate_id=vat.id, sale_price=Decimal("1.5")),
        "OLD": Article(tenant_id=t, code="OLD", label="Ancien", active=False),
    }
    add(articles.values())
    db.session.flush()
    return {"clients": clients, "sites": sites, "articles": articles, "vat": vat, "sector": sector}


def map_article(tenant_id: int, connector_id: int, article_code: str, external_code: str) -> None:
    article = db.session.query(Article).filter_by(tenant_id=tenant_id, code=article_code).one()
    db.session.add(ArticleMapping(tenant_id=tenant_id, connector_id=connector_id, article_id=article.id,
                                  external_code=external_code))
    db.session.commit()


def intervention(id_, status="VALIDATED", validated_at="2026-11-20T09:12:00+01:00", contract="CH-2026-001",
                 customer="C001", site="S001", lines=None, completed_at="2026-11-19T16:30:00+01:00"):
    return {"id": id_, "status": status, "contractId": contract, "customerId": customer, "siteId": site,
            "technicianId": "E007", "completedAt": completed_at,
            "validatedAt": validated_at if status == "VALIDATED" else None,
            "lines": lines if lines is not None else [
                {"itemId": "4MO-ELEC", "label": "Main d'oeuvre électricien", "kind": "LABOUR", "quantity": 3.5,
                 "unitPrice": 52.0},
                {"itemId": "CAB-3G25", "label": "Câble R2V 3G2,5 (m)", "kind": "SUPPLY", "quantity": 25,
                 "unitPrice": 1.86}]}
