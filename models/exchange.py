"""Exchanges: connectors, their runs (with the lease that keeps one run at a time) and
the items of each run's report.

A connector is a tenant's row (audited field by field, its secrets masked). Runs
and items are written in bulk by ``exchange.runs``; they carry ``tenant_id`` but
are not ``TenantScoped`` so that the audit log records one entry per run, not one
per field of every item.

``SyncRun.lease_key`` is ``"<connector id>:<direction>"`` while a run holds the
lease and NULL otherwise; its unique constraint is what makes a second run of the
same connector and direction impossible, across processes, on SQLite and
PostgreSQL alike (NULLs repeat freely).

``ReceivedDocument`` is the idempotency record of every received document (a CSV
document, an intervention, a work order): its unique key per connector is what
integrates a document once, even when two processes receive it at the same moment
(see ``exchange.received``). ``SentRecord`` is its mirror for sends: the fingerprint
of each row as last accepted by the peer, so that a send carries only what changed
(see ``exchange.sent``). ``ArticleMapping`` pairs an internal article with a
connector's external code, unique both ways per connector.
"""
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from core.extensions import db
from models.base import TenantScoped, utcnow

DIRECTIONS = ("send", "receive")
TRIGGERS = ("manual", "scheduled", "login", "webhook", "command")
RUN_STATUSES = ("running", "success", "partial", "failed", "refused")  # refused: see exchange.runs.record_refused
ITEM_STATES = ("ok", "skipped", "warning", "error")
ITEM_TYPES = ("file", "client", "site", "job_site", "employee", "article", "document", "intervention",
              "work_order", "party")


class Connector(TenantScoped, db.Model):
    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    __audit_masked__ = ("secrets",)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secrets: Mapped[str | None] = mapped_column(Text, nullable=True)  # Fernet token (core.crypto)
    # The normalised import folder, unique over every tenant: two connectors never read one folder.
    import_folder: Mapped[str | None] = mapped_column(String(500), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __str__(self) -> str:
        return f"{self.code} — {self.label}" if self.label else self.code


class SyncRun(db.Model):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_connector_started", "connector_id", "started_at"),
                      Index("ix_sync_runs_tenant_started", "tenant_id", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(10))
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    status: Mapped[str] = mapped_column(String(10), default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    user_email: Mapped[str] = mapped_column(String(254), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    lease_key: Mapped[str | None] = mapped_column(String(60), nullable=True, unique=True)
    lease_owner: Mapped[str] = mapped_column(String(100), default="")
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    total: Mapped[int | None] = mapped_column(Integer)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    ok_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    retry_of_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    full_send: Mapped[bool] = mapped_column(Boolean, default=False)  # *Tout renvoyer*: unchanged rows too

    connector: Mapped[Connector] = relationship()
    retry_of: Mapped["SyncRun | None"] = relationship(remote_side=[id])

    @property
    def code(self) -> str:
        return f"#{self.id}"

    def __str__(self) -> str:
        return f"#{self.id}"


class SyncRunItem(db.Model):
    __tablename__ = "sync_run_items"
    __table_args__ = (Index("ix_sync_run_items_run_state", "run_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    batch: Mapped[str] = mapped_column(String(250), default="")  # file or batch name
    type: Mapped[str] = mapped_column(String(20))
    identifier: Mapped[str] = mapped_column(String(250), default="")
    state: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReceivedDocument(db.Model):
    __tablename__ = "received_documents"
    __table_args__ = (UniqueConstraint("connector_id", "external_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    external_key: Mapped[str] = mapped_column(String(200))       # the peer's id of the document
    document_type: Mapped[str] = mapped_column(String(20))       # invoice, order, delivery_note…
    document_id: Mapped[int | None] = mapped_column(Integer)     # the row created for it
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SentRecord(db.Model):
    __tablename__ = "sent_records"
    __table_args__ = (UniqueConstraint("connector_id", "entity_type", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # the connector's tenant: no index nor foreign key of its own (every read goes by
    # connector, whose tenant the connectors table checks; a big send writes 70,000 rows)
    tenant_id: Mapped[int]
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    entity_type: Mapped[str] = mapped_column(String(20))     # client, site, job_site, employee, article…
    external_id: Mapped[str] = mapped_column(String(200))    # the id the peer knows the row by
    content_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ArticleMapping(TenantScoped, db.Model):
    __tablename__ = "article_mappings"
    __table_args__ = (UniqueConstraint("connector_id", "article_id"),
                      UniqueConstraint("connector_id", "external_code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    external_code: Mapped[str] = mapped_column(String(80))

    connector: Mapped[Connector] = relationship()
    # ``Article.mappings``: the article's codes per connector (edited on the article's form)
    article = relationship("Article", backref=backref(
        "mappings", cascade="all, delete-orphan", passive_deletes=True, order_by="ArticleMapping.id"))
    __audit_parent__ = "article"

    def __str__(self) -> str:
        return self.external_code


class ExchangeWatermark(db.Model):
    """Where a connector's next receive starts (``field_service``: the ``validatedSince``
    of the interventions), written on its own connection at the end of a run."""
    __tablename__ = "exchange_watermarks"
    __table_args__ = (UniqueConstraint("connector_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[datetime | None] = mapped_column(DateTime)    # naive UTC
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
