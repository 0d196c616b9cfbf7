"""Schedule texts: validation and next fire times across daylight saving."""
from datetime import datetime, timezone

import pytest

from core.clock import BUSINESS_TIMEZONE as PARIS
from jobs.schedules import ScheduleError, job_id, next_fire_times, parse


def test_empty_schedule_has_no_trigger():
    assert parse("  ") is None
    assert next_fire_times("", datetime(2026, 1, 1, tzinfo=timezone.utc)) == []


@pytest.mark.parametrize("text", ["every:0", "every:abc", "* * * *", "61 * * * *", "nonsense"])
def test_bad_schedules_are_refused(text):
    with pytest.raises(ScheduleError):
        parse(text)


def test_interval_fires_every_n_minutes():
    start = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
    first, second = next_fire_times("every:15", start, count=2)
    assert (second - first).total_seconds() == 15 * 60


def test_cron_keeps_paris_wall_clock_across_spring_change():
    # Clocks go forward on 29 March 2026 at 02:00 in Europe/Paris.
    after = datetime(2026, 3, 27, 12, 0, tzinfo=timezone.utc)
    times = next_fire_times("30 6 * * *", after, count=3)
    assert [t.astimezone(PARIS).hour for t in times] == [6, 6, 6]
    assert [t.astimezone(timezone.utc).hour for t in times] == [5, 4, 4]


def test_cron_keeps_paris_wall_clock_across_autumn_change():
    # Clocks go back on 25 October 2026 at 03:00 in Europe/Paris.
    after = datetime(2026, 10, 24, 0, 0, tzinfo=timezone.utc)
    times = next_fire_times("0 7 * * *", after, count=2)
    assert [t.astimezone(timezone.utc).hour for t in times] == [5, 6]


def test_job_id_is_explicit():
    assert job_id(7, "receive") == "connector-7-receive"
