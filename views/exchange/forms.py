"""The connector form, built from the kind's settings: one field per setting, secrets
as password inputs that never show their value (left empty, the saved one is kept)."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from core.glossary import FIELD_LABELS
from exchange.base import BOOLEAN, CHOICE, SECRET, Kind, current_settings_text, has_secret

MASK = "••••••"


def connector_form_class(base, kind: Kind, connector=None):
    class ConnectorForm(base):
        code = StringField(FIELD_LABELS["code"], [InputRequired(), Length(max=40)])
        label = StringField(FIELD_LABELS["label"], [Length(max=200)])
        enabled = BooleanField(_l("Enabled"), default=True)

    for setting in kind.settings:
        kwargs = {"label": setting.label, "description": setting.help}
        if setting.type == SECRET:
            saved = connector is not None and has_secret(connector, setting.name)
            placeholder = _("%(mask)s saved: leave empty to keep it", mask=MASK) if saved else ""
            field = PasswordField(render_kw={"placeholder": placeholder, "autocomplete": "new-password"}, **kwargs)
        elif setting.type == BOOLEAN:
            field = BooleanField(default=bool(setting.default), **kwargs)
        elif setting.type == CHOICE:
            field = SelectField(choices=[("", "—")] + [(value, text) for value, text in setting.choices],
                                default=setting.default or "", **kwargs)
        else:
            field = StringField(default="" if setting.default is None else str(setting.default), **kwargs)
        setattr(ConnectorForm, setting.name, field)
    return ConnectorForm


def form_data(connector) -> dict:
    """Initial values of the edit form (never a secret)."""
    values = {"code": connector.code, "label": connector.label, "enabled": connector.enabled}
    for name, value in current_settings_text(connector).items():
        values[name] = "" if value is None else value
    return values


def raw_settings(form, kind: Kind) -> dict:
    return {setting.name: form[setting.name].data for setting in kind.settings}
