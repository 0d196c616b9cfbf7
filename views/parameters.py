"""Parameter tables of ``parameters.md``: consultants write, everyone else reads."""
from flask_babel import lazy_gettext as _l

from core.glossary import choices
from models import (
    AdditionalCostTable, ArticleFamily, ClientFamily, Depot, DocumentTitle, Establishment,
    NumberingSequence, OperationCode, PriceCategory, ProductNature, Sector, SupplierFamily,
    TextCode, Unit, VatRate,
)
from models.enums import DOCUMENT_TITLE_TYPES, OPERATION_DOCUMENT_TYPES, SEQUENCE_DOCUMENT_TYPES
from views.base import SecuredModelView
from views.formatters import choice_formatter

PARAMETERS = _l("Parameters")


class ParameterView(SecuredModelView):
    column_list = ("code", "label")
    column_filters = ("code", "label")
    column_export_list = ("code", "label")
    form_columns = ("code", "label")


class UnitView(ParameterView):
    column_list = column_export_list = form_columns = ("code", "label", "un_ece_code")
    column_descriptions = {"un_ece_code": _l(
        "UN/ECE Recommendation 20 code, needed by the electronic invoice: HUR hour, H87 piece, C62 one, "
        "MTR metre, MTK square metre, KGM kilogram, LTR litre, DAY day, KMT kilometre.")}


class DocumentTitleView(ParameterView):
    column_list = column_export_list = form_columns = ("code", "label", "document_type", "print_mask")
    column_filters = ("code", "label", "document_type")
    form_choices = {"document_type": choices(DOCUMENT_TITLE_TYPES)}
    column_formatters = {"document_type": choice_formatter}


class OperationCodeView(ParameterView):
    column_list = ("code", "label", "document_type", "billable", "document_title",
                   "credit_note_operation_code", "active")
    column_export_list = form_columns = column_list
    column_filters = ("document_type", "billable", "active", "code", "label")
    form_choices = {"document_type": choices(OPERATION_DOCUMENT_TYPES)}
    column_formatters = {"document_type": choice_formatter}
    form_args = {"active": {"default": True}}
    # the credit-note code of a code is an operation code of type credit note
    form_relation_filters = {"credit_note_operation_code": lambda code: code.document_type == "credit_note"}


class NumberingSequenceView(ParameterView):
    column_list = ("code", "label", "document_type", "establishment", "prefix", "padding",
                   "next_number", "gapless", "highest_number_used")
    column_export_list = column_list
    form_columns = ("code", "label", "document_type", "establishment", "prefix", "padding",
                    "next_number", "gapless")
    column_filters = ("document_type", "gapless", "code", "label")
    form_choices = {"document_type": choices(SEQUENCE_DOCUMENT_TYPES)}
    column_formatters = {"document_type": choice_formatter}
    form_args = {"padding": {"default": 6}, "next_number": {"default": 1}}


class ProductNatureView(ParameterView):
    column_list = column_export_list = form_columns = ("code", "label", "overhead_coefficient", "active")
    column_filters = ("active", "code", "label")
    column_descriptions = {"overhead_coefficient": _l(
        "Leave empty to use the overhead coefficient of the dossier settings.")}
    form_args = {"active": {"default": True}}


class ArticleFamilyView(ParameterView):
    column_list = column_export_list = form_columns = ("code", "label", "parent")
    column_filters = ("code", "label")
    column_descriptions = {"parent": _l("Give a parent family to make this row a subfamily.")}


class EstablishmentView(ParameterView):
    column_list = column_export_list = form_columns = ("code", "label", "address", "postcode", "city")
    column_filters = ("code", "label", "postcode", "city")
    column_searchable_list = ("code", "label", "city")


class VatRateView(ParameterView):
    column_list = column_export_list = form_columns = ("code", "label", "rate")
    column_filters = ("code", "label", "rate")


class TextCodeView(ParameterView):
    column_list = ("code", "label")
    column_export_list = form_columns = ("code", "label", "body")
    column_searchable_list = ("code", "label", "body")


class AdditionalCostTableView(ParameterView):
    column_list = ("code", "label")
    column_export_list = form_columns = ("code", "label", "lines")
    column_descriptions = {"lines": _l("One cost item per line.")}


# (model, view class, URL name, menu label): the URL name is also the RESOURCE of
# the ``export`` and ``import`` commands.
PARAMETER_SCREENS = (
    (DocumentTitle, DocumentTitleView, "document-titles", _l("Document titles")),
    (OperationCode, OperationCodeView, "operation-codes", _l("Operation codes")),
    (NumberingSequence, NumberingSequenceView, "numbering-sequences", _l("Numbering sequences")),
    (ProductNature, ProductNatureView, "product-natures", _l("Product natures")),
    (ArticleFamily, ArticleFamilyView, "article-families", _l("Article families")),
    (Unit, UnitView, "units", _l("Units")),
    (PriceCategory, ParameterView, "price-categories", _l("Price categories")),
    (Establishment, EstablishmentView, "establishments", _l("Establishments")),
    (Depot, ParameterView, "depots", _l("Depots")),
    (Sector, ParameterView, "sectors", _l("Sectors")),
    (ClientFamily, ParameterView, "client-families", _l("Client families")),
    (SupplierFamily, ParameterView, "supplier-families", _l("Supplier families")),
    (VatRate, VatRateView, "vat-rates", _l("VAT rates")),
    (TextCode, TextCodeView, "text-codes", _l("Text codes")),
    (AdditionalCostTable, AdditionalCostTableView, "additional-cost-tables", _l("Additional cost tables")),
)
