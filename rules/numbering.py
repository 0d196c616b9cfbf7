"""Numbering sequences: formatting and taking the next number.

``take_next_number`` is one ``UPDATE … RETURNING`` on the sequence row: on
PostgreSQL it holds the row lock, on SQLite the database write lock, until the
caller's transaction ends, so numbers taken inside the transaction that uses them
(invoice validation) are unique, gapless and in order even under concurrency —
a rolled-back transaction gives its number back.
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update

from core.extensions import db
from models import NumberingSequence


class NumberingError(ValueError):
    pass


@dataclass(frozen=True)
class TakenNumber:
    sequence_id: int
    number: int
    formatted: str
    last_document_date: date | None = None

    def out_of_order(self, document_date: date | None) -> bool:
        """True when an earlier-taken number carries a later date than ``document_date``."""
        return bool(document_date and self.last_document_date and self.last_document_date > document_date)


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


def take_next_number(sequence_id: int, document_date: date | None = None) -> TakenNumber:
    """Take the next number of a sequence inside the caller's transaction (see module doc).

    With a ``document_date``, the sequence also keeps the latest date numbered so far,
    in the same statement: ``out_of_order`` then tells a document dated before it.
    """
    values = {"next_number": NumberingSequence.next_number + 1,
              "highest_number_used": NumberingSequence.next_number}
    if document_date is not None:
        last = NumberingSequence.last_document_date
        values["last_document_date"] = case(
            (or_(last.is_(None), last <= document_date), document_date), else_=last)
    statement = (
        update(NumberingSequence).where(NumberingSequence.id == sequence_id).values(**values)
        .returning(NumberingSequence.highest_number_used, NumberingSequence.prefix, NumberingSequence.padding,
                   NumberingSequence.last_document_date)
        .execution_options(synchronize_session=False)
    )
    number, prefix, padding, last_date = db.session.execute(statement).one()
    return TakenNumber(sequence_id, number, format_number(prefix, padding, number), last_date)
