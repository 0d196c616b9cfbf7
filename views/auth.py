"""Login, logout, tenant switch and language choice."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from core import transaction
from core.extensions import db, limiter
from core.tenancy import switch_tenant
from models import User
from rules.tenancy import end_sessions

blueprint = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def _login_email() -> str:
    return "email:" + (request.form.get("email") or "").strip().lower()


def _login_failed(response) -> bool:
    return response.status_code == 200 and request.method == "POST"


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("admin.index")


def _account_limit() -> str:
    return current_app.config["LOGIN_FAILURE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_FAILURE_LIMIT"]


# Failures are counted per account (10 in 15 minutes locks that account only) and per client
# address with a much higher limit (100): an office behind one proxy address shares the
# latter, so one person's mistakes never lock his colleagues out. The address is the real
# client's when ``PROXY_FIX_X_FOR`` says how many proxies stand in front (see app.py).
@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(_account_limit, key_func=_login_email, methods=["POST"], deduct_when=_login_failed,
               scope="login-email")
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_login_failed, scope="login-address")
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.query(User).filter(User.email == form.email.data.strip().lower()).one_or_none()
        if user is not None and user.active and user.check_password(form.password.data):
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [_("Unknown email or wrong password.")]
    return render_template("auth/login.html", form=form)


@blueprint.route("/logout", methods=["POST"])
def logout():
    """End the session server-side: the user's session version is raised, so this session's
    cookie (and any copy of it) no longer opens anything."""
    if current_user.is_authenticated:
        end_sessions(current_user)
        transaction.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.route("/tenant", methods=["POST"])
@login_required
def choose_tenant():
    if not switch_tenant(request.form.get("tenant_id", type=int)):
        flash(_("You do not belong to this dossier."), "error")
    return redirect(url_for("admin.index"))


@blueprint.route("/language", methods=["POST"])
@login_required
def choose_language():
    locale = request.form.get("locale")
    if locale in current_app.config["LANGUAGES"]:
        current_user.locale = locale
        transaction.commit()
    return redirect(_safe_next(request.form.get("next")))


@blueprint.app_errorhandler(429)
def too_many_attempts(error):
    return render_template("auth/login.html", form=LoginForm(), throttled=True), 429
