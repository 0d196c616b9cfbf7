"""Passerelle application factory: configuration, extensions, admin, login, CLI, Babel."""
import re

from flask import Flask, g, has_request_context, redirect, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

import core.audit  # noqa: F401  (registers the audit log hook on every session)
from core.config import INSTANCE_DIR, build_config
from core.glossary import CHOICE_LABELS
from core.requests import PasserelleRequest, refuse_nul_in_path
from core.extensions import babel, csrf, db, limiter, login_manager, migrate
from core.tenancy import load_tenant_context

SESSION_ID = re.compile(r"([0-9]{1,9}):([0-9]{1,9})")  # User.get_id(): "<id>:<session version>"


def select_locale() -> str:
    if has_request_context() and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    return "fr"


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=True)
    app.request_class = PasserelleRequest  # no NUL character in any parameter (core/requests.py)
    app.config.from_mapping(build_config())
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)
    if app.config.get("PROXY_FIX_X_FOR"):
        # Behind that many proxies the client's address is read from X-Forwarded-For
        # (login throttling, audit); without the setting the header is never trusted.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]))

    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("timeout", app.config["SQLITE_BUSY_TIMEOUT_SECONDS"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _init_login(app)
    from exchange.base import load_kinds
    load_kinds(app)

    from views import register_views
    from views.admin_strings import install as use_our_admin_strings
    from views.formatters import register_filters
    from views.auth import blueprint as auth_blueprint
    app.register_blueprint(auth_blueprint)
    from views.hooks import blueprint as hooks_blueprint
    app.register_blueprint(hooks_blueprint)
    admin = Admin(app, name="Passerelle", url="/admin", theme=Bootstrap4Theme(base_template="layout.html"),
                  index_view=_index_view())
    register_views(admin)
    use_our_admin_strings()

    from commands import register_commands
    register_commands(app)

    app.before_request(refuse_nul_in_path)
    app.before_request(load_tenant_context)
    app.before_request(_resolve_locale)

    @app.route("/")
    def home():
        return redirect(url_for("admin.index"))

    @app.context_processor
    def navigation():
        return {"current_tenant": g.get("tenant"), "current_role": g.get("role"),
                "current_role_label": CHOICE_LABELS.get(g.get("role"), ""), "get_locale": get_locale,
                "memberships": g.get("memberships", []), "languages": app.config["LANGUAGES"]}

    register_filters(app)
    _init_errors(app, admin)
    return app


def _resolve_locale() -> None:
    """Choose the request's language up front (``before_request``): a message built after a
    failed flush (a lost race) must not need the database to know its language (reading
    the user's ``locale`` then would fail with the session's pending rollback)."""
    get_locale()


def _init_login(app: Flask) -> None:
    from models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to access this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_id: str):
        """The active user whose id *and* session version the session holds: logout and a
        password change raise the version, so an older session (or a copy of its cookie,
        or a remember cookie) no longer opens anything."""
        match = SESSION_ID.fullmatch(str(session_id))
        if match is None:
            return None
        user = db.session.get(User, int(match.group(1)))
        if user is None or not user.active or user.session_version != int(match.group(2)):
            return None
        return user


def _index_view():
    from views.home import HomeView
    return HomeView(name=_l("Home"), url="/admin", endpoint="admin")


def _init_errors(app: Flask, admin: Admin) -> None:
    """Error pages with the navigation bar (the user carries on from there); a bare page
    when the navigation itself cannot be drawn (the database is down, say)."""
    from flask import render_template

    for code in (400, 403, 404, 413, 500):
        def handler(error, code=code):
            if code == 500:
                db.session.rollback()
            try:
                return admin.index_view.render("error.html", code=code, error=error), code
            except Exception:  # noqa: BLE001 - the plain page must always be given
                db.session.rollback()
                return render_template("error_plain.html", code=code, error=error), code
        app.register_error_handler(code, handler)
