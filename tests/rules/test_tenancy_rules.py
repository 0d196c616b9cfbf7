"""Who may do what to a user (rules.tenancy, plain functions): memberships changed among
the administered tenants only, deactivation, the admin's own account, password changes."""
import pytest
from flask_babel import force_locale

from core.extensions import db
from rules.tenancy import (
    TenancyError, change_password, create_tenant, create_user, password_change_errors, save_memberships, save_user,
    user_errors,
)

PASSWORD = "correct-horse-battery"


@pytest.fixture
def world(app_ctx):
    """ACME (administered by ``admin``) and BETA; ``both`` works in each."""
    acme, beta = create_tenant("ACME", "Acme"), create_tenant("BETA", "Beta")
    admin = create_user("admin@acme.test", PASSWORD, [(acme, "admin")])
    both = create_user("both@acme.test", PASSWORD, [(acme, "viewer"), (beta, "consultant")])
    db.session.commit()
    return {"acme": acme, "beta": beta, "admin": admin, "both": both, "administered": {acme.id}}


def _roles(user):
    return sorted((m.tenant.code, m.role) for m in user.memberships)


def _errors(world, user, **values):
    values = {"email": user.email if user else "new@acme.test", "active": True, "password": None,
              "memberships": [(world["acme"], "viewer")], **values}
    with force_locale("en"):
        return user_errors(user, administered=world["administered"], acting_user=world["admin"], **values)


def test_save_memberships_changes_the_administered_tenants_only(world):
    both, acme = world["both"], world["acme"]
    save_memberships(both, [(acme, "backoffice")], world["administered"])
    assert _roles(both) == [("ACME", "backoffice"), ("BETA", "consultant")]
    save_memberships(both, [], world["administered"])
    db.session.flush()
    assert _roles(both) == [("BETA", "consultant")]
    with pytest.raises(TenancyError):
        save_memberships(both, [(world["beta"], "admin")], world["administered"])


def test_memberships_errors(world):
    both, beta, acme = world["both"], world["beta"], world["acme"]
    assert _errors(world, both) == {}
    assert set(_errors(world, both, memberships=[(beta, "admin")])) == {"memberships"}
    assert set(_errors(world, both, memberships=[(acme, "viewer"), (acme, "admin")])) == {"memberships"}
    assert set(_errors(world, both, memberships=[(acme, "chief")])) == {"memberships"}
    assert _errors(world, both, memberships=[]) == {}  # he keeps his BETA role
    assert set(_errors(world, None, memberships=[], password="a-long-password")) == {"memberships"}
    assert set(_errors(world, None)) == {"password"}  # a new user needs one
    assert set(_errors(world, both, password="short")) == {"password"}
    assert set(_errors(world, both, email="admin@ACME.test ")) == {"email"}


def test_deactivation_needs_every_membership_administered_and_never_oneself(world):
    assert set(_errors(world, world["both"], active=False)) == {"active"}
    admin = world["admin"]
    assert set(_errors(world, admin, active=False, memberships=[(world["acme"], "admin")])) == {"active"}
    loner = create_user("loner@acme.test", PASSWORD, [(world["acme"], "viewer")])
    assert _errors(world, loner, active=False) == {}
    assert set(_errors(world, loner, active=False, memberships=[])) == {"memberships"}  # deactivate, keep the role


def test_an_admin_keeps_his_own_admin_role(world):
    admin = world["admin"]
    assert set(_errors(world, admin, memberships=[(world["acme"], "viewer")])) == {"memberships"}


def test_save_user_refuses_in_full_and_a_new_password_ends_sessions(world):
    both = world["both"]
    version = both.session_version
    with pytest.raises(TenancyError):
        save_user(both, email="both@acme.test", full_name="", locale="fr", active=False, password="new-long-password",
                  memberships=[(world["acme"], "viewer")], administered=world["administered"],
                  acting_user=world["admin"])
    assert both.check_password(PASSWORD) and both.active
    save_user(both, email="both@acme.test", full_name="Both", locale="fr", active=True, password="new-long-password",
              memberships=[(world["acme"], "viewer")], administered=world["administered"], acting_user=world["admin"])
    assert both.check_password("new-long-password") and both.session_version == version + 1


def test_password_change(world):
    user = world["both"]
    with force_locale("en"):
        assert set(password_change_errors(user, "wrong", "a-new-password", "a-new-password")) == {"current_password"}
        assert set(password_change_errors(user, PASSWORD, "short", "short")) == {"new_password"}
        assert set(password_change_errors(user, PASSWORD, PASSWORD, PASSWORD)) == {"new_password"}
        assert set(password_change_errors(user, PASSWORD, "a-new-password", "a-new-pass")) == {"confirmation"}
    version = user.session_version
    change_password(user, PASSWORD, "a-new-password", "a-new-password")
    assert user.check_password("a-new-password") and user.session_version == version + 1
