"""``/admin/connectors/``: consultants (and admins) create, edit and purge connectors;
back-office users run them (*Lancer maintenant*, *Simuler*); everyone reads.

Creation is in two steps: the kind, then its settings (validated by
``exchange.base.save_connector``, every problem next to its field). A run started
here is performed by a background thread of this process, holding the lease like
any run; the browser is sent to the run's report, which polls its progress.
"""
from datetime import datetime, time, timezone

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from core import transaction
from core.clock import to_business_time
from core.tenancy import MASTER_DATA_WRITERS, PARAMETER_WRITERS, current_role, current_tenant_id
from exchange import runs
from exchange.base import RunFailed, kind_choices, kind_of, save_connector
from exchange.labels import label
from exchange.leader import scheduler_state
from exchange.purge import purge_runs
from exchange.schedules import next_run, queued_jobs
from exchange.refresh import start_refresh
from models.exchange import DIRECTIONS
from views.base import SecuredModelView
from views.exchange.forms import connector_form_class, form_data, raw_settings
from views.formatters import datetime_text


def kind_formatter(view, context, model, name):
    kind = kind_of(model.kind)
    return str(kind.label) if kind else model.kind


def next_run_text(connector) -> str:
    """The connector's next scheduled run in Paris time, ``JJ/MM/AAAA HH:MM (Réception)``."""
    if "queued_jobs" not in g:
        g.queued_jobs = queued_jobs()
    upcoming = next_run(connector, datetime.now(timezone.utc), current_app.config["SCHEDULER_INTERVAL_UNIT_SECONDS"],
                        g.queued_jobs)
    if upcoming is None:
        return ""
    moment, direction = upcoming
    return f"{datetime_text(moment)} ({label(direction)})"


def next_run_formatter(view, context, model, name):
    return next_run_text(model)


def parse_day(text: str):
    text = (text or "").strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


