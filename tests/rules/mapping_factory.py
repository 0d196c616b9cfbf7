"""Connectors and articles for the article-mapping tests (rules and screens)."""
from core.extensions import db
from models import Article, ArticleFamily
from models.exchange import Connector


def mapping_setup(tenant_id: int, articles: int = 4) -> dict:
    """Two connectors (PART, AUTRE), a family FAM and articles A1…An; returns their ids."""
    family = ArticleFamily(tenant_id=tenant_id, code="FAM", label="Famille")
    part = Connector(tenant_id=tenant_id, code="PART", label="Partenaire", kind="test", settings={})
    other = Connector(tenant_id=tenant_id, code="AUTRE", label="Autre", kind="test", settings={})
    db.session.add_all([family, part, other])
    db.session.flush()
    rows = [Article(tenant_id=tenant_id, code=f"A{n}", label=f"Article {n}", family_id=family.id if n % 2 else None,
                    available_for_export=n != articles) for n in range(1, articles + 1)]
    db.session.add_all(rows)
    db.session.flush()
    return {"part": part.id, "other": other.id, "family": family.id,
            "articles": {row.code: row.id for row in rows}}
