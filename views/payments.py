"""Payments (règlements): the list, the accounting's Excel import with its control
screen, the import batches (cancel) and the job-site synthesis.

Back-office users and consultants (and admins) import and cancel; viewers read.
The uploaded file waits in ``instance/uploads`` between the control screen and
*Import* (the same mechanism as ``views.importing``); *Import* reads it again and
checks it again, so that what is written is what the rules say at that moment.
"""
import os
import re
import tempfile
from itertools import chain
from typing import NamedTuple

from flask import abort, current_app, flash, redirect, request
from flask_admin import expose
from flask_admin.menu import MenuLink
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from core import transaction
from core.batching import collector_paused
from core.extensions import db
from core.glossary import CHOICE_LABELS, FIELD_LABELS, choices
from core.tenancy import MASTER_DATA_WRITERS, current_role, current_tenant_id, get_by_id_and_tenant
from models.invoices import Invoice
from models.master_data import Client, JobSite
from models.payments import PAYMENT_METHODS, Payment, PaymentImportBatch
from rules.payments import (
    ALERT_LABELS, ALERT_LEVELS, BLOCKING, WARNING, PaymentError, cancel_batch, count_statuses, import_rows,
)
from spreadsheets import xlsx
from spreadsheets.payments_file import check_payment_file, write_template
from spreadsheets.reader import UnreadableFile
from views.base import SecuredModelView
from views.downloads import send_temporary_download
from views.formatters import amount_text, choice_formatter, fast_amount_text

PAYMENTS = _l("Payments")


def batch_formatter(view, context, model, name):
    batch = model.batch
    if batch is None:
        return ""
    return Markup('<a href="{}">#{}</a>').format(view.get_url("payment-batches.details_view", id=batch.id), batch.id)