class ConnectorView(SecuredModelView):
    write_roles = PARAMETER_WRITERS
    page_write_roles = {"run_view": MASTER_DATA_WRITERS, "refresh_view": MASTER_DATA_WRITERS,
                        "test_connection_view": MASTER_DATA_WRITERS}  # manual runs: back office too
    details_template = "exchange/connector_details.html"
    list_template = "exchange/connector_list.html"
    column_list = ("code", "label", "kind", "enabled", "next_run", "created_at")
    column_export_list = ("code", "label", "kind", "enabled", "created_at")  # never the secrets
    column_details_list = ("code", "label", "kind", "enabled", "next_run", "created_at")
    column_searchable_list = ("code", "label")
    column_sortable_list = ("code", "label", "kind", "enabled", "created_at")
    column_labels = {"kind": _l("Kind"), "enabled": _l("Enabled"), "next_run": _l("Next scheduled run")}
    column_formatters = {"kind": kind_formatter, "next_run": next_run_formatter}
    column_formatters_detail = column_formatters
    can_import = False

    @property
    def can_run(self) -> bool:
        return self.may_write("run_view")

    def scheduler_state(self) -> dict:
        """The scheduler process's state for the list's banner (``exchange.leader``), its
        moments in Paris time to the second."""
        state = scheduler_state()
        for entry in ([state["active"]] if state["active"] else []) + state["standbys"]:
            for key in ("since", "heartbeat_at", "seen_at"):
                if key in entry:
                    entry[key] = to_business_time(entry[key]).strftime("%d/%m/%Y %H:%M:%S")
        return state

    @property
    def can_purge(self) -> bool:
        return current_role() in PARAMETER_WRITERS

    def kind_of(self, connector):
        return kind_of(connector.kind)

    def directions(self, connector):
        kind = kind_of(connector.kind)
        return [(direction, label(direction)) for direction in (kind.directions if kind else ())]

    # Create and edit: the kind's own form
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        kind = kind_of(request.args.get("kind", ""))
        if kind is None:
            return self.render("exchange/connector_kind.html", kinds=kind_choices())
        return self._form_view(kind, None)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        connector = self.get_one(request.args.get("id"))
        kind = kind_of(connector.kind)
        if kind is None:
            abort(404)
        return self._form_view(kind, connector)

    def _form_view(self, kind, connector):
        form_class = connector_form_class(self.form_base_class, kind, connector)
        form = form_class(request.form if request.method == "POST" else None,
                          data=form_data(connector) if connector and request.method != "POST" else None)
        if request.method == "POST":
            valid = form.validate()
            if "csrf_token" not in form.errors:  # every problem at once: the fields' and the settings'
                saved, errors = save_connector(current_tenant_id(), kind.name, form.code.data, form.label.data,
                                               form.enabled.data, raw_settings(form, kind), connector)
                if errors or not valid:
                    transaction.rollback()
                    self._show_errors(form, errors)
                else:
                    try:
                        transaction.commit()
                    except IntegrityError:
                        transaction.rollback()
                        flash(_("Nothing saved: this code or import folder has just been taken by another "
                                "connector. Check and save again."), "error")
                    else:
                        flash(_("Connector %(code)s saved.", code=saved.code), "success")
                        return redirect(self.get_url(".details_view", id=saved.id))
        return self.render("exchange/connector_form.html", form=form, kind=kind, connector=connector)

    @staticmethod
    def _show_errors(form, errors: dict) -> None:
        for name, message in errors.items():
            if name in form:
                if message not in (form[name].errors or []):
                    form[name].errors = list(form[name].errors or []) + [message]
            else:
                flash(message, "error")

    def on_model_delete(self, model):
        """A deleted connector takes its run history with it (one audit entry, as the purge)."""
        purge_runs(model, datetime.max, (current_user.id, current_user.email))

    # Run now (and dry run)
    @expose("/run/", methods=("POST",))
    def run_view(self):
        if not self.can_run:
            abort(403)
        connector = self.get_one(request.form.get("id"))
        direction = request.form.get("direction")
        if direction not in DIRECTIONS:
            abort(400)
        dry_run = request.form.get("dry_run") == "1"
        retry_of = request.form.get("retry_of", type=int)
        full_send = direction == "send" and request.form.get("full_send") == "1"  # *Tout renvoyer*
        try:
            run_id = runs.start(connector, direction, "manual", dry_run, retry_of, current_user.email, full_send)
        except (runs.AlreadyRunning, runs.RunRefused) as refused:
            flash(str(refused), "error")
            return redirect(self.get_url(".details_view", id=connector.id))
        runs.start_in_thread(current_app._get_current_object(), run_id, (current_user.id, current_user.email))
        return redirect(url_for("sync-runs.details_view", id=run_id))

    # Test connection, refresh (send then receive): the kinds that offer them
    @expose("/test-connection/", methods=("POST",))
    def test_connection_view(self):
        if not self.can_run:
            abort(403)
        connector = self.get_one(request.form.get("id"))
        kind = kind_of(connector.kind)
        if kind is None or kind.test_connection is None:
            abort(404)
        try:
            flash(kind.test_connection(connector), "success")
        except RunFailed as failed:
            flash(_("Connection failed: %(message)s", message=str(failed)), "error")
        except Exception:  # a key that cannot be decrypted, a broken setting: never a 500
            current_app.logger.exception("connector %s: test connection failed", connector.id)
            flash(_("Connection failed: check the connector's settings."), "error")
        return redirect(self.get_url(".details_view", id=connector.id))

    @expose("/refresh/", methods=("POST",))
    def refresh_view(self):
        if not self.can_run:
            abort(403)
        connector = self.get_one(request.form.get("id"))
        kind = kind_of(connector.kind)
        if kind is None or not kind.refresh:
            abort(404)
        try:
            run_id = start_refresh(current_app._get_current_object(), connector,
                                   (current_user.id, current_user.email))
        except (runs.AlreadyRunning, runs.RunRefused) as refused:
            flash(str(refused), "error")
            return redirect(self.get_url(".details_view", id=connector.id))
        return redirect(url_for("sync-runs.details_view", id=run_id, then="receive"))

    # Purge (consultants): the run history before a date
    @expose("/purge/", methods=("POST",))
    def purge_view(self):
        if not self.can_purge:
            abort(403)
        connector = self.get_one(request.form.get("id"))
        before = parse_day(request.form.get("before"))
        if before is None:
            flash(_("Give the date before which the history is purged (DD/MM/YYYY)."), "error")
        elif request.form.get("confirm") != "1":
            flash(_("Tick the confirmation box to purge."), "error")
        else:
            count = purge_runs(connector, datetime.combine(before, time.min), (current_user.id, current_user.email))
            transaction.commit()
            flash(ngettext("%(num)s run purged from the history of %(code)s.",
                           "%(num)s runs purged from the history of %(code)s.", count, code=connector.code),
                  "success")
        return redirect(self.get_url(".details_view", id=connector.id))
