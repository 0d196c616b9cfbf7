"""Creating tenants and users (used by the CLI, the admin screens and the demo seed)."""
from flask_babel import gettext as _

from core.extensions import db
from models import ROLES, DossierSettings, Membership, Tenant, User


class TenancyError(ValueError):
    pass


def create_tenant(code: str, name: str, admin_user: User | None = None) -> Tenant:
    """A tenant with default dossier settings and empty tables (flushed, not committed)."""
    code = code.strip().upper()
    if not code:
        raise TenancyError(_("The code is mandatory."))
    if db.session.query(Tenant.id).filter_by(code=code).first():
        raise TenancyError(_("The tenant %(code)s already exists.", code=code))
    tenant = Tenant(code=code, name=name.strip() or code)
    db.session.add(tenant)
    db.session.flush()
    db.session.add(DossierSettings(tenant_id=tenant.id))
    if admin_user is not None:
        db.session.add(Membership(user_id=admin_user.id, tenant_id=tenant.id, role="admin"))
    db.session.flush()
    return tenant


def create_user(email: str, password: str, memberships: list[tuple[Tenant, str]], full_name: str = "",
                locale: str = "fr") -> User:
    """A user with a hashed password and a role in each given tenant (flushed, not committed)."""
    email = email.strip().lower()
    if "@" not in email:
        raise TenancyError(_("%(email)s is not an email address.", email=email))
    if len(password) < 10:
        raise TenancyError(_("The password must have at least 10 characters."))
    if db.session.query(User.id).filter_by(email=email).first():
        raise TenancyError(_("The user %(email)s already exists.", email=email))
    for _tenant, role in memberships:
        if role not in ROLES:
            raise TenancyError(_("Unknown role %(role)s (expected: %(roles)s).", role=role, roles=", ".join(ROLES)))
    user = User(email=email, full_name=full_name, locale=locale)
    user.set_password(password)
    user.memberships = [Membership(tenant=tenant, role=role) for tenant, role in memberships]
    db.session.add(user)
    db.session.flush()
    return user