class PaymentView(SecuredModelView):
    """The tenant's payments, read-only: they come from imports and go with their batch."""

    write_roles = MASTER_DATA_WRITERS
    writer_pages = frozenset({"import_view", "template_view", "import_confirm_view"})
    allow_create = allow_edit = allow_delete = False
    list_template = "payments/list.html"
    column_default_sort = ("payment_date", True)
    column_list = ("invoice", "invoice.client", "invoice.job_site", "payment_date", "amount", "method",
                   "accounting_reference", "batch")
    column_details_list = column_list + ("created_at",)
    column_sortable_list = (("invoice", "invoice.number"), "payment_date", "amount", "method",
                            "accounting_reference", ("batch", "batch_id"))
    column_searchable_list = ("accounting_reference",)
    column_filters = ("invoice.number", "payment_date", "amount",
                      FilterEqual(Payment.method, FIELD_LABELS["method"], options=choices(PAYMENT_METHODS)),
                      FilterEqual(Payment.batch_id, FIELD_LABELS["batch"]))
    closed_list_values = {"method": PAYMENT_METHODS}
    column_formatters = {"method": choice_formatter, "batch": batch_formatter}
    column_formatters_detail = column_formatters

    @property
    def can_import(self) -> bool:
        return self.can_write

    def get_query(self):
        """The tenant's payments with their invoice, its client and job site, and their batch
        loaded in the same query (no query per row of the list)."""
        return super().get_query().options(
            joinedload(Payment.invoice).joinedload(Invoice.client),
            joinedload(Payment.invoice).joinedload(Invoice.job_site),
            joinedload(Payment.batch))

    # Export: the invoice, its client and job site by code, the method's label
    EXPORT_HEADERS = ("invoice.number", "invoice.client", "invoice.job_site", "payment_date", "amount", "method",
                      "accounting_reference", "batch")

    def write_export(self, query) -> str:
        invoice, client, job_site = aliased(Invoice), aliased(Client), aliased(JobSite)
        rows_query = (query.with_entities(invoice.number, client.code, job_site.code, Payment.payment_date,
                                          Payment.amount, Payment.method, Payment.accounting_reference,
                                          Payment.batch_id)
                      .outerjoin(invoice, invoice.id == Payment.invoice_id)
                      .outerjoin(client, client.id == invoice.client_id)
                      .outerjoin(job_site, job_site.id == invoice.job_site_id))
        kinds = (xlsx.TEXT, xlsx.TEXT, xlsx.TEXT, xlsx.DATE, xlsx.MONEY, xlsx.TEXT, xlsx.TEXT, xlsx.INTEGER)
        columns = [xlsx.Column(str(FIELD_LABELS[name]), kind) for name, kind in zip(self.EXPORT_HEADERS, kinds)]
        labels = {method: str(CHOICE_LABELS[method]) for method in PAYMENT_METHODS}

        def rows():
            result = db.session.execute(rows_query.statement.execution_options(
                yield_per=current_app.config["EXPORT_BATCH_SIZE"]))
            for partition in result.partitions():
                for row in partition:
                    yield (*row[:5], labels.get(row[5], row[5]), row[6], row[7])

        return xlsx.write_temporary_xlsx(str(self.name), columns, rows())

    # The accounting's Excel import and its control screen
    @expose("/import/", methods=("GET", "POST"))
    def import_view(self):
        if not self.can_import:
            abort(403)
        with collector_paused():  # 20,000 rows and their alerts: see core.batching
            return self._control_screen()

    def _control_screen(self):
        result, error, upload, counts = None, None, None, None
        if request.method == "POST":
            uploaded = request.files.get("file")
            if uploaded is None or not uploaded.filename:
                flash(_("Choose a file to import."), "error")
            else:
                data = uploaded.read()
                try:
                    result = check_payment_file(data, uploaded.filename, current_tenant_id())
                except UnreadableFile as unreadable:
                    error = str(unreadable)
                else:
                    counts = count_statuses(result.rows)
                    if any(row.importable for row in result.rows):
                        upload = self._keep_upload(data, uploaded.filename)
                transaction.rollback()
        shown, hidden = shown_rows(result.rows, current_app.config["PAYMENTS_MAX_SHOWN_ROWS"]) if result else ([], 0)
        rows_html = _rows_html(shown)
        # the page is given the file's summary, not its rows: Flask-Admin keeps the template's
        # context (flask.g) to the end of the request, the 20,000 rows with it, and the garbage
        # collector, back on after the page (core.batching), would walk them all
        summary = CheckedFile(result.filename, result.sheet, len(result.rows)) if result else None
        return self.render("payments/import.html", result=summary, error=error, upload=upload, counts=counts,
                           rows_html=rows_html, hidden_rows=hidden,
                           alert_legend=[(code, ALERT_LABELS[code], ALERT_LEVELS[code]) for code in ALERT_LEVELS])

    @expose("/import/template/")
    def template_view(self):
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        write_template(path)
        return send_temporary_download(path, "modele_reglements.xlsx")

    @expose("/import/confirm/", methods=("POST",))
    def import_confirm_view(self):
        if not self.can_import:
            abort(403)
        claimed = self.confirmed_upload()
        if claimed is None:
            return self.upload_already_confirmed("payment-batches.index_view")
        entry, data = claimed
        try:
            result = check_payment_file(data, entry["filename"], current_tenant_id())
        except UnreadableFile as unreadable:
            transaction.rollback()
            flash(str(unreadable), "error")
            return redirect(self.get_url(".import_view"))
        try:
            batch = import_rows(result.rows, current_tenant_id(), entry["filename"], current_user.email)
            transaction.commit()
        except IntegrityError:  # the same payments imported at the same moment by someone else
            transaction.rollback()
            flash(_("Nothing was imported: some of these payments have just been imported by someone else. "
                    "Check the file again."), "error")
            return redirect(self.get_url(".import_view"))
        flash(_("Import batch #%(id)s: %(imported)s payments imported (%(warnings)s with a warning), "
                "%(blocking)s rows left out.", id=batch.id, imported=batch.imported_count,
                warnings=batch.warning_count, blocking=batch.blocking_count), "success")
        return redirect(self.get_url("payment-batches.details_view", id=batch.id))


class CheckedFile(NamedTuple):
    """What the control screen says of a checked file besides its rows."""

    filename: str
    sheet: str
    row_count: int


class PaymentImportLink(MenuLink):
    """The import screen in the Payments menu, for the roles that may import."""

    def is_accessible(self):
        return current_user.is_authenticated and current_role() in MASTER_DATA_WRITERS


_ROW_CLASSES = {BLOCKING: "table-danger", WARNING: "table-warning", "ok": ""}
_BADGES = {BLOCKING: "badge-danger", WARNING: "badge-warning"}


_NEEDS_ESCAPE = re.compile("[&<>\"']")


def shown_rows(rows, limit: int) -> tuple[list, int]:
    """The rows a control screen shows, in file order: every row with an alert first
    (up to ``limit``), then rows without one while there is room; and how many are left out."""
    if len(rows) <= limit:  # all of them (the rows of a file come in file order)
        return list(rows), 0
    with_alerts = [row for row in rows if row.alerts][:limit]
    room = limit - len(with_alerts)
    shown = with_alerts + [row for row in rows if not row.alerts][:room]
    shown.sort(key=lambda row: row.row)
    return shown, len(rows) - len(shown)


