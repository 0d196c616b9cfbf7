"""Invoices: drafts entered with a grid of lines, validation (list action and button)
takes the next number of the invoice sequence; validated and cancelled invoices are
read-only."""
import json
from decimal import Decimal

from babel.numbers import get_decimal_symbol

from flask import abort, flash, jsonify, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.fields import InlineModelFormList
from flask_admin.contrib.sqla.form import InlineModelConverter
from flask_admin.form import RenderTemplateWidget
from flask_admin.model.form import InlineFormAdmin
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import HiddenInput, Select

from core import transaction
from core.extensions import db
from core.glossary import FIELD_LABELS, choices
from core.tenancy import MASTER_DATA_WRITERS, current_tenant_id, get_by_id_and_tenant, tenant_query
from models import VatRate
from models.invoices import (
    INVOICE_KINDS, INVOICE_STATES, LINE_KINDS, OPERATION_CATEGORIES, Invoice, InvoiceAttachment, InvoiceLine,
)
from models.master_data import Article
from rules.attachments import MAX_ATTACHMENT_BYTES, attach, attachment_error
from rules.invoices import (
    InvoiceError, ZeroTotalNeedsConfirmation, cancel_draft, compute_totals, create_credit_note, credited_amounts,
    validate_invoice,
)
from rules.pricing import PricingSettings, article_line_defaults
from views.base import SecuredModelView, TenantAjaxLoader
from views.downloads import send_download
from views.formatters import choice_formatter, origin_text
from views.settings import settings_for
from rules.documents import DocumentError, invoice_pdf, store_document_quietly

INVOICES = _l("Invoices")
LINE_FIELDS = ("article", "label", "kind", "quantity", "unit", "unit_price", "vat_rate")


class LineGrid(InlineModelFormList):
    """The invoice lines as one grid row per line (``templates/invoices/line_grid.html``):
    rows added, removed and reordered in place, the position set from the row order."""

    widget = RenderTemplateWidget("invoices/line_grid.html")


class LineGridConverter(InlineModelConverter):
    inline_field_list_type = LineGrid


def vat_rate_label(rate) -> str:
    """``T20 — 20 %``: the code and the rate, short enough for a grid cell."""
    return f"{rate.code} — {format_decimal(rate.rate, format='0.##')} %"


class InvoiceLineInline(InlineFormAdmin):
    form_columns = ("id", "position", *LINE_FIELDS)
    form_choices = {"kind": choices(LINE_KINDS)}
    # plain selects in the grid: compact, and typed into from the keyboard
    form_args = {"position": {"widget": HiddenInput(), "validators": [Optional()]},
                 "kind": {"widget": Select()}, "unit": {"widget": Select()},
                 "vat_rate": {"widget": Select(), "get_label": vat_rate_label}}
    form_ajax_refs = {"article": TenantAjaxLoader("article", db.session, Article, fields=("code", "label"))}
    column_labels = {name: FIELD_LABELS[name] for name in LINE_FIELDS}


