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


# --- Administration of users by a tenant's administrator --------------------------------------
#
# An administrator manages the users of the tenants he administers (``administered``: their
# ids), and only there: a user's memberships of other tenants are neither shown nor changed.

MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def password_error(password: str | None) -> str | None:
    """Why ``password`` cannot be a password, or None."""
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
    return None


def memberships_elsewhere(user: User | None, administered) -> list[Membership]:
    """The user's memberships of tenants the administrator does not administer."""
    if user is None:
        return []
    return [m for m in user.memberships if m.tenant_id not in administered]


def user_errors(user: User | None, email: str, active: bool, password: str | None,
                memberships: list[tuple[Tenant | None, str]], administered, acting_user: User) -> dict[str, str]:
    """Everything that forbids saving ``user`` (None: a new one) with these values, by field.

    ``memberships`` are the wanted (tenant, role) pairs among the administered tenants."""
    errors = {}
    email = normalise_email(email)
    if "@" not in email:
        errors["email"] = _("%(email)s is not an email address.", email=email)
    else:
        twins = db.session.query(User.id).filter(User.email == email)
        if user is not None and user.id is not None:
            twins = twins.filter(User.id != user.id)
        if twins.first():
            errors["email"] = _("The user %(email)s already exists.", email=email)
    if user is None and not password:
        errors["password"] = _("A new user needs a password.")
    elif password_error(password):
        errors["password"] = password_error(password)
    membership_error = _membership_error(user, memberships, administered, acting_user)
    if membership_error:
        errors["memberships"] = membership_error
    active_error = _active_error(user, active, administered, acting_user)
    if active_error:
        errors["active"] = active_error
    return errors


def _membership_error(user, memberships, administered, acting_user) -> str | None:
    seen = set()
    for tenant, role in memberships:
        if tenant is None or tenant.id not in administered:
            return _("Choose a dossier you administer.")
        if role not in ROLES:
            return _("Unknown role %(role)s (expected: %(roles)s).", role=role, roles=", ".join(ROLES))
        if tenant.id in seen:
            return _("The dossier %(code)s is given twice.", code=tenant.code)
        seen.add(tenant.id)
    if not memberships and not memberships_elsewhere(user, administered):
        if user is None:
            return _("A user needs a role in at least one dossier.")
        return _("A user keeps a role in at least one dossier: deactivate him instead.")
    if user is not None and user.id == acting_user.id:
        wanted = {tenant.id: role for tenant, role in memberships}
        for membership in user.memberships:
            if membership.role == "admin" and wanted.get(membership.tenant_id) != "admin" \
                    and membership.tenant_id in administered:
                return _("You cannot remove your own administrator role in %(code)s.",
                         code=membership.tenant.code)
    return None


def _active_error(user, active, administered, acting_user) -> str | None:
    if user is None or bool(active) == bool(user.active):
        return None
    if user.id == acting_user.id:
        return _("You cannot deactivate your own account.")
    if memberships_elsewhere(user, administered):
        return _("This user also works in dossiers you do not administer: remove his role in yours "
                 "instead of deactivating him.")
    return None


def save_memberships(user: User, memberships: list[tuple[Tenant, str]], administered) -> None:
    """Make the user's roles in the administered tenants exactly ``memberships``, leaving
    his memberships of every other tenant as they are (matched by tenant, never by a
    membership id taken from a form)."""
    current = {m.tenant_id: m for m in user.memberships}
    wanted = {tenant.id: (tenant, role) for tenant, role in memberships}
    for tenant_id, membership in current.items():
        if tenant_id in administered and tenant_id not in wanted:
            user.memberships.remove(membership)
    for tenant_id, (tenant, role) in wanted.items():
        if tenant_id not in administered:
            raise TenancyError(_("Choose a dossier you administer."))
        if tenant_id in current:
            current[tenant_id].role = role
        else:
            user.memberships.append(Membership(tenant=tenant, role=role))


def save_user(user: User | None, *, email: str, full_name: str, locale: str, active: bool, password: str | None,
              memberships: list[tuple[Tenant, str]], administered, acting_user: User) -> User:
    """Create (``user`` None) or update a user from the administration screen (flushed, not
    committed). A new password ends the user's sessions."""
    errors = user_errors(user, email, active, password, memberships, administered, acting_user)
    if errors:
        raise TenancyError(" ".join(errors.values()))
    if user is None:
        user = User()
        db.session.add(user)
    with db.session.no_autoflush:
        user.email = normalise_email(email)
        user.full_name = (full_name or "").strip()
        user.locale = locale or "fr"
        user.active = bool(active)
        if password:
            user.set_password(password)
        save_memberships(user, memberships, administered)
    db.session.flush()
    return user


def password_change_errors(user: User, current: str, new: str, confirmation: str) -> dict[str, str]:
    """Why the user cannot change his own password this way, by field."""
    errors = {}
    if not user.check_password(current or ""):
        errors["current_password"] = _("The current password is wrong.")
    if password_error(new or ""):
        errors["new_password"] = password_error(new or "")
    elif new == current:
        errors["new_password"] = _("The new password must differ from the current one.")
    if (confirmation or "") != (new or ""):
        errors["confirmation"] = _("The two new passwords differ.")
    return errors


def change_password(user: User, current: str, new: str, confirmation: str) -> None:
    """The user's own password change (flushed): every session of his ends."""
    errors = password_change_errors(user, current, new, confirmation)
    if errors:
        raise TenancyError(" ".join(errors.values()))
    user.set_password(new)
    db.session.flush()


def end_sessions(user: User) -> None:
    """Logout: the user's session cookies, and their copies, open nothing any more."""
    user.end_sessions()
    db.session.flush()
