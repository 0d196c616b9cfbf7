"""The connectors screen shows the scheduler's state and each connector's next scheduled run
(Paris time); schedules are validated on the connector form in French."""
import html
import re
from datetime import datetime, timedelta, timezone

from core.clock import BUSINESS_TIMEZONE as PARIS
from core.extensions import db
from exchange.schedules import next_fire_times
from models.base import utcnow
from models.exchange import Connector
from models.scheduler import APSCHEDULER_JOBS, SchedulerLease, SchedulerProcess

CONSULTANT = "consultant@acme.test"


def _page(b):
    response = b.get("/admin/connectors/")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _form(**overrides):
    values = {"code": "TST", "label": "Connecteur", "enabled": "y", "documents": "3", "delay_ms": "0",
              "hold_after": "0", "receive_schedule": "", "send_schedule": ""}
    values.update(overrides)
    return values


def test_the_scheduler_state_shows_none_active_standby_and_down(app, browser, tenants):
    b = browser(CONSULTANT)
    assert "aucun processus planificateur ne tourne" in _page(b)
    now = utcnow()
    with app.app_context():
        db.session.add(SchedulerLease(name="scheduler", owner="sched-1:4242:ab", host="sched-1", pid=4242,
                                      acquired_at=now - timedelta(hours=1), heartbeat_at=now,
                                      expires_at=now + timedelta(seconds=2)))
        db.session.add(SchedulerProcess(owner="sched-2:4343:cd", host="sched-2", pid=4343, role="standby",
                                        started_at=now, seen_at=now))
        db.session.commit()
    page = _page(b)
    assert re.search(r"Planificateur :</strong>\s*<span id=\"scheduler-active\">actif sur sched-1 \(processus 4242\)"
                     r" depuis le \d\d/\d\d/\d{4} \d\d:\d\d:\d\d, dernier signe de vie le", page)
    assert "En attente (secours) : sched-2 (processus 4343), vu le" in page
    with app.app_context():
        lease = db.session.get(SchedulerLease, "scheduler")
        lease.heartbeat_at = lease.expires_at = utcnow() - timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"] + 1)
        db.session.get(SchedulerProcess, "sched-2:4343:cd").seen_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    page = _page(b)
    assert "arrêté : sched-1 (processus 4242) ne donne plus signe de vie depuis le" in page
    assert "Aucun processus de secours." in page and "sched-2" not in page


def test_each_connector_shows_its_next_scheduled_run_in_paris_time(app, browser, tenants):
    b = browser(CONSULTANT)
    assert b.post("/admin/connectors/new/?kind=test", _form(code="CRON", receive_schedule="30 6 * * *",
                                                             send_schedule="0 22 * * 1-5")).status_code == 302
    assert b.post("/admin/connectors/new/?kind=test", _form(code="EVERY", send_schedule="every:15")).status_code == 302
    assert b.post("/admin/connectors/new/?kind=test", _form(code="OFF", enabled="", receive_schedule="30 6 * * *")
                  ).status_code == 302
    with app.app_context():
        every = db.session.query(Connector).filter_by(code="EVERY").one().id
        queued = datetime(2031, 5, 6, 7, 8, tzinfo=timezone.utc)  # the scheduler's own next time, 09:08 in Paris
        with db.engine.begin() as connection:
            connection.execute(APSCHEDULER_JOBS.insert().values(id=f"connector-{every}-send",
                                                                next_run_time=queued.timestamp(), job_state=b"x"))
    page = _page(b)
    now = datetime.now(timezone.utc)
    cron = min(next_fire_times("30 6 * * *", now)[0], next_fire_times("0 22 * * 1-5", now)[0])
    direction = "Réception" if cron.hour == 6 else "Envoi"
    assert f"{cron.astimezone(PARIS):%d/%m/%Y %H:%M} ({direction})" in page
    assert "06/05/2031 09:08 (Envoi)" in page
    assert len(re.findall(r"\d\d/\d\d/\d{4} \d\d:\d\d \((?:Réception|Envoi)\)", page)) == 2  # OFF: none
    details = html.unescape(b.get(f"/admin/connectors/details/?id={every}").get_data(as_text=True))
    assert "Prochaine exécution planifiée" in details and "06/05/2031 09:08 (Envoi)" in details


def test_a_bad_schedule_is_refused_on_the_form_in_french(app, browser, tenants):
    b = browser(CONSULTANT)
    response = b.post("/admin/connectors/new/?kind=test", _form(receive_schedule="61 * * * *",
                                                                 send_schedule="every:0"))
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Planification cron invalide : le champ 1 (61) n'est pas accepté" in page
    assert "every:<minutes> attend au moins une minute." in page
    with app.app_context():
        assert db.session.query(Connector).count() == 0
