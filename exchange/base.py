"""What a connector kind is, the registry of kinds, and saving a connector.

A kind declares its settings (names of ``exchanges.md``, types, defaults), its
cross-field rules and one engine per direction; a new kind is one folder in
``exchange/`` with a ``register_kind(...)`` call, listed in ``BUILT_IN_KINDS``.
``save_connector`` is the one validation the form and ``connectors create`` share:
every problem is returned at once, keyed by field, and nothing is flushed when
there is one.
"""
import importlib
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Callable

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.crypto import decrypt_secrets, encrypt_secrets
from core.extensions import db
from core.paths import FolderRefused, exchange_folder, within
from exchange.schedules import ScheduleError, normalised, setting_name
from models.exchange import DIRECTIONS, Connector
from spreadsheets import cells
from rules import health

TEXT, INTEGER, BOOLEAN, CHOICE, FOLDER, SECRET = "text", "integer", "boolean", "choice", "folder", "secret"
SCHEDULE = "schedule"  # `every:<minutes>` or a five-field cron (exchange.schedules), run by the scheduler
DECIMAL = "decimal"  # stored as its canonical text ("0.45"): the settings column is JSON
TRUE_WORDS = {"1", "true", "yes", "on", "oui", "vrai", "y"}
FALSE_WORDS = {"0", "false", "no", "off", "non", "faux", "n", ""}
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")

# Kinds shipped with the application: "module path" of each kind's package.
BUILT_IN_KINDS: tuple[str, ...] = ("exchange.csv_exchange", "exchange.field_service", "exchange.work_orders")
TEST_KIND = "exchange.test_kind"


@dataclass(frozen=True)
class Setting:
    name: str
    label: object
    type: str = TEXT
    required: bool = False
    default: object = None
    choices: tuple = ()          # (value, label) pairs for CHOICE
    minimum: int | None = None   # for INTEGER and DECIMAL
    reads_files: bool = False    # a FOLDER the connector imports from: unique over all connectors
    help: object = ""
    step: str = ""               # the creation step that shows it (a stepped form groups by step)


class RunFailed(Exception):
    """Ends a run as ``failed`` with a readable message (peer down, refused key…)."""


class ItemError(Exception):
    """Ends one document as an ``error`` item (rolled back); the run goes on."""


@dataclass
class Kind:
    name: str
    label: object
    settings: tuple[Setting, ...]
    engines: dict[str, Callable] = field(default_factory=dict)   # direction -> engine(run)
    check: Callable[[dict], dict] | None = None                  # cross-field rules -> {field: message}
    creates: Callable[[dict], set] | None = None                 # settings -> document types it makes
    test_connection: Callable | None = None                      # connector -> French result, or RunFailed
    refresh: bool = False                                        # *Actualiser les données*: send then receive
    # rules that read the tenant's data (an article code that must exist): (settings, tenant id) -> errors
    check_in_tenant: Callable[[dict, int], dict] | None = None
    steps: tuple = ()                                            # (step, label) of a stepped creation form
    # (settings, direction) -> whether the direction's schedule runs (by default: when it is set)
    schedule_applies: Callable[[dict, str], bool] | None = None

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(direction for direction in DIRECTIONS if direction in self.engines)

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    @property
    def secret_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.settings if s.type == SECRET)


KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Register a kind; every direction it runs gets its schedule setting (``SCHEDULE``,
    validated by ``exchange.schedules``) whether the kind declares it or not."""
    kind.settings = _with_schedules(kind)
    KINDS[kind.name] = kind
    return kind


def _with_schedules(kind: Kind) -> tuple[Setting, ...]:
    settings = list(kind.settings)
    for standard in schedule_settings(*kind.directions):
        declared = next((i for i, s in enumerate(settings) if s.name == standard.name), None)
        if declared is None:
            settings.append(standard)
        elif settings[declared].type != SCHEDULE:  # declared as a plain text: validated all the same
            settings[declared] = replace(settings[declared], type=SCHEDULE)
    return tuple(settings)


def load_kinds(app) -> None:
    """Import the built-in kinds (each registers itself), and the test kind when testing."""
    modules = list(BUILT_IN_KINDS)
    if app.config.get("TESTING") or app.config.get("EXCHANGE_TEST_KIND"):
        modules.append(TEST_KIND)
    for module in modules:
        importlib.import_module(module)


def kind_of(name: str) -> Kind | None:
    return KINDS.get(name)


def kind_choices() -> list[tuple[str, str]]:
    return [(kind.name, str(kind.label)) for kind in KINDS.values()]


# --- settings ---------------------------------------------------------------------------------------

def _typed(setting: Setting, raw):
    """``raw`` (a form or command-line value) as the setting's type, or ``ValueError(message)``."""
    if setting.type == BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw or "").strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValueError(_("Answer yes or no."))
    text = "" if raw is None else str(raw).strip()
    if "\x00" in text:
        raise ValueError(_("This value contains a forbidden character."))
    if not text:
        if setting.required and setting.default in (None, ""):  # a required setting with a default takes it
            raise ValueError(_("This setting is required."))
        return setting.default
    if setting.type == INTEGER:
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise ValueError(_("Give a whole number."))
        number = int(text)
        if setting.minimum is not None and number < setting.minimum:
            raise ValueError(_("Give a number of at least %(minimum)s.", minimum=setting.minimum))
        return number
    if setting.type == DECIMAL:
        return _decimal_text(setting, text)
    if setting.type == CHOICE:
        allowed = [value for value, _label in setting.choices]
        if text not in allowed:
            raise ValueError(_("Choose one of: %(values)s.", values=", ".join(allowed)))
        return text
    if setting.type == FOLDER:
        try:
            return exchange_folder(text)
        except FolderRefused as refused:
            raise ValueError(str(refused.args[0]))
    if setting.type == SCHEDULE:
        try:
            return normalised(text)
        except ScheduleError as error:
            raise ValueError(str(error)) from None
    return text


