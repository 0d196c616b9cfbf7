"""``/admin/sync-runs/``: the run history (filters: connector, direction, status, trigger,
period) and each run's report: progress polled while it runs, then its items paged
and filtered by state and type, exported to XLSX in a stream, and *Relancer les
éléments en erreur* as a new linked run."""

from flask import abort, current_app, flash, jsonify, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from core import clock
from core.clock import to_business_time
from core.extensions import db
from core.tenancy import MASTER_DATA_WRITERS, current_role, current_tenant_id
from exchange import runs
from exchange.labels import DIRECTION_LABELS, STATE_LABELS, STATUS_LABELS, TRIGGER_LABELS, TYPE_LABELS, label
from exchange.locking import close_expired
from models.exchange import SyncRun, SyncRunItem
from spreadsheets import xlsx
from views.base import SecuredModelView
from views.downloads import send_temporary_download

ITEMS_PER_PAGE = 50


def _options(labels: dict):
    """Filter options labelled lazily: Flask-Admin keeps a screen's filters from start-up,
    so each request must still read them in its own language."""
    return list(labels.items())


def label_formatter(view, context, model, name):
    return label(getattr(model, name))


def paris_time_formatter(view, context, model, name):
    """Stored in UTC, shown in Europe/Paris (date and time: a run lasts minutes)."""
    value = getattr(model, name)
    if value is None:
        return ""
    return to_business_time(value).strftime("%d/%m/%Y %H:%M:%S")


def run_link_formatter(view, context, model, name):
    target = getattr(model, name)
    if target is None:
        return ""
    return Markup('<a href="{}">#{}</a>').format(view.get_url(".details_view", id=target.id), target.id)


