"""The request's current tenant and role, and the one helper for tenant lookups.

The tenant a user works in is kept in the session and checked against his
memberships on every request (``load_tenant_context``); views read it through
``current_tenant_id()`` / ``current_role()``, never from request arguments.
"""
from contextlib import contextmanager

from flask import abort, g, session
from flask_login import current_user
from sqlalchemy import BigInteger

from core.extensions import db
from models import Membership

PARAMETER_WRITERS = frozenset({"admin", "consultant"})
MASTER_DATA_WRITERS = frozenset({"admin", "consultant", "backoffice"})
ADMINISTRATORS = frozenset({"admin"})
EVERYONE = frozenset({"admin", "consultant", "backoffice", "viewer"})


def load_tenant_context() -> None:
    """Resolve the current membership from the session (``before_request`` hook)."""
    g.tenant, g.role, g.memberships = None, None, []
    if not current_user.is_authenticated:
        return
    memberships = (
        db.session.query(Membership)
        .filter(Membership.user_id == current_user.id)
        .join(Membership.tenant)
        .order_by(Membership.id)
        .all()
    )
    g.memberships = memberships
    chosen = next((m for m in memberships if m.tenant_id == session.get("tenant_id")), None)
    chosen = chosen or (memberships[0] if memberships else None)
    if chosen:
        session["tenant_id"] = chosen.tenant_id
        g.tenant, g.role = chosen.tenant, chosen.role


def switch_tenant(tenant_id: int) -> bool:
    """Make ``tenant_id`` current if the user belongs to it."""
    if any(m.tenant_id == tenant_id for m in g.get("memberships", [])):
        session["tenant_id"] = tenant_id
        return True
    return False


def current_tenant():
    return g.get("tenant")


def current_tenant_id() -> int | None:
    tenant = g.get("tenant")
    return tenant.id if tenant else None


def current_role() -> str | None:
    return g.get("role")


def has_role(roles) -> bool:
    return current_role() in roles


def tenant_query(model, tenant_id: int | None = None):
    """A query on a tenant-scoped ``model`` restricted to one tenant (the current one)."""
    tenant_id = tenant_id if tenant_id is not None else current_tenant_id()
    return db.session.query(model).filter(model.tenant_id == tenant_id)


def valid_id(model, row_id) -> int | None:
    """``row_id`` as an id of ``model``, or None when it cannot be one: not an integer, or
    outside the range of the id column (32-bit ``Integer``, 64-bit ``BigInteger``), which
    the database would refuse instead of finding nothing."""
    try:
        row_id = int(str(row_id).strip())
    except (TypeError, ValueError):
        return None
    bits = 64 if isinstance(model.__table__.c.id.type, BigInteger) else 32
    return row_id if 0 < row_id < 2 ** (bits - 1) else None


def one_or_404(query, model, row_id):
    """The row ``row_id`` of ``model`` among those of ``query``, else 404 (also for a
    malformed or out-of-range id)."""
    row_id = valid_id(model, row_id)
    if row_id is None:
        abort(404)
    row = query.filter(model.id == row_id).one_or_none()
    if row is None:
        abort(404)
    return row


def get_by_id_and_tenant(model, row_id, tenant_id: int | None = None):
    """The row ``row_id`` of ``model`` if it belongs to the tenant, else 404."""
    return one_or_404(tenant_query(model, tenant_id), model, row_id)


@contextmanager
def tenant_scope(tenant_id: int, actor: tuple[int | None, str] = (None, "system"), role: str = "admin"):
    """Work as inside one tenant outside a request (a command, a thread, a job): the current
    tenant and role the screens read, and the actor the audit log records."""
    from core.audit import audit_actor
    from models import Tenant

    saved = (g.get("tenant"), g.get("role"), g.get("memberships", []))
    g.tenant, g.role, g.memberships = db.session.get(Tenant, tenant_id), role, []
    token = audit_actor.set(actor)
    try:
        yield g.tenant
    finally:
        audit_actor.reset(token)
        g.tenant, g.role, g.memberships = saved
