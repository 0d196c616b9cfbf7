"""A table as a spreadsheet: its columns (field names, headers, cell kinds) and its rows
read from the database in batches. Relations are shown, and read back, by code."""
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, cast, inspect
from sqlalchemy.orm import aliased

from core.bulk import rows_read_ahead
from core.extensions import db
from core.glossary import label_of
from spreadsheets import xlsx


@dataclass(frozen=True)
class Field:
    """One exported column: a model column, or a relation given by its target's code."""

    name: str
    relation: bool
    kind: str

    @property
    def column(self) -> xlsx.Column:
        return xlsx.Column(str(label_of(self.name)), self.kind)


def _kind(column) -> str:
    kind = column.type
    if isinstance(kind, Boolean):
        return xlsx.BOOLEAN
    if isinstance(kind, DateTime):
        return xlsx.DATETIME
    if isinstance(kind, Date):
        return xlsx.DATE
    if isinstance(kind, Numeric):
        return xlsx.MONEY if (kind.scale or 0) <= 2 else xlsx.DECIMAL
    if isinstance(kind, Integer):
        return xlsx.INTEGER
    return xlsx.TEXT


def fields_of(model, names) -> list[Field]:
    mapper = inspect(model)
    fields = []
    for name in names:
        if name in mapper.relationships:
            fields.append(Field(name, True, xlsx.TEXT))
        else:
            fields.append(Field(name, False, _kind(mapper.columns[name])))
    return fields


def select_columns(query, model, fields: list[Field]):
    """Turn an ORM query on ``model`` (already filtered and sorted) into a query of the
    export's plain values, joining each relation once to read its code. Decimal columns
    are read as doubles: an XLSX number is one (``xlsx`` would convert each ``Decimal``)."""
    mapper = inspect(model)
    entities, joins = [], []
    for field in fields:
        if field.relation:
            relationship = mapper.relationships[field.name]
            target = aliased(relationship.mapper.class_)
            (local, remote), = relationship.local_remote_pairs
            entities.append(target.code)
            joins.append((target, local == getattr(target, remote.key)))
        elif field.kind in (xlsx.MONEY, xlsx.DECIMAL):
            entities.append(cast(getattr(model, field.name), Float).label(field.name))
        else:
            entities.append(getattr(model, field.name))
    query = query.with_entities(*entities)
    for target, condition in joins:
        query = query.outerjoin(target, condition)
    return query


def stream_rows(query, batch_size: int) -> Iterator[tuple]:
    """Rows of ``query`` fetched ``batch_size`` at a time. On PostgreSQL from a server-side
    cursor read ahead by a thread (``core.bulk.rows_read_ahead``): the database makes the
    next rows while these are written (P2: it was idle meanwhile, and the writer waited
    on each batch)."""
    if db.engine.dialect.name == "postgresql":
        yield from rows_read_ahead(db.engine, query.statement, batch_size)
        return
    result = db.session.execute(query.statement.execution_options(yield_per=batch_size))
    for partition in result.partitions():
        yield from partition
