"""A dossier ready for work orders (articles, rates, employees, a connector) and the
helpers to post one to the webhook."""
import base64
import copy
import json
from decimal import Decimal
from pathlib import Path

from core.extensions import db
from exchange.base import save_connector
from exchange.work_orders.security import signature_header
from models import Article, Client, Employee, Unit, VatRate

SAMPLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples" / "work_orders" / "workorder.json"
TOKEN = "inbound-token-0123456789"
SECRET = "signing-secret-abcdef"


def sample() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def work_order(**changes) -> dict:
    document = copy.deepcopy(sample())
    document.update(changes)
    return document


def set_up_dossier(tenant_id: int, connector_code: str = "WO", **settings) -> int:
    """Articles, VAT, units, employees of the sample, and a work-order connector; its id."""
    vat = VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20"))
    units = {code: Unit(tenant_id=tenant_id, code=code, label=code) for code in ("U", "H", "KM")}
    db.session.add_all([vat, *units.values()])
    db.session.flush()
    for code, label, price, unit in (("FILT-G4", "Filtre G4", "12.50", "U"),
                                     ("GAZ-R32-1KG", "Gaz R32 (kg)", "40.00", "U"),
                                     ("MO", "Main-d'œuvre", None, "H"),
                                     ("KM", "Déplacement", "0.50", "KM"),
                                     ("KM2", "Frais kilométriques", None, "KM")):
        db.session.add(Article(tenant_id=tenant_id, code=code, label=label,
                               sale_price=Decimal(price) if price else None, vat_rate_id=vat.id,
                               unit_id=units[unit].id))
    db.session.add(Employee(tenant_id=tenant_id, code="E01", first_name="Karim", last_name="Benali",
                            email="Karim@Installateur.example", billable_hourly_rate=Decimal("55.00")))
    db.session.add(Employee(tenant_id=tenant_id, code="E02", first_name="Lea", last_name="DUBOIS",
                            email="", billable_hourly_rate=Decimal("48.00")))
    db.session.flush()
    raw = {"base_url": "http://127.0.0.1:9", "inbound_token": TOKEN, "labour_article": "MO",
           "mileage_rate": "0,45", "mileage_article": "KM", **settings}
    connector, errors = save_connector(tenant_id, "work_orders", connector_code, "Bons de travail", True, raw)
    assert not errors, errors
    db.session.commit()
    return connector.id


def body_of(document) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document, ensure_ascii=False).encode("utf-8")


def post(client, document, tenant="ACME", connector="WO", token=TOKEN, secret=None, timestamp=None,
         headers=None):
    body = body_of(document)
    sent = {"Content-Type": "application/json"}
    if token is not None:
        sent["X-Api-Key"] = token
    if secret is not None:
        sent["X-Signature"] = signature_header(secret, body, timestamp)
    sent.update(headers or {})
    return client.post(f"/hooks/work-orders/{tenant}/{connector}", data=body, headers=sent)


def attachment(size: int, name: str = "scan.pdf", kind: str = "certificate") -> dict:
    return {"kind": kind, "fileName": name, "contentBase64": base64.b64encode(b"%" * size).decode("ascii")}


def add_client(app, tenant_id: int, code: str, name: str, **values) -> int:
    with app.app_context():
        client = Client(tenant_id=tenant_id, code=code, name=name, **values)
        db.session.add(client)
        db.session.commit()
        return client.id
