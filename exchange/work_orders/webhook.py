"""One work order delivered by webhook → one short run (trigger ``webhook``, no lease,
several at once) → one draft invoice, or the refusal in the run's report.

``deliver`` is what the view calls once the connector is found and the token (and
signature) checked: it starts the run, performs it with the body at hand (the kind's
``receive`` engine reads it from ``DELIVERY``), and answers ``(HTTP status, body)``:

- 201 ``{"invoice_id": N, "status": "created"}``;
- 200 ``{"invoice_id": N, "status": "already_received"}`` when the work order's id was
  received before — also when two deliveries of one id race: the unique key
  (connector, id) of ``ReceivedDocument``, claimed first in the invoice's transaction,
  lets one through; the other waits for it, is rolled back whole and answers with the
  first one's invoice;
- 422 ``{"errors": [{"field": "users[1]", "message": "…"}]}`` with every problem
  (nothing created; the run ends ``failed`` with one ``error`` item listing them all).
"""
import hashlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from core.extensions import db
from exchange import received, runs
from exchange.base import ItemError, RunFailed
from exchange.work_orders import drafts
from exchange.work_orders.payload import Problems, decode, parse, work_order_id
from models import Connector, Tenant

logger = logging.getLogger(__name__)
KIND = "work_orders"
ITEM_TYPE = "work_order"
WEBHOOK_ACTOR = (None, "webhook")


@dataclass
class Delivery:
    body: bytes = b""
    refusal: str = ""             # refused before reading (too large): recorded, nothing parsed
    status: int = 500
    answer: dict = field(default_factory=lambda: {"errors": [{"field": "", "message": _(
        "Unexpected error: the work order was not integrated; post it again.")}]})

    def answered(self, status: int, answer: dict) -> None:
        self.status, self.answer = status, answer


DELIVERY: ContextVar[Delivery | None] = ContextVar("work_order_delivery", default=None)


def find_connector(tenant_code: str, connector_code: str) -> Connector | None:
    """The enabled work-order connector ``connector_code`` of tenant ``tenant_code``, else None
    (an unknown tenant and an unknown or disabled connector look the same from outside)."""
    if not (tenant_code or "").strip() or not (connector_code or "").strip():
        return None
    if len(tenant_code) > 40 or len(connector_code) > 40:
        return None
    return db.session.scalars(
        select(Connector).join(Tenant, Tenant.id == Connector.tenant_id)
        .where(func.upper(Tenant.code) == tenant_code.strip().upper(),
               func.upper(Connector.code) == connector_code.strip().upper(),
               Connector.kind == KIND, Connector.enabled.is_(True))).first()


def deliver(connector: Connector, body: bytes = b"", refusal: str = "") -> tuple[int, dict]:
    """Integrate one delivery in its own run; ``(HTTP status, JSON body)``. A database that
    cannot record the run (down, or locked too long) answers 503: the sender posts again."""
    delivery = Delivery(body=body, refusal=refusal)
    token = DELIVERY.set(delivery)
    try:
        run_id = runs.start(connector, "receive", trigger="webhook", user_email=WEBHOOK_ACTOR[1])
        runs.perform(run_id, WEBHOOK_ACTOR)
    except SQLAlchemyError:
        logger.warning("work order delivery to connector %s: the database is unavailable", connector.id,
                       exc_info=True)
        db.session.rollback()
        return 503, {"errors": [{"field": "", "message": _("The database is busy: post the work order again "
                                                           "in a moment.")}]}
    finally:
        DELIVERY.reset(token)
    return delivery.status, delivery.answer


def _refuse(run, delivery: Delivery, identifier: str, problems: Problems, status: int = 422):
    delivery.answered(status, {"errors": list(problems)})
    text = "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
    run.item(ITEM_TYPE, identifier, "error", text)
    raise RunFailed(ngettext("Work order %(id)s refused: %(num)s problem (see the report).",
                             "Work order %(id)s refused: %(num)s problems (see the report).",
                             len(problems), id=identifier, num=len(problems)))


def _already(delivery: Delivery, record) -> None:
    delivery.answered(200, {"invoice_id": record.document_id, "status": "already_received"})


def receive(run) -> None:
    """The kind's receive engine: integrates the delivery at hand; a manual run has none."""
    delivery = DELIVERY.get()
    if delivery is None:
        raise RunFailed(_("Work orders arrive by webhook, one run per work order: there is nothing to fetch."))
    run.set_total(1)
    if delivery.refusal:
        problems = Problems()
        problems.add("", delivery.refusal)
        _refuse(run, delivery, "?", problems, status=413)
    connector = run.connector
    tenant_id = connector.tenant_id
    document, problems = decode(delivery.body)
    identifier = work_order_id(document) or "?"
    if identifier != "?":
        record = received.known(connector.id, [identifier]).get(identifier)
        if record is not None:
            run.item(ITEM_TYPE, identifier, "skipped", _("Already integrated."))
            return _already(delivery, record)
    work_order = None
    if document is not None:
        work_order, problems = parse(document, problems)
    plan = None
    if work_order is not None:
        plan = drafts.price(tenant_id, run.settings, work_order, problems)
        taken = drafts.number_taken(tenant_id, work_order.number)
        if taken:
            problems.add("number", _("Another work order with this number is already invoiced (draft #%(id)s).",
                                     id=taken))
    if problems:
        db.session.rollback()
        _refuse(run, delivery, identifier, problems)
    created = {}
    with run.document(ITEM_TYPE, identifier) as outcome:
        record = received.claim(run, identifier, "invoice", hashlib.sha256(delivery.body).hexdigest())
        match = drafts.resolve_client(run, work_order.customer)
        try:
            with db.session.begin_nested():
                invoice = drafts.create_invoice(run, work_order, plan, match.client)
        except IntegrityError:
            raise ItemError(_("Another work order with this number is already invoiced."))
        record.document_id = invoice.id
        created["id"] = invoice.id
        message = " ".join(filter(None, (match.note, _("Draft invoice #%(id)s for client %(client)s.",
                                                        id=invoice.id, client=match.client.code))))
        if match.warning:
            outcome.warn(f"{match.warning} {message}")
        else:
            outcome.message = message
    if created:
        return delivery.answered(201, {"invoice_id": created["id"], "status": "created"})
    db.session.rollback()
    record = received.known(connector.id, [identifier]).get(identifier)
    if record is not None:  # another delivery of this id integrated it first
        return _already(delivery, record)
    problems = Problems()
    problems.add("number", _("Another work order with this number is already invoiced."))
    delivery.answered(422, {"errors": list(problems)})
    raise RunFailed(_("Work order %(id)s refused: another work order with this number is already invoiced.",
                      id=identifier))
