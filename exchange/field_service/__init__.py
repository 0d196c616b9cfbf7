"""``field_service``: the field-service application (REST/JSON, ``exchanges.md`` kind 1).

Send pushes the referential (clients, sites, job sites as contracts, technicians,
articles) in batches to ``PUT /v1/…``; receive turns every administratively
validated intervention into a draft direct invoice on its job site. The rules are
``exchange.field_service.rules``, the orchestration ``exchange.field_service.engine``,
the reference peer ``exchange.field_service.peer`` (``flask --app app exchange peer
field-service``).
"""
from flask_babel import lazy_gettext as _l

from exchange.base import BOOLEAN, CHOICE, INTEGER, SECRET, TEXT, Kind, Setting, register_kind
from exchange.field_service.engine import ping, receive, send
from exchange.field_service.rules import INTEGRATE_WITH_WARNING, SKIP_WITH_WARNING


def check_settings(settings: dict) -> dict:
    from flask_babel import gettext as _
    url = (settings.get("base_url") or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > 500 or " " in url:
        return {"base_url": _("Give the base URL of the application (http:// or https://).")}
    return {}


KIND = register_kind(Kind(
    name="field_service",
    label=_l("Field-service application"),
    settings=(
        Setting("base_url", _l("Base URL"), TEXT, required=True, help=_l("For example https://api.example.com")),
        Setting("api_key", _l("API key"), SECRET, required=True),
        Setting("batch_size", _l("Batch size"), INTEGER, default=500, minimum=1),
        Setting("receive_schedule", _l("Receive schedule"), TEXT, default="",
                help=_l("every:<minutes> or a five-field cron expression; empty: no schedule")),
        Setting("send_schedule", _l("Send schedule"), TEXT, default="",
                help=_l("every:<minutes> or a five-field cron expression; empty: no schedule")),
        Setting("attach_report", _l("Attach the intervention report PDF"), BOOLEAN, default=False),
        Setting("zero_value_policy", _l("Zero-value interventions"), CHOICE, default=SKIP_WITH_WARNING,
                choices=((SKIP_WITH_WARNING, _l("Skip with a warning")),
                         (INTEGRATE_WITH_WARNING, _l("Integrate with a warning")))),
    ),
    engines={"send": send, "receive": receive},
    check=check_settings,
    test_connection=ping,
    refresh=True,
    creates=lambda settings: {"invoice"},
))

from core.glossary import CHOICE_LABELS  # noqa: E402

CHOICE_LABELS.setdefault("field_service", _l("Field-service application"))  # an invoice's origin
