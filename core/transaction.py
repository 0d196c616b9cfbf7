"""The one place that commits or rolls back.

Rules and engines only flush; whoever owns the unit of work ends it here: a
request or a command with ``commit`` / ``rollback``, a run item with
``document``: each document, intervention or work order of a run is committed
whole, or rolled back whole, on its own (in a dry run it is always rolled back,
so the database is left as it was and SQLite's write lock is held for one
document at a time, never for the whole run).
"""
from contextlib import contextmanager

from core.extensions import db


def commit() -> None:
    db.session.commit()


def rollback() -> None:
    db.session.rollback()


@contextmanager
def document(dry_run: bool = False):
    """One document's transaction: committed on success (rolled back in a dry run),
    rolled back on any error, which is then raised again."""
    try:
        yield db.session
        db.session.flush()
    except BaseException:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
