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
    with the stored number of decimals."""
    places = max(-value.as_tuple().exponent, 0)
    return format_decimal(value, format="#,##0." + "0" * places if places else "#,##0")


def yes_no_formatter(view, value, name=None):
    return _("Yes") if value else _("No")


def table_formatter(view, context, model, name):
    value = getattr(model, name)
    return TABLE_LABELS.get(value, value)


def field_formatter(view, context, model, name):
    return label_of(getattr(model, name))
