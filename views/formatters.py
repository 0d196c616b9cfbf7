"""List formatters, referenced by name from view declarations."""
from core.glossary import CHOICE_LABELS


def choice_formatter(view, context, model, name):
    value = getattr(model, name)
    return CHOICE_LABELS.get(value, value)


def date_formatter(view, value, name=None):
    return value.strftime("%d/%m/%Y")


def datetime_formatter(view, value, name=None):
    return value.strftime("%d/%m/%Y %H:%M")
