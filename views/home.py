from flask import redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_login import current_user

from core.tenancy import current_tenant_id
from exchange.runs import failed_runs_count


class HomeView(AdminIndexView):
    """The admin home: requires login; lists the screens the user's role allows."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        tenant_id = current_tenant_id()
        return self.render("home.html", has_tenant=tenant_id is not None,
                           failed_runs=failed_runs_count(tenant_id) if tenant_id is not None else 0)
