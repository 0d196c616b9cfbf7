"""The business day and time of the users: Europe/Paris, whatever the server's zone.

Datetimes are stored naive in UTC (``models.base.utcnow``); dates a person reads or
chooses ("today", an invoice date by default, an export's file name) are Paris dates.
"""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

BUSINESS_TIMEZONE = ZoneInfo("Europe/Paris")


def today() -> date:
    """Today in Paris (just after midnight in Paris it is still yesterday in UTC)."""
    return datetime.now(BUSINESS_TIMEZONE).date()


def to_business_time(value: datetime) -> datetime:
    """A stored (naive UTC) or aware datetime as Paris wall-clock time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(BUSINESS_TIMEZONE)
