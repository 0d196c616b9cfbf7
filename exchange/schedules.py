"""Connector schedules: `every:<minutes>` or a five-field cron, in Europe/Paris.

One parser for the connector screen (validation, the ``SCHEDULE`` setting type of
``exchange.base``), the scheduler process (its triggers) and the connectors screen
(the next scheduled run), so that what the screen accepts is exactly what the
scheduler runs. ``wanted_jobs`` is the source of truth the scheduler reconciles
its jobs with: one job per enabled connector and scheduled direction.
"""
import logging
from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import gettext as _

from core.clock import BUSINESS_TIMEZONE

logger = logging.getLogger(__name__)
INTERVAL_PREFIX = "every:"
CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab order: 0 (and 7) is Sunday
MINUTE = 60.0  # seconds in the unit of `every:<n>` (tests shorten it with SCHEDULER_INTERVAL_UNIT_SECONDS)


class ScheduleError(ValueError):
    """A schedule text that is neither `every:<minutes>` nor a five-field cron."""


def parse(text, unit_seconds: float = MINUTE):
    """Return the APScheduler trigger of a schedule text, or None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith(INTERVAL_PREFIX):
        return _interval(text[len(INTERVAL_PREFIX):], unit_seconds)
    return _cron(text)


def normalised(text) -> str:
    """The schedule as saved: validated, blanks trimmed and collapsed (``ScheduleError``)."""
    text = " ".join((text or "").split())
    if text.startswith(INTERVAL_PREFIX):
        text = INTERVAL_PREFIX + text[len(INTERVAL_PREFIX):].strip()
    parse(text)
    return text


def is_interval(text) -> bool:
    return (text or "").strip().startswith(INTERVAL_PREFIX)


def _interval(minutes_text, unit_seconds):
    minutes_text = minutes_text.strip()
    if not minutes_text.isascii() or not minutes_text.isdigit() or len(minutes_text) > 6:
        raise ScheduleError(_("every:<minutes> expects a whole number of minutes (every:15, say)."))
    minutes = int(minutes_text)
    if minutes < 1:
        raise ScheduleError(_("every:<minutes> expects at least one minute."))
    return IntervalTrigger(seconds=minutes * unit_seconds, timezone=BUSINESS_TIMEZONE)


class BusinessCronTrigger(CronTrigger):
    """A cron in Paris wall-clock time that runs once when the clocks go back: in the hour
    lived twice (02:00-03:00 on the last Sunday of October) a cron at fixed hours fires at
    the first pass only, as a crontab does, instead of twice. (The hour skipped in March
    fires once, at the same instant an hour later on the clock.) A cron of every hour
    keeps firing every real hour."""

    def get_next_fire_time(self, previous_fire_time, now):
        fire = super().get_next_fire_time(previous_fire_time, now)
        if fire is not None and not self.fields[self.FIELD_NAMES.index("hour")].is_default and _second_pass(fire):
            after = fire.replace(minute=0, second=0, microsecond=0, fold=0) + timedelta(hours=1)
            fire = super().get_next_fire_time(None, after)
        return fire


def _second_pass(moment) -> bool:
    """Whether a Paris time is in the hour lived twice, the second time (after the clocks went back)."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def _weekday(text: str) -> int:
    text = text.strip().lower()
    if text.isascii() and text.isdigit() and len(text) == 1 and int(text) <= 7:
        return int(text)
    if text[:3] in WEEKDAYS and len(text) == 3:
        return WEEKDAYS.index(text[:3])
    raise ValueError(text)


def _crontab_weekdays(field: str) -> str:
    """The weekday field of a crontab (0 or 7 = Sunday, 1 = Monday…) as APScheduler 3's names:
    APScheduler 3 counts 0 as Monday, so ``1-5`` would otherwise run Tuesday to Saturday."""
    if field == "*":
        return field
    days = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not (step_text.isascii() and step_text.isdigit() and 0 < int(step_text) < 8):
            raise ValueError(part)
        step = int(step_text) if slash else 1
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            first, last = base.split("-", 1)
            low, high = _weekday(first), _weekday(last)
        else:
            low = _weekday(base)
            high = 6 if slash else low
        if low > high:
            raise ValueError(part)
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(WEEKDAYS[day] for day in sorted(days))


