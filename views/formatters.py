"""List formatters, referenced by name from view declarations."""
from core.glossary import CHOICE_LABELS


def choice_formatter(view, context, model, name):
    value = getattr(model, name)
    return CHOICE_LABELS.get(value, value)
