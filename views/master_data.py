"""Master data of ``master-data.md``: back-office users and consultants write, viewers read.

Relations to tables that grow large (clients, suppliers, sites, employees, contracts)
are AJAX look-ups served by the base view's tenant-scoped loader; relations to
parameter tables are plain selects of the tenant's rows.
"""
from flask import g
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_admin.model.form import InlineFormAdmin
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from wtforms.validators import ValidationError

from core.extensions import db

from core.glossary import CHOICE_LABELS, FIELD_LABELS, choices
from core.tenancy import MASTER_DATA_WRITERS, current_tenant_id
from models import (
    Article, Client, Contact, Contract, Employee, Equipment, JobSite, ProductNature, Site, Supplier,
)
from models.exchange import ArticleMapping
from models.master_data import JOB_SITE_STATUSES
from rules.mappings import article_form_mapping_errors, clean_external_code
from rules.master_data import article_kind, labour_nature_prefix
from views.base import SecuredModelView
from views.formatters import choice_formatter

MASTER_DATA = _l("Master data")
ARTICLE_KINDS = ("labour", "supply")

# AJAX look-ups: searched by prefix of these fields, 20 rows a page.
CLIENT_LOOKUP = {"fields": ("code", "name"), "page_size": 20}
SUPPLIER_LOOKUP = {"fields": ("code", "name"), "page_size": 20}
SITE_LOOKUP = {"fields": ("code", "name"), "page_size": 20}
EMPLOYEE_LOOKUP = {"fields": ("code", "last_name", "first_name"), "page_size": 20}
CONTRACT_LOOKUP = {"fields": ("code",), "page_size": 20}


# --- Formatters and filters -----------------------------------------------------------------

def _current_labour_prefix() -> str:
    if "labour_nature_prefix" not in g:
        g.labour_nature_prefix = labour_nature_prefix(current_tenant_id())
    return g.labour_nature_prefix


def article_kind_formatter(view, context, model, name):
    nature = model.nature
    return CHOICE_LABELS[article_kind(nature.code if nature else None, _current_labour_prefix())]


class ArticleKindFilter(BaseSQLAFilter):
    """Labour articles (nature code starting with the dossier's labour prefix) or supplies."""

    def __init__(self):
        super().__init__(Article.nature_id, FIELD_LABELS["article_kind"],
                         options=[(kind, CHOICE_LABELS[kind]) for kind in ARTICLE_KINDS])

    def apply(self, query, value, alias=None):
        prefix = _current_labour_prefix().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        labour_natures = select(ProductNature.id).where(
            ProductNature.tenant_id == current_tenant_id(),
            ProductNature.code.like(f"{prefix}%", escape="\\"))
        labour = Article.nature_id.in_(labour_natures)
        if value == "labour":
            return query.filter(labour)
        return query.filter(or_(Article.nature_id.is_(None), ~labour))

    def operation(self):
        return _l("equals")


# --- Screens --------------------------------------------------------------------------------

class MasterDataView(SecuredModelView):
    write_roles = MASTER_DATA_WRITERS
    column_searchable_list = ("code", "name")


class ClientView(MasterDataView):
    column_list = ("code", "name", "postcode", "city", "client_family", "salesperson", "deactivated")
    column_export_list = form_columns = (
        "code", "name", "deactivated", "professional", "address", "postcode", "city", "country", "email", "phone",
        "siren", "siret", "vat_number", "electronic_address", "reverse_charge", "client_family", "salesperson")
    column_searchable_list = ("code", "name", "city")
    column_filters = ("deactivated", "postcode", "city", "client_family.code", "salesperson.code")
    column_sortable_list = ("code", "name", "postcode", "city", ("client_family", "client_family.code"),
                            ("salesperson", "salesperson.code"), "deactivated")
    form_ajax_refs = {"salesperson": EMPLOYEE_LOOKUP}
    column_descriptions = {
        "professional": _l("A business needs its SIREN (French) or its VAT number (foreign) on its invoices."),
        "country": _l("ISO code (FR, BE, CH…) or the country's name."),
        "electronic_address": _l("Where the client receives e-invoices; its SIREN when empty."),
        "reverse_charge": _l("New invoices of this client are in reverse charge (building subcontracting)."),
    }


class SupplierView(MasterDataView):
    column_list = ("code", "name", "postcode", "city", "supplier_family", "phone")
    column_export_list = form_columns = (
        "code", "name", "address", "postcode", "city", "email", "phone", "supplier_family")
    column_searchable_list = ("code", "name", "city")
    column_filters = ("postcode", "city", "supplier_family.code")
    column_sortable_list = ("code", "name", "postcode", "city", ("supplier_family", "supplier_family.code"))


class ContactView(MasterDataView):
    column_list = ("code", "name", "client", "supplier", "role", "email", "phone")
    column_export_list = form_columns = ("code", "client", "supplier", "name", "email", "phone", "role")
    column_searchable_list = ("code", "name", "email")
    column_filters = ("client.code", "supplier.code", "role")
    column_sortable_list = ("code", "name", ("client", "client.code"), ("supplier", "supplier.code"), "role")
    column_descriptions = {"client": _l("A contact belongs to a client or to a supplier.")}
    form_ajax_refs = {"client": CLIENT_LOOKUP, "supplier": SUPPLIER_LOOKUP}


class SiteView(MasterDataView):
    column_list = ("code", "name", "client", "postcode", "city")
    column_export_list = form_columns = ("code", "name", "client", "address", "postcode", "city")
    column_searchable_list = ("code", "name", "city")
    column_filters = ("client.code", "client.name", "postcode", "city")
    column_sortable_list = ("code", "name", ("client", "client.code"), "postcode", "city")
    form_ajax_refs = {"client": CLIENT_LOOKUP}


