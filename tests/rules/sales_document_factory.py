"""Building orders and delivery notes for tests (shared by rule and view tests)."""
from datetime import date
from decimal import Decimal

from core.extensions import db
from models import Article, Depot, NumberingSequence, ProductNature, Unit, VatRate
from models.master_data import Client


def sales_setup(tenant_id: int) -> dict:
    """A client, VAT 20 and 5.5, a labour and a supply article, a unit, a depot and the
    order (CO) and delivery note (BL) sequences; returns their ids."""
    labour = ProductNature(tenant_id=tenant_id, code="4MO01", label="Main d'oeuvre")
    supply = ProductNature(tenant_id=tenant_id, code="1FO", label="Fournitures")
    unit = Unit(tenant_id=tenant_id, code="U", label="Unité")
    depot = Depot(tenant_id=tenant_id, code="DEP1", label="Dépôt central")
    client = Client(tenant_id=tenant_id, code="C001", name="Dupont Bâtiment")
    vat20 = VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20"))
    vat55 = VatRate(tenant_id=tenant_id, code="T55", label="TVA 5,5 %", rate=Decimal("5.5"))
    db.session.add_all([labour, supply, unit, depot, client, vat20, vat55,
                        NumberingSequence(tenant_id=tenant_id, code="CDE", label="Commandes", document_type="order",
                                          prefix="CO", padding=5, next_number=1, gapless=True),
                        NumberingSequence(tenant_id=tenant_id, code="BL", label="Bons de livraison",
                                          document_type="delivery_note", prefix="BL", padding=5, next_number=1,
                                          gapless=True)])
    db.session.flush()
    work = Article(tenant_id=tenant_id, code="MO-POSE", label="Pose", nature_id=labour.id, unit_id=unit.id)
    tube = Article(tenant_id=tenant_id, code="TUBE-16", label="Tube cuivre 16", nature_id=supply.id, unit_id=unit.id)
    db.session.add_all([work, tube])
    db.session.flush()
    return {"client": client.id, "vat20": vat20.id, "vat55": vat55.id, "unit": unit.id, "depot": depot.id,
            "labour_article": work.id, "supply_article": tube.id}


def sample_lines(setup: dict) -> list[dict]:
    return [
        {"article_id": setup["labour_article"], "label": "Pose", "quantity": Decimal("2"),
         "unit_price": Decimal("45.50"), "vat_rate_id": setup["vat20"], "unit_id": setup["unit"]},
        {"article_id": setup["supply_article"], "label": "Tube <b>cuivre</b>", "quantity": Decimal("3.5"),
         "unit_price": Decimal("10.01"), "vat_rate_id": setup["vat55"], "unit_id": setup["unit"]},
    ]


def make_document(document_type: str, tenant_id: int, setup: dict, reference: str | None = None,
                  document_date: date = date(2026, 11, 30)):
    from rules.sales_documents import create_sales_document
    return create_sales_document(document_type, tenant_id, client_id=setup["client"], document_date=document_date,
                                 lines=sample_lines(setup), depot_id=setup["depot"], payment_method="VIREMENT",
                                 external_reference=reference, origin="csv:PART" if reference else "manual")
