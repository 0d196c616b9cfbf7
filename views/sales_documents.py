"""Orders (commandes) and delivery notes (bons de livraison): received from partners as
numbered drafts (``rules.sales_documents``); listed, shown with their lines and exported.
They follow the invoices' roles; for now they are read-only on screen."""
from flask_babel import lazy_gettext as _l

from core.glossary import choices
from core.tenancy import MASTER_DATA_WRITERS
from models.sales_documents import SALES_DOCUMENT_STATES
from views.base import SecuredModelView
from views.formatters import choice_formatter, origin_text

SALES = _l("Sales")


class SalesDocumentView(SecuredModelView):
    write_roles = MASTER_DATA_WRITERS
    allow_create = allow_edit = allow_delete = False
    details_template = "sales_documents/details.html"
    column_default_sort = ("id", True)
    column_list = ("number", "state", "document_date", "client", "external_reference", "depot", "payment_method",
                   "total_excl_vat", "total_vat", "total_incl_vat", "origin")
    column_export_list = ("number", "state", "document_date", "client", "site", "establishment", "depot",
                          "payment_method", "origin", "external_reference", "total_excl_vat", "total_vat",
                          "total_incl_vat", "created_at")
    column_searchable_list = ("number", "external_reference")
    column_filters = ("state", "document_date", "number", "external_reference", "origin", "payment_method",
                      "client.code", "depot.code")
    column_sortable_list = ("number", "state", "document_date", ("client", "client.code"), "external_reference",
                            ("depot", "depot.code"), "payment_method", "total_excl_vat", "total_vat",
                            "total_incl_vat", "origin")
    column_formatters = {"state": choice_formatter}
    column_value_texts = {"origin": origin_text}
    form_choices = {"state": choices(SALES_DOCUMENT_STATES)}

    can_import = False  # received from partners, not loaded from a spreadsheet


class OrderView(SalesDocumentView):
    pass


class DeliveryNoteView(SalesDocumentView):
    pass