SCHEDULE_HELP = _l("Empty: never scheduled. every:<minutes> (every:15) or a cron of five fields, "
                   "minute hour day month weekday, in Paris time (30 6 * * 1-5: 6:30 on weekdays).")


def schedule_settings(*directions: str) -> tuple[Setting, ...]:
    """The schedule settings of a kind, one per direction it runs (``receive_schedule``,
    ``send_schedule``): every kind adds ``*schedule_settings("receive", "send")`` to its
    settings, and the scheduler runs them."""
    labels = {"receive": _l("Receive schedule"), "send": _l("Send schedule")}
    return tuple(Setting(setting_name(direction), labels[direction], SCHEDULE, default="", help=SCHEDULE_HELP)
                 for direction in directions)
DECIMAL_LIMITS = cells.Limits(precision=13, scale=4)  # up to 9 digits before the point, 4 after


def _decimal_text(setting: Setting, text: str) -> str:
    """A decimal typed with a point or a comma (read by the one cell parser), as its
    canonical text (``"0.45"``)."""
    number = cells.parse_decimal(text, DECIMAL_LIMITS)
    if setting.minimum is not None and number < setting.minimum:
        raise ValueError(_("Give a number of at least %(minimum)s.", minimum=setting.minimum))
    return format(number.normalize(), "f") if number else "0"


def decimal_setting(settings: dict, name: str) -> Decimal | None:
    """A DECIMAL setting as a ``Decimal`` (None when empty)."""
    value = (settings or {}).get(name)
    return None if value in (None, "") else Decimal(str(value))


def parse_settings(kind: Kind, raw: dict, existing_secrets: dict | None = None):
    """Typed settings, secrets and errors of ``raw`` (``{name: text}``). A secret left
    empty keeps its saved value; unknown names are errors."""
    settings, secrets, errors = {}, dict(existing_secrets or {}), {}
    for name in raw:
        if kind.setting(name) is None:
            errors[name] = _("Unknown setting %(name)s for this kind of connector.", name=name)
    for setting in kind.settings:
        value = raw.get(setting.name)
        if setting.type == SECRET:
            text = "" if value is None else str(value).strip()
            if text:
                secrets[setting.name] = text
            elif setting.required and not secrets.get(setting.name):
                errors[setting.name] = _("This setting is required.")
            continue
        try:
            settings[setting.name] = _typed(setting, value)
        except ValueError as error:
            errors[setting.name] = str(error)
    if not errors and kind.check:
        errors.update(kind.check(settings))
    return settings, secrets, errors


def _import_folder(kind: Kind, settings: dict) -> str | None:
    folder = next((settings.get(s.name) for s in kind.settings if s.reads_files and settings.get(s.name)), None)
    return folder


def _folder_clashes(kind: Kind, settings: dict, own_id: int | None) -> dict:
    """The folder settings that would mix one connector's files with another's (of any
    tenant): an import folder in, around or equal to another's import folder (one would
    read the other's files, or its ``archive/``, and integrate them again under its own
    keys), or equal to another's export folder; an export folder in or equal to another's
    import folder (its files would be read, or rejected, there)."""
    folders = [s for s in kind.settings if s.type == FOLDER and settings.get(s.name)]
    if not folders:
        return {}
    imports, exports = set(), set()
    for other in db.session.scalars(select(Connector).where(Connector.id != (own_id or -1))):
        other_kind = kind_of(other.kind)
        for setting in other_kind.settings if other_kind else ():
            value = (other.settings or {}).get(setting.name) if setting.type == FOLDER else None
            if value:
                (imports if setting.reads_files else exports).add(value)
    errors = {}
    for setting in folders:
        value = settings[setting.name]
        if setting.reads_files and value in imports:
            errors[setting.name] = _("This import folder is already used by another connector.")
        elif setting.reads_files and any(within(value, other) or within(other, value) for other in imports):
            errors[setting.name] = _("This import folder holds, or is inside, another connector's import folder: "
                                     "one would read the other's files.")
        elif setting.reads_files and value in exports:
            errors[setting.name] = _("This import folder is another connector's export folder.")
        elif not setting.reads_files and any(within(value, other) for other in imports):
            errors[setting.name] = _("This folder is, or is inside, another connector's import folder: its files "
                                     "would be read there.")
    return errors


