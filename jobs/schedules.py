"""Connector schedules: `every:<minutes>` or a five-field cron, in Europe/Paris.

One parser for the connector screen (validation) and the scheduler (triggers),
so that what the screen accepts is exactly what the scheduler runs.
"""
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.clock import BUSINESS_TIMEZONE

INTERVAL_PREFIX = "every:"


class ScheduleError(ValueError):
    """A schedule text that is neither `every:<minutes>` nor a five-field cron."""


def parse(text):
    """Return the APScheduler trigger of a schedule text, or None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith(INTERVAL_PREFIX):
        return _interval(text[len(INTERVAL_PREFIX):])
    return _cron(text)


def _interval(minutes_text):
    try:
        minutes = int(minutes_text.strip())
    except ValueError:
        raise ScheduleError("every:<minutes> expects a whole number of minutes") from None
    if minutes < 1:
        raise ScheduleError("every:<minutes> expects at least one minute")
    return IntervalTrigger(minutes=minutes, timezone=BUSINESS_TIMEZONE)


def _cron(text):
    if len(text.split()) != 5:
        raise ScheduleError("a cron schedule has five fields: minute hour day month weekday")
    try:
        return CronTrigger.from_crontab(text, timezone=BUSINESS_TIMEZONE)
    except ValueError as error:
        raise ScheduleError(f"invalid cron schedule: {error}") from None


def next_fire_times(text, after, count=1):
    """The next `count` fire times (Europe/Paris) of a schedule after `after`."""
    trigger = parse(text)
    times = []
    previous = None
    now = after.astimezone(BUSINESS_TIMEZONE)
    while trigger is not None and len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        times.append(fire)
        previous = fire
        now = fire
    return times


def job_id(connector_id, direction):
    """The explicit job id, so that a restart replaces a job instead of adding one."""
    return f"connector-{connector_id}-{direction}"
