"""List formatters, referenced by name from view declarations."""
from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import gettext as _

from core.glossary import CHOICE_LABELS, TABLE_LABELS, label_of


def choice_formatter(view, context, model, name):
    value = getattr(model, name)
    return CHOICE_LABELS.get(value, value)


def date_formatter(view, value, name=None):
    return value.strftime("%d/%m/%Y")


def datetime_formatter(view, value, name=None):
    return value.strftime("%d/%m/%Y %H:%M")


def decimal_formatter(view, value: Decimal, name=None):
    """Amounts and coefficients in the UI language's format (1 234,50 in French),
    with the stored number of decimals. A value no form accepts (NaN, infinity) that
    somehow got stored is shown as such rather than breaking the page."""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if not value.is_finite():
        return NOT_A_NUMBER
    places = max(-value.as_tuple().exponent, 0)
    return format_decimal(value, format="#,##0." + "0" * places if places else "#,##0")


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
    return _("Yes") if value else _("No")


def table_formatter(view, context, model, name):
    value = getattr(model, name)
    return TABLE_LABELS.get(value, value)


def field_formatter(view, context, model, name):
    return label_of(getattr(model, name))
