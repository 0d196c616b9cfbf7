"""Login, logout, tenant switch and language choice."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from core.extensions import db, limiter
from core.tenancy import switch_tenant
from models import User

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


def _failure_limit() -> str:
    return current_app.config["LOGIN_FAILURE_LIMIT"]


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(_failure_limit, key_func=_login_email, methods=["POST"], deduct_when=_login_failed,
               scope="login-email")
@limiter.limit(_failure_limit, methods=["POST"], deduct_when=_login_failed, scope="login-address")
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
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@blueprint.app_errorhandler(429)
def too_many_attempts(error):
    return render_template("auth/login.html", form=LoginForm(), throttled=True), 429
