"""French-by-default labels of the exchanges' closed lists (directions, triggers,
statuses, item states and types), added to the glossary's ``CHOICE_LABELS`` so that
lists, filters, reports, exports and the audit log show them like every other value."""
from flask_babel import lazy_gettext as _l

from core.glossary import CHOICE_LABELS

DIRECTION_LABELS = {"send": _l("Send"), "receive": _l("Receive")}
TRIGGER_LABELS = {"manual": _l("Manual"), "scheduled": _l("Scheduled"), "login": _l("At login"),
                  "webhook": _l("Webhook"), "command": _l("Command line")}
STATUS_LABELS = {"running": _l("Running"), "success": _l("Success"), "partial": _l("Partial"),
                 "failed": _l("Failed"), "refused": _l("Not started")}
STATE_LABELS = {"ok": _l("OK"), "skipped": _l("Skipped"), "warning": _l("Warning"), "error": _l("Error")}
TYPE_LABELS = {"file": _l("File"), "client": _l("Client"), "site": _l("Site"), "job_site": _l("Job site"),
               "employee": _l("Employee"), "article": _l("Article"), "document": _l("Document"),
               "intervention": _l("Intervention"), "work_order": _l("Work order"), "party": _l("Party")}
AUDIT_LABELS = {"run": _l("Connector run"), "purge": _l("Purge")}

EXCHANGE_LABELS = {**TYPE_LABELS, **DIRECTION_LABELS, **TRIGGER_LABELS, **STATUS_LABELS, **STATE_LABELS,
                   **AUDIT_LABELS}
for value, text in EXCHANGE_LABELS.items():
    CHOICE_LABELS.setdefault(value, text)


def label(value: str) -> str:
    """The label of an exchange value (the exchange's own wording first: a run's
    ``manual`` trigger is not the glossary's "manual entry")."""
    return str(EXCHANGE_LABELS.get(value) or CHOICE_LABELS.get(value, value))