class SyncRunView(SecuredModelView):
    write_roles = MASTER_DATA_WRITERS
    allow_create = allow_edit = allow_delete = False
    can_import = False
    details_template = "exchange/run_report.html"
    column_default_sort = ("started_at", True)
    column_list = ("id", "started_at", "connector", "direction", "trigger", "status", "dry_run", "processed",
                   "ok_count", "skipped_count", "warning_count", "error_count", "user_email")
    column_export_list = ("id", "started_at", "finished_at", "connector", "direction", "trigger", "status",
                          "dry_run", "total", "processed", "ok_count", "skipped_count", "warning_count",
                          "error_count", "user_email", "message")
    column_details_list = ("id", "connector", "direction", "trigger", "status", "dry_run", "started_at",
                           "finished_at", "heartbeat_at", "user_email", "total", "processed", "ok_count",
                           "skipped_count", "warning_count", "error_count", "message", "retry_of")
    column_sortable_list = ("id", "started_at", "direction", "status", "trigger")
    column_searchable_list = ()
    column_labels = {
        "id": _l("Run"), "connector": _l("Connector"), "connector.code": _l("Connector"), "direction": _l("Direction"), "trigger": _l("Trigger"),
        "dry_run": _l("Simulation"), "started_at": _l("Started at"), "finished_at": _l("Finished at"),
        "heartbeat_at": _l("Last heartbeat"), "total": _l("To process"), "processed": _l("Processed"),
        "ok_count": _l("OK"), "skipped_count": _l("Skipped items"), "warning_count": _l("Warnings"),
        "error_count": _l("Errors"), "message": _l("Message"), "retry_of": _l("Retry of"),
        "user_email": _l("By"),
    }
    column_formatters = {"direction": label_formatter, "trigger": label_formatter, "status": label_formatter,
                         "retry_of": run_link_formatter, "started_at": paris_time_formatter,
                         "finished_at": paris_time_formatter, "heartbeat_at": paris_time_formatter}
    column_formatters_detail = column_formatters
    column_filters = (
        "connector.code",
        FilterEqual(SyncRun.direction, _l("Direction"), options=_options(DIRECTION_LABELS)),
        FilterEqual(SyncRun.status, _l("Status"), options=_options(STATUS_LABELS)),
        FilterEqual(SyncRun.trigger, _l("Trigger"), options=_options(TRIGGER_LABELS)),
        "started_at",
    )

    @property
    def can_retry(self) -> bool:
        return current_role() in MASTER_DATA_WRITERS

    def get_query(self):
        return super().get_query().order_by(None)

    @expose("/")
    def index_view(self):
        close_expired(tenant_id=current_tenant_id())  # a run whose process died shows as failed
        return super().index_view()

    def export_filename(self) -> str:
        return f"historique_echanges_{clock.today():%Y%m%d}.xlsx"

    # The report
    def report_filters(self) -> dict:
        state = request.args.get("state", "")
        type_ = request.args.get("type", "")
        return {"state": state if state in STATE_LABELS else "", "type": type_ if type_ in TYPE_LABELS else ""}

    def items_query(self, run, filters):
        query = db.session.query(SyncRunItem).filter(SyncRunItem.run_id == run.id)
        if filters["state"]:
            query = query.filter(SyncRunItem.state == filters["state"])
        if filters["type"]:
            query = query.filter(SyncRunItem.type == filters["type"])
        return query

    def report_page(self, run) -> dict:
        filters = self.report_filters()
        page = request.args.get("page", 1, type=int)
        page = page if page and 0 < page < 10_000_000 else 1
        query = self.items_query(run, filters)
        rows = query.order_by(SyncRunItem.id).offset((page - 1) * ITEMS_PER_PAGE).limit(ITEMS_PER_PAGE + 1).all()
        return {"items": rows[:ITEMS_PER_PAGE], "page": page, "has_next": len(rows) > ITEMS_PER_PAGE,
                "filters": filters, "states": STATE_LABELS, "types": TYPE_LABELS, "label": label,
                "poll_ms": current_app.config["EXCHANGE_POLL_MS"]}

    @expose("/progress/")
    def progress_view(self):
        run = self.get_one(request.args.get("id"))
        close_expired(run.connector_id)
        db.session.expire_all()
        report = runs.progress(run.id)
        report["status_label"] = label(report["status"])
        return jsonify(report)

    @expose("/following/")
    def following_view(self):
        """*Actualiser les données*: the receive that follows this send, once started."""
        from exchange.refresh import following_receive
        run = self.get_one(request.args.get("id"))
        following = following_receive(run) if run.direction == "send" else None
        return jsonify({"run_id": following,
                        "url": self.get_url(".details_view", id=following) if following else None})

    @expose("/items/export/")
    def items_export_view(self):
        run = self.get_one(request.args.get("id"))
        query = self.items_query(run, self.report_filters()).order_by(SyncRunItem.id).with_entities(
            SyncRunItem.batch, SyncRunItem.type, SyncRunItem.identifier, SyncRunItem.state, SyncRunItem.message)
        columns = [xlsx.Column(_("File or batch")), xlsx.Column(_("Type")), xlsx.Column(_("Identifier")),
                   xlsx.Column(_("State")), xlsx.Column(_("Message"), width=80)]

        def rows():
            result = db.session.execute(query.statement.execution_options(
                yield_per=current_app.config["EXPORT_BATCH_SIZE"]))
            for partition in result.partitions():
                for batch, type_, identifier, state, message in partition:
                    yield batch, label(type_), identifier, label(state), message

        path = xlsx.write_temporary_xlsx(_("Run report"), columns, rows())
        return send_temporary_download(path, f"rapport_execution_{run.id}_{clock.today():%Y%m%d}.xlsx")

    @expose("/retry/", methods=("POST",))
    def retry_view(self):
        if not self.can_retry:
            abort(403)
        first = self.get_one(request.form.get("id"))
        try:
            run_id = runs.start(first.connector, first.direction, "manual", False, first.id, current_user.email)
        except (runs.AlreadyRunning, runs.RunRefused) as refused:
            flash(str(refused), "error")
            return redirect(self.get_url(".details_view", id=first.id))
        runs.start_in_thread(current_app._get_current_object(), run_id, (current_user.id, current_user.email))
        return redirect(self.get_url(".details_view", id=run_id))
