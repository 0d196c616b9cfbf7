"""Invoices: drafts edited with their lines inline; validation (list action and button)
takes the next number of the invoice sequence; validated invoices are read-only."""
import io

from flask import abort, flash, redirect, request, send_file
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.utils import secure_filename
from wtforms.validators import ValidationError

from core.extensions import db
from core.glossary import FIELD_LABELS, choices
from core.tenancy import MASTER_DATA_WRITERS, current_tenant_id, get_by_id_and_tenant
from models.invoices import INVOICE_STATES, LINE_KINDS, Invoice, InvoiceAttachment, InvoiceLine
from models.master_data import Article
from rules.invoices import InvoiceError, ZeroTotalNeedsConfirmation, cancel_draft, compute_totals, validate_invoice
from views.base import SecuredModelView, TenantAjaxLoader
from views.formatters import choice_formatter

INVOICES = _l("Invoices")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class InvoiceLineInline(InlineFormAdmin):
    column_labels = FIELD_LABELS  # the inline form's own labels ("Unit Price" otherwise)
    form_columns = ("id", "position", "article", "label", "kind", "quantity", "unit_price", "vat_rate")
    form_choices = {"kind": choices(LINE_KINDS)}
    form_ajax_refs = {"article": TenantAjaxLoader("article", db.session, Article, fields=("code", "label"))}


class InvoiceView(SecuredModelView):
    write_roles = MASTER_DATA_WRITERS
    details_template = "invoices/details.html"
    column_default_sort = ("id", True)
    column_list = ("number", "state", "invoice_date", "client", "job_site", "total_excl_vat", "total_vat",
                   "total_incl_vat", "outstanding_amount", "origin", "external_reference")
    column_export_list = column_list
    column_searchable_list = ("number", "external_reference")
    column_filters = ("state", "invoice_date", "number", "origin")
    column_formatters = {"state": choice_formatter, "origin": choice_formatter}
    column_details_exclude_list = ("tenant", "lines", "attachments", "numbering_sequence")
    form_columns = ("invoice_date", "client", "site", "job_site", "sector", "establishment", "memo",
                    "internal_note", "report_url")
    form_ajax_refs = {name: {"fields": ("code", "name")} for name in ("client", "site", "job_site")}
    form_choices = {"state": choices(INVOICE_STATES)}
    inline_models = (InvoiceLineInline(InvoiceLine),)
    column_labels = {"lines": FIELD_LABELS["invoice_lines"]}

    can_import = False  # invoices are entered, validated or received, not loaded from a spreadsheet

    def is_action_allowed(self, name):
        return self.can_write and super().is_action_allowed(name)

    def is_draft(self, invoice) -> bool:  # not ``is_editable``: Flask-Admin calls that with column names
        return invoice.state == "draft"

    def get_one(self, id):
        invoice = super().get_one(id)
        if request.endpoint.endswith(("edit_view", "delete_view")) and not self.is_draft(invoice):
            flash(_("A validated invoice cannot be changed or deleted: cancel it with a credit note."), "error")
            abort(redirect(self.get_url(".details_view", id=invoice.id)))
        return invoice

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        for line in model.lines:
            line.tenant_id = model.tenant_id
        compute_totals(model)

    def on_model_delete(self, model):
        if not self.is_draft(model):
            raise ValidationError(_("A validated invoice cannot be deleted: cancel it with a credit note."))

    @action("validate", _l("Validate"), _l("Validate the selected invoices? Each takes the next invoice number."))
    def action_validate(self, ids):
        if not self.can_write:
            abort(403)
        for invoice_id in sorted(int(i) for i in ids):
            self._validate(invoice_id, confirm_zero_total=False)

    @expose("/validate/", methods=("POST",))
    def validate_view(self):
        if not self.can_write:
            abort(403)
        invoice = get_by_id_and_tenant(Invoice, request.form.get("id"))
        self._validate(invoice.id, confirm_zero_total=request.form.get("confirm_zero_total") == "1")
        return redirect(self.get_url(".details_view", id=invoice.id))

    def _validate(self, invoice_id: int, confirm_zero_total: bool) -> None:
        try:
            invoice = validate_invoice(invoice_id, current_tenant_id(), confirm_zero_total)
            db.session.commit()
            flash(_("Invoice validated with number %(number)s.", number=invoice.number), "success")
        except ZeroTotalNeedsConfirmation as error:
            db.session.rollback()
            flash(str(error), "warning")
        except InvoiceError as error:
            db.session.rollback()
            flash(str(error), "error")

    @expose("/cancel/", methods=("POST",))
    def cancel_view(self):
        if not self.can_write:
            abort(403)
        invoice = get_by_id_and_tenant(Invoice, request.form.get("id"))
        try:
            cancel_draft(invoice)
            db.session.commit()
            flash(_("The draft invoice is cancelled."), "success")
        except InvoiceError as error:
            db.session.rollback()
            flash(str(error), "error")
        return redirect(self.get_url(".details_view", id=invoice.id))

    @expose("/attachments/", methods=("POST",))
    def attach_view(self):
        if not self.can_write:
            abort(403)
        invoice = get_by_id_and_tenant(Invoice, request.form.get("id"))
        uploaded = request.files.get("file")
        if uploaded is None or not uploaded.filename:
            flash(_("Choose a file to attach."), "error")
        else:
            content = uploaded.read()
            if len(content) > MAX_ATTACHMENT_BYTES:
                flash(_("The file is too large (more than 10 MB)."), "error")
            else:
                db.session.add(InvoiceAttachment(
                    tenant_id=invoice.tenant_id, invoice_id=invoice.id, filename=secure_filename(uploaded.filename)
                    or "piece-jointe", content_type=uploaded.mimetype or "application/octet-stream", content=content))
                db.session.commit()
                flash(_("File attached."), "success")
        return redirect(self.get_url(".details_view", id=invoice.id))

    @expose("/attachments/<int:attachment_id>/")
    def attachment_view(self, attachment_id):
        attachment = get_by_id_and_tenant(InvoiceAttachment, attachment_id)
        return send_file(io.BytesIO(attachment.content), as_attachment=True, download_name=attachment.filename,
                         mimetype=attachment.content_type)

    @expose("/print/")
    def print_view(self):
        invoice = get_by_id_and_tenant(Invoice, request.args.get("id"))
        return self.render("invoices/print.html", invoice=invoice)
