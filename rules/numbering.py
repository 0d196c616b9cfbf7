"""Numbering sequences: formatting and taking the next number.

``take_next_number`` is one ``UPDATE … RETURNING`` on the sequence row: on
PostgreSQL it holds the row lock, on SQLite the database write lock, until the
caller's transaction ends, so numbers taken inside the transaction that uses them
(invoice validation) are unique, gapless and in order even under concurrency —
a rolled-back transaction gives its number back.
"""
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from core.extensions import db
from models import NumberingSequence


class NumberingError(ValueError):
    pass


@dataclass(frozen=True)
class TakenNumber:
    sequence_id: int
    number: int
    formatted: str


def format_number(prefix: str, padding: int, number: int) -> str:
    return f"{prefix or ''}{number:0{padding or 0}d}"


def find_sequence(tenant_id: int, document_type: str, establishment_id: int | None = None) -> NumberingSequence:
    """The sequence of a document type for an establishment, else the tenant-wide one."""
    candidates = db.session.execute(
        select(NumberingSequence).where(
            NumberingSequence.tenant_id == tenant_id, NumberingSequence.document_type == document_type,
            func.coalesce(NumberingSequence.establishment_id, 0).in_([establishment_id or 0, 0]),
        )
    ).scalars().all()
    for sequence in sorted(candidates, key=lambda s: s.establishment_id is None):
        return sequence
    raise NumberingError(_("No numbering sequence is defined for the document type %(type)s.", type=document_type))


def take_next_number(sequence_id: int) -> TakenNumber:
    """Take the next number of a sequence inside the caller's transaction (see module doc)."""
    statement = (
        update(NumberingSequence)
        .where(NumberingSequence.id == sequence_id)
        .values(next_number=NumberingSequence.next_number + 1,
                highest_number_used=NumberingSequence.next_number)
        .returning(NumberingSequence.highest_number_used, NumberingSequence.prefix, NumberingSequence.padding)
        .execution_options(synchronize_session=False)
    )
    number, prefix, padding = db.session.execute(statement).one()
    return TakenNumber(sequence_id, number, format_number(prefix, padding, number))
