"""Rules of the master data (``master-data.md``).

Each row rule has the signature of ``rules.parameters.ROW_RULES``:
``(values, tenant_id, row_id) -> {field: message}``, where ``values`` holds the
form's or the imported row's values (relations as rows). They are run by the
screens on save and by the spreadsheet import on every row.
"""
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from models import (
    Article, Client, Contact, Contract, DossierSettings, Employee, Equipment, JobSite, Site, Supplier,
)
from models.base import TenantScoped
from models.master_data import ARTICLE_PRICES, EMPLOYEE_AMOUNTS
from rules.pricing import is_labour_nature

Errors = dict[str, str]
DEFAULT_LABOUR_PREFIX = "4MO"

__all__ = ["MASTER_DATA_ROW_RULES", "article_kind", "contract_end_date", "is_labour_nature",
           "labour_nature_prefix", "places_of_client_errors"]


# --- Shared checks -------------------------------------------------------------------------

def foreign_tenant_errors(values: dict, tenant_id: int) -> Errors:
    """A relation pointing at a row of another tenant is refused (screens and imports only
    offer the tenant's rows; this guards the rule functions themselves)."""
    return {
        name: _("This row belongs to another dossier.")
        for name, value in values.items()
        if isinstance(value, TenantScoped) and value.tenant_id is not None and value.tenant_id != tenant_id
    }


def client_required_errors(values: dict) -> Errors:
    if values.get("client") is None:
        return {"client": _("Choose the client.")}
    return {}


def places_of_client_errors(values: dict) -> Errors:
    """The chosen site and job site must be the chosen client's own.

    The one rule for every row that names a client with a site or a job site: job
    sites, contracts and invoices on their screens and in their imports (connectors and
    the webhook reuse it with the same ``values`` dictionary)."""
    client = values.get("client")
    if client is None:
        return {}
    errors: Errors = {}
    site, job_site = values.get("site"), values.get("job_site")
    if site is not None and site.client_id != client.id:
        errors["site"] = _("The site %(site)s belongs to another client than %(client)s.",
                           site=site.code, client=client.code)
    if job_site is not None and job_site.client_id != client.id:
        errors["job_site"] = _("The job site %(job_site)s belongs to another client than %(client)s.",
                               job_site=job_site.code, client=client.code)
    return errors


def not_negative_errors(values: dict, fields) -> Errors:
    return {
        name: _("The amount cannot be negative.")
        for name in fields if values.get(name) is not None and Decimal(values[name]) < 0
    }


def _merge(*parts: Errors) -> Errors:
    errors: Errors = {}
    for part in parts:
        for name, message in part.items():
            errors.setdefault(name, message)
    return errors


# --- Row rules -----------------------------------------------------------------------------

def client_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """A client's SIRET begins with its SIREN when both are given (invoicing.md)."""
    errors = foreign_tenant_errors(values, tenant_id)
    siren = "".join((values.get("siren") or "").split())
    siret = "".join((values.get("siret") or "").split())
    if siren and siret and siret[:9] != siren:
        errors.setdefault("siret", _("The first nine digits of the SIRET must be the SIREN (%(siren)s).",
                                     siren=siren))
    return errors


def supplier_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    return foreign_tenant_errors(values, tenant_id)


def contact_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """A contact belongs to exactly one party: a client or a supplier."""
    errors = foreign_tenant_errors(values, tenant_id)
    client, supplier = values.get("client"), values.get("supplier")
    if client is None and supplier is None:
        errors.setdefault("client", _("Choose the client or the supplier of this contact."))
    elif client is not None and supplier is not None:
        errors.setdefault("supplier", _("A contact belongs to a client or to a supplier, not to both."))
    return errors


def site_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """A site belongs to a client."""
    return _merge(foreign_tenant_errors(values, tenant_id), client_required_errors(values))


def job_site_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """A job site has a client, and its site (optional) is one of that client's sites."""
    return _merge(foreign_tenant_errors(values, tenant_id), client_required_errors(values),
                  places_of_client_errors(values))


def employee_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    return _merge(foreign_tenant_errors(values, tenant_id), not_negative_errors(values, EMPLOYEE_AMOUNTS))


def article_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """Prices are not negative; the family is a family and the subfamily one of its subfamilies."""
    errors = _merge(foreign_tenant_errors(values, tenant_id), not_negative_errors(values, ARTICLE_PRICES))
    family, subfamily = values.get("family"), values.get("subfamily")
    if family is not None and family.parent_id is not None:
        errors.setdefault("family", _("%(code)s is a subfamily: choose a family.", code=family.code))
    if subfamily is not None:
        if subfamily.parent_id is None:
            errors.setdefault("subfamily", _("%(code)s is a family, not a subfamily.", code=subfamily.code))
        elif family is None:
            errors.setdefault("family", _("Choose the family of the subfamily %(code)s.", code=subfamily.code))
        elif subfamily.parent_id != family.id:
            errors.setdefault("subfamily", _("The subfamily %(code)s does not belong to the family %(family)s.",
                                             code=subfamily.code, family=family.code))
    return errors


def contract_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """A contract has a client, its site is one of the client's, it does not end before it starts."""
    errors = _merge(foreign_tenant_errors(values, tenant_id), client_required_errors(values),
                    places_of_client_errors(values))
    start, term = values.get("start_date"), values.get("term_date")
    if start is not None and term is not None and term < start:
        errors.setdefault("term_date", _("The term date cannot be before the start date."))
    return errors


def equipment_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    return foreign_tenant_errors(values, tenant_id)


MASTER_DATA_ROW_RULES = {
    Client: client_errors,
    Supplier: supplier_errors,
    Contact: contact_errors,
    Site: site_errors,
    JobSite: job_site_errors,
    Employee: employee_errors,
    Article: article_errors,
    Contract: contract_errors,
    Equipment: equipment_errors,
}


# --- Derived values ------------------------------------------------------------------------

def labour_nature_prefix(tenant_id: int) -> str:
    """The tenant's labour nature prefix (dossier settings), ``4MO`` when not set."""
    prefix = db.session.execute(
        select(DossierSettings.labour_nature_prefix).where(DossierSettings.tenant_id == tenant_id)
    ).scalar()
    return prefix or DEFAULT_LABOUR_PREFIX


def article_kind(nature_code: str | None, labour_prefix: str) -> str:
    """``labour`` when the nature is a labour nature, else ``supply``."""
    return "labour" if is_labour_nature(nature_code, labour_prefix) else "supply"


def contract_end_date(open_ended: bool, term_date: date | None, renewal_due_date: date | None,
                      basis: str) -> date | None:
    """The end date sent to the field-service app (``parameters.md``, contracts tab): for an
    open-ended contract, its renewal due date; for a fixed-term contract, the date chosen by
    the dossier's basis (``due_date`` → renewal due date, ``term_date`` → term date) minus one day."""
    if open_ended:
        return renewal_due_date
    chosen = renewal_due_date if basis == "due_date" else term_date
    return chosen - timedelta(days=1) if chosen is not None else None
