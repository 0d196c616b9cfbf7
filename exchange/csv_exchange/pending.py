"""What the reception screen shows and changes: the pending data of a connector as
three tables (articles, documents, parties), mapping an external code right there,
and what is waiting (the home page count and the ``at_login`` banner)."""
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.extensions import db
from exchange.csv_exchange.reception import waiting_files
from exchange.received import known
from models import Article, ArticleMapping, Client, Contact, Supplier
from models.exchange import Connector
from models.pending import PendingDocument, PendingDocumentLine, PendingParty
from rules.mappings import MappingError, map_article

NEW, KNOWN, UNMAPPED, UNKNOWN_PARTY = "new", "already_integrated", "unmapped", "unknown_party"
KIND = "csv_exchange"


@dataclass
class Overview:
    articles: list   # dicts: code, label, article (code — label) or None
    documents: list  # dicts: reference, party_code, party_name, total, status, document_date
    parties: list    # dicts: party_type, code, name, new
    files: list      # names of the files waiting in the import folder

    @property
    def unmapped(self) -> int:
        return sum(1 for article in self.articles if article["article"] is None)


def overview(connector: Connector) -> Overview:
    documents = db.session.scalars(select(PendingDocument).where(PendingDocument.connector_id == connector.id)
                                   .order_by(PendingDocument.document_date, PendingDocument.reference)).all()
    parties = db.session.scalars(select(PendingParty).where(PendingParty.connector_id == connector.id)
                                 .order_by(PendingParty.party_type, PendingParty.code)).all()
    codes_of: dict[int, set] = {}
    labels: dict[str, str] = {}
    for pending_id, code, label in db.session.execute(
            select(PendingDocumentLine.pending_document_id, PendingDocumentLine.code, PendingDocumentLine.label)
            .join(PendingDocument, PendingDocument.id == PendingDocumentLine.pending_document_id)
            .where(PendingDocument.connector_id == connector.id)
            .order_by(PendingDocument.document_date, PendingDocument.reference, PendingDocumentLine.position)):
        codes_of.setdefault(pending_id, set()).add(code)
        labels.setdefault(code, label)
    mapped = dict(db.session.execute(
        select(ArticleMapping.external_code, Article.code + " — " + Article.label)
        .join(Article, Article.id == ArticleMapping.article_id)
        .where(ArticleMapping.connector_id == connector.id, ArticleMapping.external_code.in_(list(labels)))).all()) \
        if labels else {}
    articles = [{"code": code, "label": labels[code], "article": mapped.get(code)} for code in sorted(labels)]
    received = known(connector.id, [document.reference for document in documents])
    party_codes = {document.party_code for document in documents}
    clients = set(db.session.scalars(select(Client.code).where(
        Client.tenant_id == connector.tenant_id, Client.code.in_(party_codes)))) if party_codes else set()
    clients |= {party.code for party in parties if party.party_type == "CLIENT"}
    rows = []
    for document in documents:
        if document.reference in received:
            status = KNOWN
        elif any(code not in mapped for code in codes_of.get(document.id, ())):
            status = UNMAPPED
        elif document.party_code not in clients:
            status = UNKNOWN_PARTY
        else:
            status = NEW
        rows.append({"reference": document.reference, "party_code": document.party_code,
                     "party_name": document.party_name, "total": Decimal(document.total), "status": status,
                     "document_date": document.document_date})
    return Overview(articles, rows, [{"party_type": party.party_type, "code": party.code, "name": party.name,
                                      "new": not _party_exists(connector.tenant_id, party)} for party in parties],
                    [path.name for path in waiting_files(connector)])


def _party_exists(tenant_id: int, party: PendingParty) -> bool:
    model = {"CLIENT": Client, "FOURNISSEUR": Supplier, "CONTACT": Contact}[party.party_type]
    return db.session.scalar(select(model.id).where(model.tenant_id == tenant_id, model.code == party.code)) is not None


def map_codes(connector: Connector, pairs: dict[str, str]) -> dict[str, str]:
    """Map external codes to internal article codes (``{external: article code}``; empty
    article codes are left out); flushed when there is no problem, else nothing and
    ``{external code: message}``. Unique both ways per connector."""
    errors, wanted = {}, {}
    for external, article_code in pairs.items():
        external, article_code = (external or "").strip(), (article_code or "").strip()
        if not external or not article_code:
            continue
        article = db.session.scalar(select(Article).where(Article.tenant_id == connector.tenant_id,
                                                          func.upper(Article.code) == article_code.upper()))
        if article is None:
            errors[external] = _("Unknown article: %(code)s.", code=article_code)
            continue
        taken = db.session.scalar(select(ArticleMapping.external_code).where(
            ArticleMapping.connector_id == connector.id, ArticleMapping.article_id == article.id,
            ArticleMapping.external_code != external))
        if taken:
            errors[external] = _("The article %(article)s is already mapped to the code %(code)s.",
                                 article=article.code, code=taken)
            continue
        if article.id in wanted.values():
            errors[external] = _("The article %(article)s is given to two codes.", article=article.code)
            continue
        wanted[external] = article.id
    if errors:
        return errors
    for external, article_id in wanted.items():
        try:
            map_article(connector.tenant_id, connector.id, article_id, external)  # the one mapping rule
        except MappingError as error:
            errors[external] = " ".join(str(message) for message in error.errors.values())
    return errors


def waiting_count(connector: Connector) -> int:
    """Pending documents and parties, and files waiting in the import folder."""
    pending = sum(db.session.scalar(select(func.count(model.id)).where(model.connector_id == connector.id)) or 0
                  for model in (PendingDocument, PendingParty))
    try:
        files = len(waiting_files(connector))
    except (OSError, ValueError):  # a folder gone, or moved out of the root: nothing to read there
        files = 0
    return pending + files


def connectors_waiting(tenant_id: int, modes=("at_login", "scheduled")) -> list[tuple[Connector, int]]:
    """The tenant's enabled CSV connectors of these update modes with data waiting."""
    found = []
    for connector in db.session.scalars(select(Connector).where(
            Connector.tenant_id == tenant_id, Connector.kind == KIND, Connector.enabled.is_(True))
            .order_by(Connector.code)):
        if (connector.settings or {}).get("update_mode") in modes:
            count = waiting_count(connector)
            if count:
                found.append((connector, count))
    return found
