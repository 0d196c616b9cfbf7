"""What the CSV exchange tests share: a dossier ready to receive (families, depot, VAT
rates, sequences, articles), a connector of the kind, files dropped in its folder."""
import shutil
from decimal import Decimal
from pathlib import Path

from flask import current_app

from core.extensions import db
from exchange.base import save_connector
from models import (Article, ArticleMapping, ClientFamily, Depot, NumberingSequence, SupplierFamily, Unit,
                    VatRate)

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples" / "csv_exchange"
DOCUMENTS_HEADER = "Reference;Date;CodeTiers;NomTiers;ModeReglement;NumLigne;CodeArticle;Libelle;Quantite;PrixUnitaireHT;TauxTVA"
PARTIES_HEADER = "Type;Code;Nom;Adresse;CodePostal;Ville;Email;Telephone;CodeParent"
SAMPLE_CODES = ("SRV-FRAIS", "LEG-DOC", "MSG-INT", "NOTAIRE")


def dossier(tenant_id: int, mapped=SAMPLE_CODES) -> dict:
    """Families CLI / FRN, depot DEP1, VAT 20 and 0, sequences CO / BL, one article per
    sample code (``A-<code>``), those of ``mapped`` mapped to their sample code."""
    unit = Unit(tenant_id=tenant_id, code="U", label="Unité")
    db.session.add_all([
        unit, ClientFamily(tenant_id=tenant_id, code="CLI", label="Clients partenaire"),
        ClientFamily(tenant_id=tenant_id, code="OLD", label="Ancienne famille"),
        SupplierFamily(tenant_id=tenant_id, code="FRN", label="Fournisseurs partenaire"),
        Depot(tenant_id=tenant_id, code="DEP1", label="Dépôt central"),
        VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20")),
        VatRate(tenant_id=tenant_id, code="T0", label="Exonéré", rate=Decimal("0")),
        NumberingSequence(tenant_id=tenant_id, code="CDE", label="Commandes", document_type="order", prefix="CO",
                          padding=5, next_number=1),
        NumberingSequence(tenant_id=tenant_id, code="BL", label="Bons de livraison", document_type="delivery_note",
                          prefix="BL", padding=5, next_number=1)])
    db.session.flush()
    articles = {}
    for code in SAMPLE_CODES:
        article = Article(tenant_id=tenant_id, code=f"A-{code}", label=f"Article {code}", unit_id=unit.id,
                          sale_price=Decimal("10"))
        db.session.add(article)
        db.session.flush()
        articles[code] = article.id
    return {"articles": articles, "unit": unit.id}


def map_codes(tenant_id: int, connector_id: int, articles: dict, codes) -> None:
    for code in codes:
        db.session.add(ArticleMapping(tenant_id=tenant_id, connector_id=connector_id, article_id=articles[code],
                                      external_code=code))
    db.session.flush()


def mapped_connector(tenant_id: int):
    """The dossier, its connector and every sample code mapped (not committed)."""
    setup = dossier(tenant_id)
    made = connector(tenant_id)
    map_codes(tenant_id, made.id, setup["articles"], SAMPLE_CODES)
    return made


def connector(tenant_id: int, code="PART", folder="partner/in", **settings):
    raw = {"import_folder": folder, "export_folder": folder.rsplit("/", 1)[0] + "/out", "depot": "DEP1",
           "client_family": "CLI", "supplier_family": "FRN", "document_type": "delivery_note",
           "articles_mode": "exportable_only", "clients_mode": "all", "update_mode": "manual", **settings}
    saved, errors = save_connector(tenant_id, "csv_exchange", code, f"Partenaire {code}", True, raw)
    assert not errors, errors
    return saved


def folder(relative="partner/in") -> Path:
    path = Path(current_app.config["EXCHANGE_ROOT"]) / relative
    path.mkdir(parents=True, exist_ok=True)
    return path


def drop_samples(relative="partner/in") -> Path:
    target = folder(relative)
    for sample in SAMPLES.iterdir():
        shutil.copy(sample, target / sample.name)
    return target


def documents_file(rows, header=DOCUMENTS_HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def clean_root(app) -> None:
    """An empty EXCHANGE_ROOT (the app, and so its root, is shared by the whole session)."""
    root = Path(app.config["EXCHANGE_ROOT"])
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
