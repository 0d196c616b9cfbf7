"""``core.bulk.fast_insert``, what the receive and the run items write through: rows over
several pages (multi-row INSERT on SQLite, COPY on PostgreSQL) come back as written,
Decimal, dates and missing columns' defaults included, and a unique key refused is the
``IntegrityError`` SQLAlchemy would raise. ``rows_read_ahead`` (the exports on
PostgreSQL) gives every row in order, raises its reader's error, and stops its reader
when its caller stops early."""
import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import literal_column, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from core.bulk import fast_insert, rows_read_ahead
from core.extensions import db
from models import Client, Connector, VatRate
from models.pending import PendingDocument

import csv_env

ROWS = 2500  # more than a page of the dialect's insertmanyvalues (1,000 rows)


def test_rows_over_several_pages_come_back_as_written(app_ctx, tenants):
    tenant = tenants["ACME"]
    fast_insert(VatRate.__table__, [{"tenant_id": tenant, "code": f"R{i:04d}", "label": f"Taux {i}",
                                     "rate": Decimal(i % 100) + Decimal("0.55")} for i in range(ROWS)])
    db.session.commit()
    rates = dict(db.session.execute(select(VatRate.code, VatRate.rate).where(VatRate.tenant_id == tenant)).all())
    assert len(rates) == ROWS and rates["R0000"] == Decimal("0.55") and rates["R2499"] == Decimal("99.55")


def test_dates_and_defaults_of_missing_columns(app_ctx, tenants):
    tenant = tenants["ACME"]
    csv_env.dossier(tenant)
    connector_id = csv_env.connector(tenant).id
    fast_insert(PendingDocument.__table__, [{"tenant_id": tenant, "connector_id": connector_id,
                                             "reference": f"F{i}", "document_date": date(2026, 11, 18),
                                             "total": Decimal("12.34")} for i in range(3)])
    db.session.commit()
    document = db.session.scalar(select(PendingDocument).where(PendingDocument.reference == "F2"))
    assert document.document_date == date(2026, 11, 18) and document.total == Decimal("12.34")
    assert (document.party_code, document.total_vat, document.content_hash) == ("", Decimal("0"), "")
    assert document.read_at is not None


def test_a_json_column_comes_back_as_written(app_ctx, tenants):
    settings = {"import_folder": "in", "depth": 2, "names": ["é", "b"]}
    fast_insert(Connector.__table__, [{"tenant_id": tenants["ACME"], "code": f"J{i}", "kind": "csv_exchange",
                                       "settings": settings} for i in range(3)])
    db.session.commit()
    connector = db.session.scalar(select(Connector).where(Connector.code == "J2"))
    assert connector.settings == settings and connector.enabled is True and connector.label == ""


def test_a_unique_key_refused_is_an_integrity_error(app_ctx, tenants):
    tenant = tenants["ACME"]
    rows = [{"tenant_id": tenant, "code": "DUP", "name": "Un"}, {"tenant_id": tenant, "code": "DUP", "name": "Deux"}]
    with pytest.raises(IntegrityError):
        fast_insert(Client.__table__, rows)
    db.session.rollback()
    assert db.session.scalar(select(Client.id).where(Client.code == "DUP")) is None


def _rates(tenant: int, count: int) -> None:
    fast_insert(VatRate.__table__, [{"tenant_id": tenant, "code": f"R{i:04d}", "label": f"Taux {i}",
                                     "rate": Decimal(i % 100)} for i in range(count)])
    db.session.commit()


def _readers() -> int:
    return sum(thread.name == "rows-read-ahead" for thread in threading.enumerate())


def test_rows_read_ahead_gives_every_row_in_order(app_ctx, tenants):
    _rates(tenants["ACME"], 2500)
    statement = select(VatRate.code, VatRate.rate).where(VatRate.tenant_id == tenants["ACME"]).order_by(VatRate.code)
    rows = list(rows_read_ahead(db.engine, statement, batch_size=300, depth=2))
    assert [tuple(row) for row in rows] == [(f"R{i:04d}", Decimal(i % 100)) for i in range(2500)]
    assert _readers() == 0


def test_rows_read_ahead_raises_the_readers_error(app_ctx, tenants):
    statement = select(literal_column("no_such_column")).select_from(VatRate.__table__)
    with pytest.raises(SQLAlchemyError):
        list(rows_read_ahead(db.engine, statement, batch_size=10))
    assert _readers() == 0


def test_rows_read_ahead_stops_its_reader_when_its_caller_stops(app_ctx, tenants):
    _rates(tenants["ACME"], 2500)
    rows = rows_read_ahead(db.engine, select(VatRate.code).order_by(VatRate.code), batch_size=100, depth=1)
    assert next(rows)[0] == "R0000"
    rows.close()  # the reader was blocked handing over a batch: it sees the stop and ends
    assert _readers() == 0
