"""Numbering sequences: formatting and taking the next number.

``take_next_number`` is one ``UPDATE … RETURNING`` on the sequence row: on
PostgreSQL it holds the row lock, on SQLite the database write lock, until the
caller's transaction ends, so numbers taken inside the transaction that uses them
(invoice validation) are unique, gapless and in order even under concurrency —
a rolled-back transaction gives its number back.
"""
from dataclasses import dataclass
from functools import cache
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Date, Integer, Text, bindparam, case, cast, func, or_, select, true, update
from sqlalchemy.orm import aliased

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


def chosen_sequence_id(tenant_id, document_type, establishment_id):
    """SQL: the id of the sequence of a document type for an establishment, else of the
    tenant-wide one. The arguments are values or columns: correlated to a document's
    columns, it picks the document's sequence in the query that loads it."""
    candidate = aliased(NumberingSequence, name="candidate")  # not the sequence a query may join
    return (select(candidate.id)
            .where(candidate.tenant_id == tenant_id, candidate.document_type == document_type,
                   or_(candidate.establishment_id == establishment_id, candidate.establishment_id.is_(None)))
            .order_by(candidate.establishment_id.is_(None)).limit(1).correlate_except(candidate).scalar_subquery())


def no_sequence_message(document_type: str) -> str:
    return _("No numbering sequence is defined for the document type %(type)s.", type=document_type)


def find_sequence(tenant_id: int, document_type: str, establishment_id: int | None = None) -> NumberingSequence:
    """The sequence of a document type for an establishment, else the tenant-wide one."""
    sequence = db.session.execute(select(NumberingSequence).where(
        NumberingSequence.id == chosen_sequence_id(tenant_id, document_type, establishment_id))).scalar_one_or_none()
    if sequence is None:
        raise NumberingError(no_sequence_message(document_type))
    return sequence


def take_next_number(sequence_id: int, document_date: date | None = None) -> TakenNumber:
    """Take the next number of a sequence inside the caller's transaction (see module doc).

    With a ``document_date``, the sequence also keeps the latest date numbered so far,
    in the same statement: ``out_of_order`` then tells a document dated before it.
    """
    parameters = {"sequence_id": sequence_id}
    if document_date is not None:
        parameters["document_date"] = document_date
    number, prefix, padding, last_date = db.session.connection().execute(
        _take_statement(document_date is not None), parameters).one()
    return TakenNumber(sequence_id, number, format_number(prefix, padding, number), last_date)


@cache
def _take_statement(with_date: bool):
    """The ``UPDATE … RETURNING`` built once, a Core statement: the shortest path to the
    lock and out of it."""
    table = NumberingSequence.__table__
    document_date = bindparam("document_date", type_=Date) if with_date else None
    return (update(table).where(table.c.id == bindparam("sequence_id")).values(**_taken_values(document_date))
            .returning(table.c.highest_number_used, table.c.prefix, table.c.padding, table.c.last_document_date))


def _taken_values(document_date=None) -> dict:
    """What taking a number sets on its sequence row: the next number, the highest used
    and, with a document date, the latest date numbered."""
    table = NumberingSequence.__table__
    values = {"next_number": table.c.next_number + 1, "highest_number_used": table.c.next_number}
    if document_date is not None:
        last = table.c.last_document_date
        values["last_document_date"] = case((or_(last.is_(None), last <= document_date), document_date), else_=last)
    return values


@cache
def taken_cte():
    """PostgreSQL: the ``UPDATE … RETURNING`` of ``take_next_number`` (with a document date)
    as a CTE, for a statement that writes the number where it is used, under the lock, in
    the same round trip (an invoice's validation). It returns the number, formatted in SQL
    as ``format_number`` does (the prefix, then the number padded with zeros, never cut),
    the latest date numbered, and ``acceptable``: the document date not before it and the
    formatted number at most ``max_length`` characters long (the two refusals that need
    the number)."""
    table = NumberingSequence.__table__
    document_date = bindparam("document_date", type_=Date)
    last, number = table.c.last_document_date, table.c.highest_number_used
    digits = cast(number, Text)
    formatted = func.coalesce(table.c.prefix, "") + func.lpad(
        digits, func.greatest(func.coalesce(table.c.padding, 0), func.length(digits)), "0")
    acceptable = func.coalesce(last <= document_date, true()) & (
        func.length(formatted) <= bindparam("max_length", type_=Integer))
    return (update(table).where(table.c.id == bindparam("sequence_id")).values(**_taken_values(document_date))
            .returning(number.label("number"), formatted.label("formatted"), last.label("last_document_date"),
                       acceptable.label("acceptable"))
            .cte("taken"))
