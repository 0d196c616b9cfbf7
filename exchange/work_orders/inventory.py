"""Send products (ERP → work-order application): ``PUT /v1/inventory`` with
``{"items": [{"code", "name", "unit"}]}``, no prices, only what changed since the
last accepted send (``exchange.sent``).

The application holds at most ``PRODUCT_LIMIT`` products per account: when more
articles are eligible (active, in the product filter's families), nothing is sent and
the run fails with the count and the advice to narrow the filter; exactly the limit
is sent.
"""
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from core.extensions import db
from exchange import sent
from exchange.base import RunFailed, connector_secrets
from exchange.http import Peer
from exchange.work_orders.settings import family_codes
from models import Article, ArticleFamily, Unit

PRODUCT_LIMIT = 2500
ENTITY = "article"


def eligible_query(tenant_id: int, product_filter: str | None):
    """The eligible articles' (code, label, unit code), by code."""
    family, subfamily = aliased(ArticleFamily), aliased(ArticleFamily)
    query = (select(Article.code, Article.label, Unit.code.label("unit"))
             .outerjoin(Unit, Unit.id == Article.unit_id)
             .where(Article.tenant_id == tenant_id, Article.active.is_(True)))
    codes = family_codes(product_filter)
    if codes:
        query = (query.outerjoin(family, family.id == Article.family_id)
                 .outerjoin(subfamily, subfamily.id == Article.subfamily_id)
                 .where(or_(func.upper(family.code).in_(codes), func.upper(subfamily.code).in_(codes))))
    return query.order_by(Article.code)


def inventory_payloads(tenant_id: int, product_filter: str | None) -> dict[str, dict]:
    rows = db.session.execute(eligible_query(tenant_id, product_filter)).all()
    return {row.code: {"code": row.code, "name": row.label, "unit": row.unit or ""} for row in rows}


def send(run) -> None:
    settings = run.settings
    payloads = inventory_payloads(run.connector.tenant_id, settings.get("product_filter"))
    db.session.rollback()
    if len(payloads) > PRODUCT_LIMIT:
        raise RunFailed(_("2,500-product limit: %(count)s eligible, narrow the product filter.",
                          count=len(payloads)))
    to_send, _unchanged = sent.changed(run.connector.id, ENTITY, payloads, send_all=run.full_send)
    run.set_total(len(payloads))
    if to_send and not run.dry_run:
        peer = Peer(settings.get("base_url"), connector_secrets(run.connector).get("api_key", ""))
        peer.put("/v1/inventory", {"items": list(to_send.values())})
        sent.remember(run, ENTITY, to_send)
    for code in payloads:
        if code in to_send:
            run.item("article", code, "ok")
        else:
            run.item("article", code, "skipped", _("Unchanged since the last send."))