class InvoiceView(SecuredModelView):
    write_roles = MASTER_DATA_WRITERS
    details_template = "invoices/details.html"
    column_default_sort = ("id", True)
    column_list = ("number", "kind", "state", "invoice_date", "client", "job_site", "total_excl_vat", "total_vat",
                   "total_incl_vat", "outstanding_amount", "origin", "external_reference")
    column_export_list = column_list
    SIGNED_EXPORT_FIELDS = ("total_excl_vat", "total_vat", "total_incl_vat")  # negative for a credit note
    column_searchable_list = ("number", "external_reference")
    column_filters = ("kind", "state", "invoice_date", "number", "origin")
    column_value_texts = {"origin": origin_text}
    column_formatters = {"state": choice_formatter, "kind": choice_formatter,
                         "operation_category": choice_formatter}
    column_details_exclude_list = ("tenant", "lines", "attachments", "numbering_sequence", "identity_snapshot")
    form_columns = ("invoice_date", "due_date", "client", "site", "job_site", "sector", "establishment",
                    "buyer_reference", "operation_category", "reverse_charge", "service_date", "memo",
                    "internal_note", "report_url")
    form_ajax_refs = {
        "client": {"fields": ("code", "name")},
        # after a client, its sites and job sites only (the row rule refuses any other)
        "site": {"fields": ("code", "name"), "depends_on": {"client": "client_id"}},
        "job_site": {"fields": ("code", "name"), "depends_on": {"client": "client_id"}},
    }
    form_choices = {"state": choices(INVOICE_STATES), "kind": choices(INVOICE_KINDS),
                    "operation_category": choices(OPERATION_CATEGORIES)}
    form_args = {"operation_category": {"validators": [Optional()]}}
    inline_models = (InvoiceLineInline(InvoiceLine),)
    inline_model_form_converter = LineGridConverter
    list_template = "invoices/list.html"
    create_template = "invoices/create.html"
    edit_template = "invoices/edit.html"
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
        if is_created and not model.kind:
            model.kind = "invoice"
        if model.kind == "credit_note" and model.credited_invoice is not None:
            model.client_id = model.credited_invoice.client_id  # a credit note is for its invoice's client
            model.client = model.credited_invoice.client
        if model.client is not None and is_created and model.kind == "invoice" and model.client.reverse_charge:
            model.reverse_charge = True  # the client's default
        for position, line in enumerate(sorted(model.lines, key=lambda line: line.position or 0), start=1):
            line.tenant_id = model.tenant_id
            line.position = position
        compute_totals(model)  # the server's totals are the reference, whatever the page showed

    # The line grid
    def vat_rates_json(self) -> str:
        """``{id: rate}`` of the tenant's VAT rates, for the running totals of the grid."""
        rates = tenant_query(VatRate).with_entities(VatRate.id, VatRate.rate)
        return json.dumps({str(row_id): str(rate) for row_id, rate in rates})

    @staticmethod
    def grid_number(field) -> str:
        """A decimal of the grid as typed (shown back after an error) or as stored, without
        trailing zeros and with the decimal separator of the UI language (``1,5``)."""
        if field.raw_data:
            return field.raw_data[0]
        if field.data is None:
            return ""
        return f"{Decimal(field.data).normalize():f}".replace(".", get_decimal_symbol(get_locale() or "fr"))

    @staticmethod
    def entry_locale() -> str:
        return str(get_locale() or "fr").replace("_", "-")

    @expose("/article-defaults/")
    def article_defaults_view(self):
        """What choosing an article fills on a line: label, kind, unit, VAT rate and unit
        price (its sale price, else the pricing rule of the dossier settings)."""
        if not self.can_write:
            abort(403)
        article = get_by_id_and_tenant(Article, request.args.get("id"))
        settings = PricingSettings.from_settings(settings_for(current_tenant_id()))
        transaction.commit()  # the settings row, created with its defaults when missing
        defaults = article_line_defaults(article, settings)
        return jsonify({
            "label": defaults.label, "kind": defaults.kind,
            "unit": [article.unit.id, str(article.unit)] if article.unit else None,
            "vat_rate": [article.vat_rate.id, str(article.vat_rate)] if article.vat_rate else None,
            "unit_price": None if defaults.unit_price is None else f"{defaults.unit_price.normalize():f}",
            "price_source": defaults.price_source, "warnings": list(defaults.warnings),
        })

    def on_model_delete(self, model):
        if not self.is_draft(model):
            raise ValidationError(_("A validated invoice cannot be deleted: cancel it with a credit note."))

    @action("delete", _l("Delete"), _l("Delete the selected draft invoices?"))
    def action_delete(self, ids):
        """Bulk delete of drafts only: when a validated or cancelled invoice is selected,
        nothing is deleted and the message names it."""
        row_ids = [int(i) for i in ids if str(i).isdigit()]
        locked = [str(invoice) for invoice in self.get_query().filter(
            Invoice.id.in_(row_ids), Invoice.state != "draft").order_by(Invoice.id)]
        if locked:
            flash(ngettext(
                "Nothing was deleted: %(invoices)s is not a draft (a validated invoice is cancelled by a "
                "credit note).",
                "Nothing was deleted: %(invoices)s are not drafts (a validated invoice is cancelled by a "
                "credit note).", len(locked), invoices=", ".join(locked)), "error")
            return None
        return super().action_delete(row_ids)

    @action("validate", _l("Validate"), _l(
        "Validate the selected invoices? Each takes the next invoice number, which can never be given back."))
    def action_validate(self, ids):
        if not self.can_write:
            abort(403)
        for invoice_id in sorted(int(i) for i in ids):  # documents made at their first download
            self._validate(invoice_id, confirm_zero_total=False, render=False)

    @expose("/validate/", methods=("POST",))
    def validate_view(self):
        if not self.can_write:
            abort(403)
        invoice = get_by_id_and_tenant(Invoice, request.form.get("id"))
        self._validate(invoice.id, confirm_zero_total=request.form.get("confirm_zero_total") == "1")
        return redirect(self.get_url(".details_view", id=invoice.id))

    def _validate(self, invoice_id: int, confirm_zero_total: bool, render: bool = True) -> None:
        try:
            invoice = validate_invoice(invoice_id, current_tenant_id(), confirm_zero_total)
            number, is_credit_note, validated_id = invoice.number, invoice.is_credit_note, invoice.id
            transaction.commit()
            if is_credit_note:
                flash(_("Credit note validated with number %(number)s.", number=number), "success")
            else:
                flash(_("Invoice validated with number %(number)s.", number=number), "success")
            if render:
                store_document_quietly(validated_id, current_tenant_id())  # after the commit, never inside it
        except ZeroTotalNeedsConfirmation as error:
            transaction.rollback()
            flash(str(error), "warning")
        except InvoiceError as error:
            transaction.rollback()
            flash(str(error), "error")

    @expose("/cancel/", methods=("POST",))
    def cancel_view(self):
        if not self.can_write:
            abort(403)
        invoice = get_by_id_and_tenant(Invoice, request.form.get("id"))
        try:
            cancel_draft(invoice)
            transaction.commit()
            flash(_("The draft invoice is cancelled."), "success")
        except InvoiceError as error:
            transaction.rollback()
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
            content = uploaded.read(MAX_ATTACHMENT_BYTES + 1)
            refused = attachment_error(len(content))
            if refused:
                flash(refused, "error")
            else:
                attach(invoice, uploaded.filename, content)
                transaction.commit()
                flash(_("File attached."), "success")
        return redirect(self.get_url(".details_view", id=invoice.id))

    @expose("/attachments/<int:attachment_id>/")
    def attachment_view(self, attachment_id):
        attachment = get_by_id_and_tenant(InvoiceAttachment, attachment_id)
        return send_download(attachment.content, attachment.filename)

    @expose("/print/")
    def print_view(self):
        invoice = get_by_id_and_tenant(Invoice, request.args.get("id"))
        return self.render("invoices/print.html", invoice=invoice)

    @expose("/pdf/")
    def pdf_view(self):
        """The document: a Factur-X PDF once validated (stored, served byte-identical), a
        plain PDF marked *Brouillon* for a draft."""
        invoice = get_by_id_and_tenant(Invoice, request.args.get("id"))
        try:
            content, filename = invoice_pdf(invoice.id, current_tenant_id())
        except DocumentError as error:
            transaction.rollback()
            flash(str(error), "error")
            return redirect(self.get_url(".details_view", id=invoice.id))
        transaction.commit()
        return send_download(content, filename)

    @expose("/credit-note/", methods=("POST",))
    def credit_note_view(self):
        """*Créer un avoir*: a draft credit note of a validated invoice, opened for editing
        (lower quantities or remove lines to credit part of it)."""
        if not self.can_write:
            abort(403)
        invoice = get_by_id_and_tenant(Invoice, request.form.get("id"))
        try:
            credit = create_credit_note(invoice.id, current_tenant_id())
            credit_id = credit.id
            transaction.commit()
        except InvoiceError as error:
            transaction.rollback()
            flash(str(error), "error")
            return redirect(self.get_url(".details_view", id=invoice.id))
        flash(_("Draft credit note created: lower the quantities or remove lines to credit part of the "
                "invoice, then validate it."), "success")
        return redirect(self.get_url(".edit_view", id=credit_id))

    def credit_notes_of(self, invoice) -> list:
        return tenant_query(Invoice).filter(Invoice.credited_invoice_id == invoice.id).order_by(Invoice.id).all()

    def credited_amount(self, invoice):
        return credited_amounts([invoice.id], invoice.tenant_id)[invoice.id]

    def export_field_names(self) -> list[str]:
        names = super().export_field_names()
        return names if "kind" in names else [*names, "kind"]

    def readable_rows(self, fields, rows):
        """Exported amounts are signed: a credit note's totals are negative (invoicing.md)."""
        names = [field.name for field in fields]
        kind, signed = names.index("kind"), [names.index(n) for n in self.SIGNED_EXPORT_FIELDS if n in names]

        def signed_rows():
            for row in rows:
                if row[kind] == "credit_note":
                    row = tuple(-value if i in signed and value is not None else value for i, value in enumerate(row))
                yield row
        return super().readable_rows(fields, signed_rows())
