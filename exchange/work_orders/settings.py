"""The work-order connector's setting rules: the schedule reads, the article codes exist
in the tenant, the base URL is an http(s) address."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.extensions import db
from models import Article, ArticleFamily

ARTICLE_SETTINGS = ("labour_article", "mileage_article")


def family_codes(text: str | None) -> list[str]:
    """The product filter as a list of family codes (upper case, no blanks)."""
    return [code.strip().upper() for code in (text or "").split(",") if code.strip()]


def check_settings(settings: dict) -> dict:
    errors = {}
    base_url = (settings.get("base_url") or "").strip()
    if base_url and not base_url.startswith(("http://", "https://")):
        errors["base_url"] = _("Give an address starting with http:// or https://.")
    schedule = settings.get("send_schedule")
    if schedule:
        from jobs.schedules import ScheduleError, parse  # the one schedule parser (a plain function)
        try:
            parse(schedule)
        except ScheduleError:
            errors["send_schedule"] = _("Give every:<minutes> or a five-field cron expression.")
    return errors


def check_in_tenant(settings: dict, tenant_id: int) -> dict:
    """The labour and mileage articles are codes of the tenant's articles; the product
    filter's codes are its article families."""
    errors = {}
    for name in ARTICLE_SETTINGS:
        code = (settings.get(name) or "").strip()
        if not code:
            continue
        settings[name] = code
        found = db.session.scalar(select(Article.id).where(Article.tenant_id == tenant_id,
                                                           func.upper(Article.code) == code.upper()))
        if found is None:
            errors[name] = _("No article has the code %(code)s in this dossier.", code=code)
    codes = family_codes(settings.get("product_filter"))
    if codes:
        known = set(db.session.scalars(select(func.upper(ArticleFamily.code)).where(
            ArticleFamily.tenant_id == tenant_id, func.upper(ArticleFamily.code).in_(codes))))
        unknown = [code for code in codes if code not in known]
        if unknown:
            errors["product_filter"] = _("Unknown article families: %(codes)s.", codes=", ".join(unknown))
        settings["product_filter"] = ",".join(codes)
    return errors
