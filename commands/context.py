"""Running a command as if inside one tenant: the same scoping as the screens."""
from contextlib import contextmanager

import click
from flask import g

from core.audit import audit_actor
from core.extensions import db
from models import Tenant
from spreadsheets import catalog


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
    """The list screen whose URL name is ``resource`` (from the table catalogue)."""
    table = catalog.table(resource)
    if table is None:
        raise click.ClickException(f"unknown resource {resource}")
    return table.screen
