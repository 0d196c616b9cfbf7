"""``/admin/csv-reception/?connector=CODE``: the reception screen of a CSV exchange
connector (back office and above; everyone reads). *Réceptionner* reads the waiting
files into pending data (a receive run of the reading step, performed at once);
*Recevoir* integrates the pending data (a receive run in the background: the
browser goes to its report). Codes without mapping are mapped in place. Also the
``at_login`` banner and the home page count of receptions waiting."""
from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, user_logged_in
from markupsafe import Markup, escape
from sqlalchemy import select

from core import transaction
from core.extensions import db
from core.tenancy import MASTER_DATA_WRITERS, current_tenant_id
from core.waiting import register_waiting
from exchange import runs
from exchange.csv_exchange import pending
from exchange.csv_exchange.reception import read_files
from exchange.csv_exchange.receive import integrate_pending
from models import Membership
from models.exchange import Connector
from views.base import SecuredView
from views.formatters import amount_text, date_text


def _status_label(status: str) -> str:
    return {pending.NEW: _("New document"), pending.KNOWN: _("Already integrated"),
            pending.UNMAPPED: _("Articles without mapping"), pending.UNKNOWN_PARTY: _("Unknown party")}[status]


def _party_type_label(party_type: str) -> str:
    return {"CLIENT": _("Client"), "FOURNISSEUR": _("Supplier"), "CONTACT": _("Contact")}.get(party_type, party_type)


def _csv_connectors(tenant_id):
    return db.session.scalars(select(Connector).where(Connector.tenant_id == tenant_id,
                                                      Connector.kind == pending.KIND).order_by(Connector.code)).all()


class CsvReceptionView(SecuredView):
    write_roles = MASTER_DATA_WRITERS

    def _connector(self):
        code = (request.values.get("connector") or "").strip().upper()
        if not code:
            return None
        return db.session.scalar(select(Connector).where(Connector.tenant_id == current_tenant_id(),
                                                         Connector.kind == pending.KIND, Connector.code == code))

    @expose("/")
    def index(self):
        return self._screen()

    def _screen(self, typed: dict | None = None):
        """The screen; ``typed``: the article codes typed in a refused mapping, shown again."""
        connector = self._connector()
        if connector is None:
            if request.args.get("connector"):
                flash(_("Unknown CSV exchange connector: %(code)s.", code=request.args.get("connector")), "error")
            return self.render("exchange/csv_reception.html", connector=None,
                               connectors=_csv_connectors(current_tenant_id()))
        try:
            data = pending.overview(connector)
        except (ValueError, OSError) as error:  # a folder out of the exchange root, or unreadable
            flash(_("The import folder cannot be read: %(error)s", error=getattr(error, "strerror", None) or error),
                  "error")
            data = None
        return self.render("exchange/csv_reception.html", connector=connector, data=data,
                           status_label=_status_label, party_type_label=_party_type_label,
                           amount_text=amount_text, date_text=date_text, can_receive=self.can_write,
                           typed=typed or {})

    def _back(self, connector):
        return redirect(self.get_url(".index", connector=connector.code if connector else None))

    def _start(self, connector):
        try:
            return runs.start(connector, "receive", "manual", user_email=current_user.email)
        except (runs.AlreadyRunning, runs.RunRefused) as refused:
            flash(str(refused), "error")
            return None

    @expose("/read/", methods=("POST",))
    def read_view(self):
        connector = self._connector()
        if connector is None:
            flash(_("Choose a CSV exchange connector."), "error")
            return self._back(None)
        run_id = self._start(connector)
        if run_id is not None:
            runs.perform(run_id, (current_user.id, current_user.email), engine=read_files)
            report = runs.progress(run_id)
            counts = report["counts"]
            link = url_for("sync-runs.details_view", id=run_id)
            text = _("Files read: %(read)s, %(problems)s.",
                     read=ngettext("%(num)s read", "%(num)s read", counts["ok"] + counts["warning"]),
                     problems=ngettext("%(num)s problem", "%(num)s problems", counts["error"]))
            if report["message"]:
                text += " " + report["message"]
            flash(Markup('{} <a href="{}" id="reception-report">{}</a>').format(text, link, _("See the report")),
                  "error" if counts["error"] or report["status"] == "failed" else "success")
        return self._back(connector)

    @expose("/receive/", methods=("POST",))
    def receive_view(self):
        connector = self._connector()
        if connector is None:
            flash(_("Choose a CSV exchange connector."), "error")
            return self._back(None)
        run_id = self._start(connector)
        if run_id is None:
            return self._back(connector)
        runs.start_in_thread(current_app._get_current_object(), run_id, (current_user.id, current_user.email),
                             engine=integrate_pending)
        return redirect(url_for("sync-runs.details_view", id=run_id))

    @expose("/map/", methods=("POST",))
    def map_view(self):
        connector = self._connector()
        if connector is None:
            flash(_("Choose a CSV exchange connector."), "error")
            return self._back(None)
        pairs = {key[len("map-"):]: value for key, value in request.form.items() if key.startswith("map-")}
        errors = pending.map_codes(connector, pairs)
        if errors:
            transaction.rollback()
            for code, message in errors.items():
                flash(_("Code %(code)s: %(message)s", code=code, message=message), "error")
            return self._screen(typed=pairs)  # nothing saved: what was typed stays in its fields
        saved = sum(1 for value in pairs.values() if (value or "").strip())
        transaction.commit()
        flash(ngettext("%(num)s mapping saved.", "%(num)s mappings saved.", saved), "success")
        return self._back(connector)


def _waiting_total(tenant_id: int) -> int:
    return sum(count for _connector, count in pending.connectors_waiting(tenant_id))


def _waiting_url() -> str:
    found = pending.connectors_waiting(current_tenant_id())
    return url_for("csv-reception.index", connector=found[0][0].code) if found else url_for("csv-reception.index")


register_waiting(
    "csv_receptions", roles=MASTER_DATA_WRITERS, count=_waiting_total,
    label=lambda count: ngettext("%(num)s row waiting for reception", "%(num)s rows waiting for reception", count),
    url=_waiting_url)


def login_banner(sender, user, **extra) -> None:
    """After login: a banner for each ``at_login`` connector whose data is waiting."""
    membership = db.session.scalars(select(Membership).where(Membership.user_id == user.id)
                                    .order_by(Membership.id)).first()
    if membership is None or membership.role not in MASTER_DATA_WRITERS:
        return
    try:
        waiting = pending.connectors_waiting(membership.tenant_id, modes=("at_login",))
    except Exception:  # a banner never stops a login
        current_app.logger.warning("csv reception banner failed", exc_info=True)
        return
    for connector, count in waiting:
        link = url_for("csv-reception.index", connector=connector.code)
        flash(Markup('{} <a href="{}" class="alert-link" id="reception-banner-{}">{}</a>').format(
            _("Connector %(code)s: data is waiting for reception (%(count)s).", code=connector.code, count=count),
            link, escape(connector.code), _("Open the reception screen")), "info")


user_logged_in.connect(login_banner)
