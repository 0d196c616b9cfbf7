"""Orders and delivery notes: created as drafts, numbered on creation from their
sequences (document types ``order`` / ``delivery_note``), totals by the invoices' rule.

Flush only: the caller's transaction (``core.transaction``) commits, so a number taken
here is given back when the creation is rolled back.
"""
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from models import Article, ProductNature, VatRate
from models.sales_documents import SALES_DOCUMENT_MODELS
from rules.invoices import compute_totals
from rules.master_data import article_kind, labour_nature_prefix
from rules.numbering import find_sequence, take_next_number

SALES_DOCUMENT_TYPES = tuple(SALES_DOCUMENT_MODELS)


class SalesDocumentError(ValueError):
    """A sales document refused, with the message for the user."""


def article_kinds(tenant_id: int, article_ids: Iterable[int | None]) -> dict[int, str]:
    """``{article_id: "labour" | "supply"}`` for the tenant's articles, in one query."""
    wanted = {article_id for article_id in article_ids if article_id is not None}
    if not wanted:
        return {}
    prefix = labour_nature_prefix(tenant_id)
    rows = db.session.execute(
        select(Article.id, ProductNature.code).outerjoin(ProductNature, ProductNature.id == Article.nature_id)
        .where(Article.tenant_id == tenant_id, Article.id.in_(wanted))
    ).all()
    return {article_id: article_kind(nature_code, prefix) for article_id, nature_code in rows}


def create_sales_document(document_type: str, tenant_id: int, *, client_id: int, document_date: date,
                          lines: list[dict], establishment_id: int | None = None,
                          depot_id: int | None = None, payment_method: str = "",
                          external_reference: str | None = None, origin: str = "manual",
                          site_id: int | None = None):
    """Create a draft order or delivery note, numbered now, with its lines and totals.

    ``lines``: dicts with ``article_id``, ``label``, ``quantity``, ``unit_price`` (Decimal),
    ``vat_rate_id``, ``unit_id`` (``kind`` from the article's nature unless given).
    Raises ``SalesDocumentError`` (unknown type) or ``rules.numbering.NumberingError``
    (no sequence for the type). Returns the flushed document.
    """
    if document_type not in SALES_DOCUMENT_MODELS:
        raise SalesDocumentError(_("Unknown document type: %(type)s.", type=document_type))
    if client_id is None:
        raise SalesDocumentError(_("A client is required."))
    header_class, line_class = SALES_DOCUMENT_MODELS[document_type]
    sequence = find_sequence(tenant_id, document_type, establishment_id)
    taken = take_next_number(sequence.id, document_date)
    kinds = article_kinds(tenant_id, (line.get("article_id") for line in lines))
    rate_ids = {line.get("vat_rate_id") for line in lines} - {None}
    rates = {rate.id: rate for rate in db.session.execute(
        select(VatRate).where(VatRate.tenant_id == tenant_id, VatRate.id.in_(rate_ids))).scalars()} if rate_ids else {}
    document = header_class(
        tenant_id=tenant_id, number=taken.formatted, state="draft", document_date=document_date,
        client_id=client_id, site_id=site_id, establishment_id=establishment_id, depot_id=depot_id,
        payment_method=payment_method or "", origin=origin, external_reference=external_reference,
        numbering_sequence_id=sequence.id, sequence_number=taken.number,
    )
    for position, values in enumerate(lines, start=1):
        vat_rate_id = values.get("vat_rate_id")
        line = line_class(
            tenant_id=tenant_id, position=values.get("position") or position,
            article_id=values.get("article_id"), label=values.get("label") or "",
            kind=values.get("kind") or kinds.get(values.get("article_id"), "supply"),
            quantity=Decimal(values.get("quantity") if values.get("quantity") is not None else 1),
            unit_price=Decimal(values.get("unit_price") or 0),
            vat_rate_id=vat_rate_id, unit_id=values.get("unit_id"),
        )
        line.vat_rate = rates.get(vat_rate_id)
        document.lines.append(line)
    compute_totals(document)
    db.session.add(document)
    db.session.flush()
    return document
