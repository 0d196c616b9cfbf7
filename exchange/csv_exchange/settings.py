"""The rules of the CSV exchange settings: the cross-field ones (``check_settings``)
and the codes of related rows, which must exist in the tenant (``check_tenant_settings``).
A code found is stored as the tenant spells it."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.extensions import db
from core.paths import within
from models import ArticleFamily, ClientFamily, Depot, Establishment, PriceCategory, SupplierFamily, Unit


def family_codes(text: str) -> list[str]:
    return [code.strip() for code in (text or "").split(",") if code.strip()]


def schedule_applies(settings: dict, direction: str) -> bool:
    """The receive schedule runs in ``scheduled`` update mode only (``manual``: the reception
    screen; ``at_login``: the banner); the send schedule whenever it is set."""
    return direction != "receive" or settings.get("update_mode") == "scheduled"


def check_settings(settings: dict) -> dict:
    from jobs.schedules import ScheduleError, parse  # the one schedule parser (screen and scheduler)
    errors = {}
    if settings.get("articles_mode") == "custom_filter" and not family_codes(settings.get("article_filter")):
        errors["article_filter"] = _("Give the article family codes to send (separated by commas).")
    if settings.get("clients_mode") == "custom_filter" and not family_codes(settings.get("client_filter")):
        errors["client_filter"] = _("Give the client family codes to send (separated by commas).")
    sends = settings.get("articles_mode") != "none" or settings.get("clients_mode") != "none"
    if sends and not settings.get("export_folder"):
        errors["export_folder"] = _("The export folder is required when articles or clients are sent.")
    export, import_ = settings.get("export_folder"), settings.get("import_folder")
    if export and import_ and within(export, import_):
        # inside it: archive/ and rejected/ are there, and purged
        errors["export_folder"] = _("The export folder must be outside the import folder.")
    receive_schedule = (settings.get("receive_schedule") or "").strip()
    if settings.get("update_mode") == "scheduled" and not receive_schedule:
        errors["receive_schedule"] = _("The receive schedule is required in scheduled mode.")
    elif receive_schedule and not schedule_applies(settings, "receive"):
        errors["receive_schedule"] = _("A receive schedule applies in scheduled mode only: choose that mode or "
                                       "empty the schedule.")
    for name in ("receive_schedule", "send_schedule"):
        try:
            parse(settings.get(name))
        except (ScheduleError, ValueError):
            errors.setdefault(name, _("Give every:<minutes> or a five-field cron expression."))
    return errors


def _find(model, tenant_id: int, code: str):
    return db.session.scalar(select(model.code).where(model.tenant_id == tenant_id,
                                                      func.upper(model.code) == code.strip().upper()))


def check_tenant_settings(settings: dict, tenant_id: int) -> dict:
    errors = {}
    single = (("price_category", PriceCategory), ("unit", Unit), ("depot", Depot), ("establishment", Establishment),
              ("client_family", ClientFamily), ("supplier_family", SupplierFamily))
    for name, model in single:
        code = (settings.get(name) or "").strip()
        if not code:
            continue
        found = _find(model, tenant_id, code)
        if found is None:
            errors[name] = _("Unknown code in this dossier: %(code)s.", code=code)
        else:
            settings[name] = found
    for name, model in (("article_filter", ArticleFamily), ("client_filter", ClientFamily)):
        codes, unknown, found_codes = family_codes(settings.get(name)), [], []
        for code in codes:
            found = _find(model, tenant_id, code)
            (found_codes.append(found) if found else unknown.append(code))
        if unknown:
            errors[name] = _("Unknown code in this dossier: %(code)s.", code=", ".join(unknown))
        elif codes:
            settings[name] = ",".join(found_codes)
    if not settings.get("establishment") and "establishment" not in errors:
        count = db.session.scalar(select(func.count(Establishment.id)).where(Establishment.tenant_id == tenant_id))
        if count and count > 1:
            errors["establishment"] = _("This dossier has several establishments: choose the one that receives.")
    return errors