def _rows_html(rows) -> Markup:
    """The control screen's rows, built here rather than by a Jinja loop: a 20,000-row
    file renders in a fraction of the time. Every cell and message is escaped by
    ``markupsafe.escape`` (Jinja's own autoescape); when no cell of the file has a
    character to escape (most files), the rows' cells are kept as they are without a
    test per row, else a row whose text has none of them is kept as it is."""
    parts = []
    append = parts.append
    # each alert's markup but its message, made once: (before the message, between its two copies)
    alert_html = {code: (f'<details class="payment-alert" data-code="{code}"><summary class="badge '
                         f'{_BADGES[level]}" title="', f'">{escape(str(ALERT_LABELS[code]))}</summary>'
                                                       '<div class="payment-alert-text small">')
                  for code, level in ALERT_LEVELS.items()}
    amount_text = fast_amount_text()
    needs_escape = _NEEDS_ESCAPE.search
    any_to_escape = needs_escape("".join(chain.from_iterable(row.cells for row in rows)))
    for row in rows:
        columns = row.cells  # the six of them
        shown = columns if row.amount is None else (
            columns[0], columns[1], amount_text(row.amount), columns[3], columns[4], columns[5])
        if any_to_escape and needs_escape("".join(shown)):
            shown = [escape(cell) for cell in shown]
        cells = "</td><td>".join(shown)
        if not row.alerts:
            append(f'<tr class="" data-row="{row.row}" data-status="ok"><td>{row.row}</td><td>{cells}</td>'
                   '<td></td></tr>')
            continue
        status = row.status
        shown_alerts = []
        for alert in row.alerts:
            before, between = alert_html[alert.code]
            message = escape(alert.message)
            shown_alerts.append(f"{before}{message}{between}{message}</div></details>")
        alerts = "".join(shown_alerts)
        append(f'<tr class="{_ROW_CLASSES[status]}" data-row="{row.row}" data-status="{status}">'
               f'<td>{row.row}</td><td>{cells}</td><td>{alerts}</td></tr>')
    return Markup("\n".join(parts))


class PaymentBatchView(SecuredModelView):
    """Import batches: listed, exported, cancelled (the batch's payments are deleted)."""

    write_roles = MASTER_DATA_WRITERS
    allow_create = allow_edit = allow_delete = False
    details_template = "payments/batch_details.html"
    column_default_sort = ("created_at", True)
    column_list = ("id", "created_at", "user_email", "filename", "row_count", "imported_count", "warning_count",
                   "blocking_count", "total_amount", "cancelled_at", "cancelled_by")
    column_export_list = column_details_list = column_list
    column_labels = {"id": _l("Batch"), "created_at": _l("Imported at"), "user_email": _l("Imported by")}
    column_searchable_list = ("filename", "user_email")
    column_filters = ("created_at", "cancelled_at", "filename", "user_email")

    def is_action_allowed(self, name):
        if name == "cancel":
            return self.can_write
        return super().is_action_allowed(name)

    @action("cancel", _l("Cancel the import"),
            _l("Cancel the selected imports? Their payments will be deleted."))
    def action_cancel(self, ids):
        if not self.can_write:
            abort(403)
        for batch_id in sorted(int(i) for i in ids):
            self._cancel(batch_id)

    @expose("/cancel/", methods=("POST",))
    def cancel_view(self):
        if not self.can_write:
            abort(403)
        batch = get_by_id_and_tenant(PaymentImportBatch, request.form.get("id"))
        if request.form.get("confirm") != "1":
            flash(_("Tick the confirmation to cancel the import."), "error")
        else:
            self._cancel(batch.id)
        return redirect(self.get_url(".details_view", id=batch.id))

    def _cancel(self, batch_id: int) -> None:
        try:
            batch = cancel_batch(batch_id, current_tenant_id(), current_user.email)
            transaction.commit()
            flash(_("Import batch #%(id)s cancelled: its payments are deleted.", id=batch.id), "success")
        except PaymentError as error:
            transaction.rollback()
            flash(str(error), "error")

    @staticmethod
    def method_label(value: str) -> str:
        return str(CHOICE_LABELS.get(value, value))

    @staticmethod
    def money(value) -> str:
        return amount_text(value)

    def batch_payments(self, batch, limit: int = 500):
        return (db.session.query(Payment).filter(Payment.tenant_id == current_tenant_id(),
                                                 Payment.batch_id == batch.id)
                .order_by(Payment.id).limit(limit).all())