class JobSiteView(MasterDataView):
    column_list = ("code", "name", "client", "site", "sector", "status", "start_date")
    column_export_list = form_columns = ("code", "name", "client", "site", "sector", "status", "start_date",
                                         "address", "postcode", "city")
    column_filters = (
        FilterEqual(JobSite.status, FIELD_LABELS["status"], options=choices(JOB_SITE_STATUSES)),
        "client.code", "site.code", "sector.code", "start_date")
    column_sortable_list = ("code", "name", ("client", "client.code"), ("site", "site.code"),
                            ("sector", "sector.code"), "status", "start_date")
    form_choices = {"status": choices(JOB_SITE_STATUSES)}
    column_formatters = {"status": choice_formatter}
    column_descriptions = {"site": _l("One of the client's sites.")}
    form_ajax_refs = {"client": CLIENT_LOOKUP, "site": SITE_LOOKUP}
    form_args = {"status": {"default": "open"}}


class EmployeeView(MasterDataView):
    column_list = ("code", "last_name", "first_name", "email", "phone", "hire_date", "technician",
                   "hourly_cost", "billable_hourly_rate")
    column_export_list = form_columns = (
        "code", "first_name", "last_name", "email", "phone", "hire_date", "technician", "hourly_cost",
        "billable_hourly_rate")
    column_searchable_list = ("code", "last_name", "first_name")
    column_filters = ("technician", "hire_date")
    column_descriptions = {"technician": _l("Technicians are sent to the field-service application.")}


class ArticleMappingInline(InlineFormAdmin):
    """The article's external code for each connector (``rules.mappings``: unique both ways)."""

    form_columns = ("id", "connector", "external_code")
    column_labels = {name: FIELD_LABELS[name] for name in ("connector", "external_code")}


class ArticleView(MasterDataView):
    column_list = ("code", "label", "article_kind", "family", "subfamily", "nature", "unit",
                   "net_purchase_price", "sale_price", "vat_rate", "active")
    column_export_list = form_columns = (
        "code", "label", "family", "subfamily", "nature", "unit", "net_purchase_price", "cost_price",
        "weighted_average_cost", "standard_cost", "sale_price", "vat_rate", "available_for_export", "active")
    column_details_list = ("code", "label", "article_kind") + column_export_list[2:]
    column_searchable_list = ("code", "label")
    column_filters = (ArticleKindFilter(), "family.code", "subfamily.code", "nature.code", "vat_rate.code",
                      "active", "available_for_export")
    column_sortable_list = ("code", "label", ("family", "family.code"), ("subfamily", "subfamily.code"),
                            ("nature", "nature.code"), "net_purchase_price", "sale_price", "active")
    column_formatters = {"article_kind": article_kind_formatter}
    column_formatters_detail = {"article_kind": article_kind_formatter}
    column_descriptions = {
        "subfamily": _l("A subfamily of the chosen family."),
        "nature": _l("Articles whose nature starts with the dossier's labour prefix are labour."),
    }
    form_args = {"active": {"default": True}, "available_for_export": {"default": True}}
    inline_models = (ArticleMappingInline(ArticleMapping),)
    column_labels = {"mappings": FIELD_LABELS["mappings"]}

    def on_model_change(self, form, model, is_created):
        """The mappings typed on the form: one per connector, not another article's code."""
        super().on_model_change(form, model, is_created)
        with db.session.no_autoflush:
            rows = [(mapping.connector.id if mapping.connector else None, mapping.external_code)
                    for mapping in model.mappings]
            messages = article_form_mapping_errors(model.tenant_id, model.id, rows)
        if messages:
            raise ValidationError(" ".join(messages))
        for mapping in model.mappings:
            mapping.tenant_id = model.tenant_id
            mapping.external_code = clean_external_code(mapping.external_code)


class ContractView(MasterDataView):
    column_list = ("code", "client", "site", "start_date", "term_date", "renewal_due_date", "open_ended")
    column_export_list = form_columns = column_list
    column_searchable_list = ("code",)
    column_filters = ("client.code", "site.code", "open_ended", "start_date", "term_date", "renewal_due_date")
    column_sortable_list = ("code", ("client", "client.code"), ("site", "site.code"), "start_date",
                            "term_date", "renewal_due_date", "open_ended")
    column_descriptions = {"renewal_due_date": _l("The end date of open-ended contracts.")}
    form_ajax_refs = {"client": CLIENT_LOOKUP, "site": SITE_LOOKUP}


class EquipmentView(MasterDataView):
    column_list = column_export_list = form_columns = ("code", "label", "site", "contract")
    column_searchable_list = ("code", "label")
    column_filters = ("site.code", "contract.code")
    column_sortable_list = ("code", "label", ("site", "site.code"), ("contract", "contract.code"))
    form_ajax_refs = {"site": SITE_LOOKUP, "contract": CONTRACT_LOOKUP}


# (model, view class, URL name, menu label): the URL name is also the RESOURCE of
# the ``export`` and ``import`` commands.
MASTER_DATA_SCREENS = (
    (Client, ClientView, "clients", _l("Clients")),
    (Supplier, SupplierView, "suppliers", _l("Suppliers")),
    (Contact, ContactView, "contacts", _l("Contacts")),
    (Site, SiteView, "sites", _l("Sites")),
    (JobSite, JobSiteView, "job-sites", _l("Job sites")),
    (Employee, EmployeeView, "employees", _l("Employees")),
    (Article, ArticleView, "articles", _l("Articles")),
    (Contract, ContractView, "contracts", _l("Contracts")),
    (Equipment, EquipmentView, "equipment", _l("Equipment")),
)
