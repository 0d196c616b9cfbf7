from flask import current_app, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from core.extensions import db
from core.tenancy import MASTER_DATA_WRITERS, current_role, current_tenant_id
from core.waiting import register_waiting, waiting_for
from exchange.runs import failed_runs_count
from models import Invoice


class HomeView(AdminIndexView):
    """The admin home: requires login; shows what is waiting for the user's role."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        tenant_id = current_tenant_id()
        return self.render("home.html", has_tenant=tenant_id is not None,
                           waiting=waiting_for(current_role(), tenant_id))


def _draft_count(tenant_id: int) -> int:
    return db.session.execute(select(func.count(Invoice.id)).where(
        Invoice.tenant_id == tenant_id, Invoice.state == "draft")).scalar_one()


def filtered_list_url(endpoint: str, column: str, value: str) -> str:
    """A list screen filtered on ``column == value`` (the filter's URL argument is
    Flask-Admin's, found among the screen's filters rather than hard-coded)."""
    view = next(v for v in current_app.extensions["admin"][0]._views if v.endpoint == endpoint)
    argument = next((name for name, (_index, flt) in (view._filter_args or {}).items()
                     if type(flt) is FilterEqual and flt.column.key == column), None)
    return url_for(f"{endpoint}.index_view", **({f"flt0_{argument}": value} if argument else {}))


register_waiting(
    "drafts_to_validate", roles=MASTER_DATA_WRITERS, count=_draft_count,
    label=lambda count: ngettext("%(num)s draft invoice to validate", "%(num)s draft invoices to validate", count),
    url=lambda: filtered_list_url("invoices", "state", "draft"))
register_waiting(
    "failed_runs", roles=MASTER_DATA_WRITERS, count=failed_runs_count,
    label=lambda count: ngettext("%(num)s connector direction whose last run failed",
                                 "%(num)s connector directions whose last run failed", count),
    url=lambda: filtered_list_url("sync-runs", "status", "failed"))