def _cron(text):
    if len(text.split()) != 5:
        raise ScheduleError(_("A schedule is every:<minutes> or a cron of five fields: minute hour day "
                              "month weekday (30 6 * * 1-5, say)."))
    fields = text.split()
    for position, (name, value) in enumerate(zip(CRON_FIELDS, text.split())):
        try:
            if name == "day_of_week":
                fields[position] = value = _crontab_weekdays(value)
            CronTrigger(**{name: value}, timezone=BUSINESS_TIMEZONE)
        except ValueError:
            raise ScheduleError(_("Invalid cron schedule: field %(position)s (%(value)s) is not accepted "
                                  "(minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7 (0 and 7: Sunday) or sun-sat).",
                                  position=position + 1, value=value)) from None
    try:
        return BusinessCronTrigger(**dict(zip(CRON_FIELDS, fields)), timezone=BUSINESS_TIMEZONE)
    except ValueError:
        raise ScheduleError(_("Invalid cron schedule: these fields never match a date.")) from None


def next_fire_times(text, after, count=1, unit_seconds: float = MINUTE):
    """The next `count` fire times (Europe/Paris) of a schedule after `after`."""
    trigger = parse(text, unit_seconds)
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


def setting_name(direction: str) -> str:
    """The connector setting holding a direction's schedule: ``receive_schedule``, ``send_schedule``."""
    return f"{direction}_schedule"


def connector_schedules(connector) -> dict[str, str]:
    """``{direction: schedule text}`` of a connector's scheduled directions (enabled or not)."""
    from exchange.base import kind_of

    kind = kind_of(connector.kind)
    settings = connector.settings or {}
    schedules = {}
    for direction in kind.directions if kind else ():
        text = (settings.get(setting_name(direction)) or "").strip()
        if text and (kind.schedule_applies is None or kind.schedule_applies(settings, direction)):
            schedules[direction] = text
    return schedules


def wanted_jobs() -> dict[str, tuple[int, str, str]]:
    """``{job id: (connector id, direction, schedule)}`` over every tenant's enabled connectors:
    what the scheduler must run (a schedule no longer valid is logged and left out)."""
    from core.extensions import db
    from models.exchange import Connector

    wanted = {}
    for connector in db.session.query(Connector).filter(Connector.enabled.is_(True)).order_by(Connector.id):
        for direction, text in connector_schedules(connector).items():
            try:
                parse(text)
            except ScheduleError:
                logger.warning("connector %s: invalid %s schedule %r left out", connector.id, direction, text)
                continue
            wanted[job_id(connector.id, direction)] = (connector.id, direction, text)
    return wanted


def next_run(connector, now, unit_seconds: float = MINUTE, queued: dict | None = None):
    """``(moment, direction)`` of a connector's next scheduled run, or None (disabled, no
    schedule). A cron's next time is computed from its schedule; an interval's is the
    scheduler's own (``queued``: ``{job id: next run time}`` of the job store) when it has
    the job, else one interval from ``now``."""
    if not connector.enabled:
        return None
    times = []
    for direction, text in connector_schedules(connector).items():
        moment = (queued or {}).get(job_id(connector.id, direction)) if is_interval(text) else None
        if moment is None:
            try:
                upcoming = next_fire_times(text, now, 1, unit_seconds)
            except ScheduleError:
                continue
            moment = upcoming[0] if upcoming else None
        if moment is not None:
            times.append((moment, direction))
    return min(times, key=lambda pair: pair[0]) if times else None


def queued_jobs() -> dict:
    """``{job id: next run time (aware, UTC)}`` of the connector jobs in APScheduler's job store."""
    from datetime import datetime, timezone

    from core.extensions import db
    from models.scheduler import APSCHEDULER_JOBS

    rows = db.session.execute(APSCHEDULER_JOBS.select().with_only_columns(
        APSCHEDULER_JOBS.c.id, APSCHEDULER_JOBS.c.next_run_time)).all()
    return {row.id: datetime.fromtimestamp(row.next_run_time, timezone.utc)
            for row in rows if row.next_run_time is not None}