def save_connector(tenant_id: int, kind_name: str, code: str, label: str = "", enabled: bool = True,
                   raw_settings: dict | None = None, connector: Connector | None = None):
    """Create (``connector`` None) or update a connector; ``(connector, {})`` once flushed,
    or ``(None, errors)`` with every problem and nothing changed."""
    errors = {}
    kind = kind_of(kind_name)
    if kind is None:
        return None, {"kind": _("Unknown kind of connector: %(kind)s.", kind=kind_name)}
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        errors["code"] = _("A code is 1 to 40 capital letters, digits, “-” or “_”.")
    elif db.session.query(Connector.id).filter(
            Connector.tenant_id == tenant_id, func.upper(Connector.code) == code,
            Connector.id != (connector.id if connector else -1)).first():
        errors["code"] = _("A connector with this code already exists in this dossier.")
    existing = decrypt_secrets(connector.secrets) if connector else {}
    settings, secrets, setting_errors = parse_settings(kind, raw_settings or {}, existing)
    errors.update(setting_errors)
    if not setting_errors and kind.check_in_tenant:
        errors.update(kind.check_in_tenant(settings, tenant_id))
    folder = _import_folder(kind, settings)
    if not setting_errors:
        errors.update(_folder_clashes(kind, settings, connector.id if connector else None))
    if errors:
        return None, errors
    if connector is None:
        connector = Connector(tenant_id=tenant_id, kind=kind.name)
        db.session.add(connector)
    connector.code, connector.label, connector.enabled = code, (label or "").strip(), bool(enabled)
    connector.settings, connector.import_folder = settings, folder
    if secrets != existing or connector.secrets is None:
        connector.secrets = encrypt_secrets(secrets)
    db.session.flush()
    return connector, {}


def connector_secrets(connector: Connector) -> dict[str, str]:
    return decrypt_secrets(connector.secrets)


def setting_label(kind: Kind, name: str) -> str:
    setting = kind.setting(name)
    return str(setting.label) if setting else name


def current_settings_text(connector: Connector) -> dict[str, str]:
    """The saved settings as a form shows them (secrets never: they stay empty, masked)."""
    kind = kind_of(connector.kind)
    values = {}
    for setting in kind.settings if kind else ():
        if setting.type == SECRET:
            continue
        value = (connector.settings or {}).get(setting.name)
        values[setting.name] = value
    return values


def has_secret(connector: Connector, name: str) -> bool:
    try:
        return bool(decrypt_secrets(connector.secrets).get(name))
    except Exception:  # a key that changed: the form says the secret must be typed again
        current_app.logger.warning("connector %s: secrets cannot be decrypted", connector.id)
        return False


# --- the parameter health check of connectors ------------------------------------------------------

def _enabled_connectors(tenant_id: int):
    return db.session.query(Connector).filter_by(tenant_id=tenant_id, enabled=True).order_by(Connector.code).all()


@health.check
def connector_settings(tenant_id: int) -> list:
    """Enabled connectors whose saved settings no longer pass their kind's validation
    (a required setting added since, a relation whose row was deleted…)."""
    findings = []
    for connector in _enabled_connectors(tenant_id):
        kind = kind_of(connector.kind)
        if kind is None:
            continue
        saved = {name: value for name, value in (connector.settings or {}).items() if kind.setting(name)}
        try:
            secrets = decrypt_secrets(connector.secrets)
        except Exception:  # a key that changed: the secrets must be typed again
            secrets = {}
        _settings, _secrets, errors = parse_settings(kind, saved, secrets)
        if errors:
            problems = "; ".join(f"{setting_label(kind, name)} : {message}" for name, message in sorted(errors.items()))
            findings.append(health.Finding("CONNECTOR_SETTINGS_INCOMPLETE", health.BLOCKING, _(
                "Connector %(code)s: %(problems)s", code=connector.code, problems=problems),
                "connectors", connector.id, connector.code))
    return findings


@health.check
def connector_sequences(tenant_id: int) -> list:
    """The documents an enabled connector makes need their numbering sequence."""
    findings = []
    for connector in _enabled_connectors(tenant_id):
        kind = kind_of(connector.kind)
        if kind is not None and kind.creates:
            findings += health.sequences_missing(tenant_id, kind.creates(connector.settings or {}),
                                                 _(" by connector %(code)s", code=connector.code))
    return findings
