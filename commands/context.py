"""Running a command as if inside one tenant: the same scoping as the screens."""
from contextlib import contextmanager

import click
from flask import current_app, g

from core.audit import audit_actor
from core.extensions import db
from models import Tenant


def find_tenant(code: str) -> Tenant:
    tenant = db.session.query(Tenant).filter_by(code=code.strip().upper()).one_or_none()
    if tenant is None:
        raise click.ClickException(f"unknown tenant {code}")
    return tenant


@contextmanager
def tenant_context(code: str, role: str = "admin"):
    """Make ``code`` the current tenant (as ``load_tenant_context`` does for a request)."""
    tenant = find_tenant(code)
    g.tenant, g.role, g.memberships = tenant, role, []
    token = audit_actor.set((None, "cli"))
    try:
        yield tenant
    finally:
        audit_actor.reset(token)


def admin_view(resource: str):
    """The registered screen whose URL name is ``resource``."""
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            if getattr(view, "endpoint", None) == resource and hasattr(view, "write_export"):
                return view
    raise click.ClickException(f"unknown resource {resource}")
