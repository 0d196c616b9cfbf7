"""The one place numbers, amounts, dates and closed-list values are put into words for a
person: list and detail formatters of the model views, and the template filters of every
screen and printed document (``register_filters``). All go through Babel, in the UI
language (``1 234,50`` in French); times are Paris times (``core.clock``).
"""
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import g, has_request_context
from flask_babel import force_locale, format_currency, format_decimal, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from sqlalchemy import Boolean, Date, DateTime, Numeric, String, select

from core.clock import to_business_time, today
from core.extensions import db
from core.glossary import CHOICE_LABELS, TABLE_LABELS, label_of
from core.tenancy import current_tenant_id
from models.exchange import Connector

CURRENCY = "EUR"
NAME_SHORTENED_AT = 30


# --- values -----------------------------------------------------------------------------------

def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def number_text(value, places: int | None = None) -> str:
    """A number as a person reads it: with the stored decimals, at least two when it has
    decimals, trailing zeros beyond two dropped (``47.5200`` → ``47,52``, ``1.3500`` →
    ``1,35``, ``1250.4`` → ``1 250,40``, ``3`` → ``3``). ``places`` fixes the decimals."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    if places is None:
        stored = max(-number.as_tuple().exponent, 0)
        pattern = "#,##0" + (".00" + "#" * max(stored - 2, 0) if stored else "")
    else:
        pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(number, format=pattern)


def fast_amount_text():
    """``amount_text`` for thousands of rows (the payments control screen): the locale's
    symbols are looked up once, then each amount is formatted by Python."""
    locale = get_locale()
    group, decimal_sign = get_group_symbol(locale), get_decimal_symbol(locale)

    def text(value) -> str:
        number = value if type(value) is Decimal and value.is_finite() else _decimal(value)
        if number is None:
            return "" if value is None else str(value)
        return f"{number:,.2f}".replace(",", "\0").replace(".", decimal_sign).replace("\0", group)
    return text


def amount_text(value) -> str:
    """An amount of money without its currency (lists, tables): two decimals."""
    return number_text(value, places=2)


def money_text(value) -> str:
    """An amount with its currency (documents, totals): ``7 884,34 €``."""
    number = _decimal(value)
    return "" if number is None else format_currency(number, CURRENCY)


def percent_text(value) -> str:
    """A rate stored in percent (``5.50`` → ``5,5 %``, ``20.00`` → ``20 %``)."""
    number = _decimal(value)
    return "" if number is None else format_decimal(number, format="#,##0.##") + "\u00a0%"


def date_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_business_time(value)
    return value.strftime("%d/%m/%Y")


def datetime_text(value) -> str:
    """A stored (UTC) moment in Paris time: ``02/12/2026 04:09``."""
    return "" if value is None else to_business_time(value).strftime("%d/%m/%Y %H:%M")


def yes_no_text(value) -> str:
    return _("Yes") if value else _("No")


def choice_text(value) -> str:
    return "" if value is None else str(CHOICE_LABELS.get(value, value))


def origin_text(value) -> str:
    """Where a document comes from, as its user names it: *Saisie manuelle*, the code of
    the CSV exchange connector it came through (stored as ``csv_exchange:<connector id>``,
    an id unique over tenants for the document's key), or the application's label."""
    kind, separator, connector_id = (value or "").partition(":")
    if separator and connector_id.isdigit():
        return _connector_codes().get(int(connector_id)) or choice_text(kind)
    return choice_text(value)


def _connector_codes() -> dict[int, str]:
    """The current dossier's connector codes by id, read once per request."""
    if has_request_context() and "connector_codes" in g:
        return g.connector_codes
    codes = dict(db.session.execute(select(Connector.id, Connector.code)
                                    .where(Connector.tenant_id == current_tenant_id())).all())
    if has_request_context():
        g.connector_codes = codes
    return codes


def related_text(row) -> str:
    """A related row as code and name (``C0012 — Dupont Bâtiment``)."""
    if row is None:
        return ""
    code = getattr(row, "code", None) or getattr(row, "number", None)
    name = getattr(row, "name", None) or getattr(row, "label", None)
    if code and name:
        return f"{code} — {name}"
    return str(code or name or row)


def related_markup(row) -> Markup:
    """In lists: the code and a name shortened to fit, the whole on hover."""
    full = related_text(row)
    code = getattr(row, "code", None) or getattr(row, "number", None)
    if not code or len(full) <= len(str(code)) + 3 + NAME_SHORTENED_AT:
        return Markup('<span class="related" title="{0}">{0}</span>').format(full)
    shown = full[:len(str(code)) + 3 + NAME_SHORTENED_AT].rstrip() + "…"
    return Markup('<span class="related" title="{0}">{1}</span>').format(full, shown)


# --- Flask-Admin formatters (signatures fixed by Flask-Admin) ------------------------------------

def choice_formatter(view, context, model, name):
    return choice_text(getattr(model, name))


def date_formatter(view, value, name=None):
    return date_text(value)


def datetime_formatter(view, value, name=None):
    return datetime_text(value)


def decimal_formatter(view, value: Decimal, name=None):
    """Amounts and coefficients in the UI language's format (1 234,50 in French). A value
    no form accepts (NaN, infinity) that somehow got stored is shown as such rather than
    breaking the page."""
    if isinstance(value, Decimal) and not value.is_finite():
        return NOT_A_NUMBER
    return number_text(value)


NOT_A_NUMBER = "—"


def form_decimal(value, scale: int | None = None) -> str:
    """A decimal as put back in a form's text input: the UI language's decimal sign, no
    grouping, trailing zeros dropped down to 2 decimals (``1,25``, ``1250,40``)."""
    if value is None:
        return ""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if not value.is_finite():
        return ""
    places = max(-value.as_tuple().exponent, 0) if scale is None else scale
    kept = min(2, places)
    return format_decimal(value, format="0" + ("." + "0" * kept + "#" * (places - kept) if places else ""))


def yes_no_formatter(view, value, name=None):
    return yes_no_text(value)


def table_formatter(view, context, model, name):
    value = getattr(model, name)
    return TABLE_LABELS.get(value, value)


def field_formatter(view, context, model, name):
    return label_of(getattr(model, name))


# --- template filters ----------------------------------------------------------------------------

FILTERS = {
    "number": number_text,
    "amount": amount_text,
    "money": money_text,
    "percent": percent_text,
    "date_fr": date_text,
    "datetime_fr": datetime_text,
    "yes_no": yes_no_text,
    "choice_label": choice_text,
    "related": related_text,
}


def register_filters(app) -> None:
    """Every template formats with the same filters: ``{{ invoice.total_incl_vat|money }}``."""
    app.jinja_env.filters.update(FILTERS)



def file_name(screen_name, extension: str = "xlsx") -> str:
    """The name of a file a screen gives: its French name and Paris date
    (``codes_operation_20261202.xlsx``), without accents or spaces."""
    with force_locale("fr"):
        words = str(screen_name)
    plain = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    return f"{slug}_{today():%Y%m%d}.{extension}"


def stored_value_text(table_name: str, field: str, text: str | None) -> str:
    """A value as the audit log stored it (text) in the format of the screens: the column's
    type says how (``2026-12-02T03:09:54`` → ``02/12/2026 04:09``, ``1`` → ``Oui``,
    ``draft`` → ``Brouillon``, ``47.5200`` → ``47,52``). Relations are stored by code."""
    if text is None or text == "":
        return ""
    column = _stored_column(table_name, field)
    kind = getattr(column, "type", None)
    try:
        if isinstance(kind, Boolean):
            return yes_no_text(text not in ("0", "False", "false"))
        if isinstance(kind, DateTime):
            return datetime_text(datetime.fromisoformat(text))
        if isinstance(kind, Date):
            return date_text(date.fromisoformat(text[:10]))
        if isinstance(kind, Numeric):
            return number_text(Decimal(text))
    except (ValueError, InvalidOperation):
        return text
    if isinstance(kind, String) and field not in FREE_TEXT_FIELDS:
        return choice_text(text)
    return text


FREE_TEXT_FIELDS = {"code", "label", "name", "number", "email", "user_email", "full_name", "address", "city",
                    "body", "memo", "internal_note", "external_reference", "filename"}


def _stored_column(table_name: str, field: str):
    table = db.metadata.tables.get(table_name)
    if table is None:
        return None
    return table.c.get(field)


def audit_value_formatter(view, context, model, name):
    return stored_value_text(model.table_name, model.field, getattr(model, name))
