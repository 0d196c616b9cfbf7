"""Schedule texts: validation and next fire times across daylight saving."""
from datetime import datetime, timezone

import pytest

from core.clock import BUSINESS_TIMEZONE as PARIS
from exchange.schedules import ScheduleError, job_id, next_fire_times, parse


def test_empty_schedule_has_no_trigger():
    assert parse("  ") is None
    assert next_fire_times("", datetime(2026, 1, 1, tzinfo=timezone.utc)) == []


@pytest.mark.parametrize("text", ["every:0", "every:abc", "every:-5", "every:1.5", "* * * *", "61 * * * *",
                                  "* 24 * * *", "0 0 * * 8", "0 0 * * 5-1", "0 0 * * lundi", "nonsense"])
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


def test_cron_weekdays_count_as_crontab_does():
    # APScheduler 3 counts 0 as Monday; a crontab's 0 and 7 are Sunday, 1-5 Monday to Friday.
    wednesday = datetime(2026, 12, 2, 0, 0, tzinfo=PARIS)
    weekdays = [t.strftime("%a") for t in next_fire_times("30 6 * * 1-5", wednesday, count=5)]
    assert weekdays == ["Wed", "Thu", "Fri", "Mon", "Tue"]
    assert {t.strftime("%a") for t in next_fire_times("0 6 * * 0", wednesday, count=3)} == {"Sun"}
    assert {t.strftime("%a") for t in next_fire_times("0 6 * * 7", wednesday, count=3)} == {"Sun"}
    assert {t.strftime("%a") for t in next_fire_times("0 6 * * sat,sun", wednesday, count=4)} == {"Sat", "Sun"}


def test_the_scheduler_trigger_follows_paris_across_both_2027_changes():
    """Clocks go forward on 28 March 2027 (02:00 -> 03:00) and back on 31 October 2027
    (03:00 -> 02:00): a daily 06:30 stays at 06:30 in Paris, its UTC hour moves; a cron in
    the skipped hour runs once, late, and one in the repeated hour runs once."""
    spring = next_fire_times("30 6 * * *", datetime(2027, 3, 26, 12, 0, tzinfo=timezone.utc), count=3)
    assert [(t.astimezone(PARIS).day, t.astimezone(PARIS).hour, t.minute) for t in spring] == [
        (27, 6, 30), (28, 6, 30), (29, 6, 30)]
    assert [t.astimezone(timezone.utc).hour for t in spring] == [5, 4, 4]
    autumn = next_fire_times("30 6 * * *", datetime(2027, 10, 29, 12, 0, tzinfo=timezone.utc), count=3)
    assert [t.astimezone(PARIS).hour for t in autumn] == [6, 6, 6]
    assert [t.astimezone(timezone.utc).hour for t in autumn] == [4, 5, 5]
    skipped = next_fire_times("30 2 * * *", datetime(2027, 3, 27, 12, 0, tzinfo=timezone.utc), count=2)
    assert [t.astimezone(PARIS).day for t in skipped] == [28, 29]
    repeated = next_fire_times("30 2 * * *", datetime(2027, 10, 30, 12, 0, tzinfo=timezone.utc), count=2)
    assert [t.astimezone(PARIS).day for t in repeated] == [31, 1]
    hourly = next_fire_times("0 * * * *", datetime(2027, 10, 31, 0, 30, tzinfo=timezone.utc), count=3)
    assert [(t.astimezone(timezone.utc) - hourly[0].astimezone(timezone.utc)).total_seconds() / 3600
            for t in hourly] == [0, 1, 2]


def test_interval_unit_is_a_setting():
    first, second = next_fire_times("every:2", datetime(2026, 1, 1, tzinfo=timezone.utc), count=2, unit_seconds=1)
    assert (second - first).total_seconds() == 2


def test_schedules_are_validated_as_connector_settings_in_french(app, app_ctx):
    from core.extensions import db
    from exchange.base import save_connector
    from rules.tenancy import create_tenant

    tenant = create_tenant("SCHED", "Planifié")
    connector, errors = save_connector(tenant.id, "test", "T1", "", True, {"receive_schedule": "61 * * * *",
                                                                            "send_schedule": "every:x"})
    assert connector is None
    assert errors["receive_schedule"].startswith("Planification cron invalide : le champ 1 (61)")
    assert errors["send_schedule"].startswith("every:<minutes> attend un nombre entier de minutes")
    connector, errors = save_connector(tenant.id, "test", "T1", "", True, {"receive_schedule": " 30  6 * *  1-5 ",
                                                                            "send_schedule": "every: 15"})
    assert not errors
    assert connector.settings["receive_schedule"] == "30 6 * * 1-5"
    assert connector.settings["send_schedule"] == "every:15"
    db.session.rollback()


def test_every_kind_gets_validated_schedule_settings_for_its_directions():
    from exchange.base import SCHEDULE, TEXT, Kind, Setting, _with_schedules

    kind = Kind(name="k", label="K", settings=(Setting("receive_schedule", "Mine", TEXT),),
                engines={"receive": lambda run: None})
    settings = {setting.name: setting for setting in _with_schedules(kind)}
    assert set(settings) == {"receive_schedule"}  # no send engine: no send schedule
    assert settings["receive_schedule"].type == SCHEDULE and settings["receive_schedule"].label == "Mine"
    both = Kind(name="b", label="B", settings=(), engines={"receive": None, "send": None})
    assert [setting.name for setting in _with_schedules(both)] == ["send_schedule", "receive_schedule"]
