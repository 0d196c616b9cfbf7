"""The field-service connector against its reference peer, a real process started once
for the module: every send rule at its edge, batches, only what changed; every
intervention status, the draft invoice, idempotency, paging, the watermark, each
failure mode; two receives at once and a receive killed in the middle (processes)."""
import json
import signal
import time
from datetime import datetime
from decimal import Decimal
from unittest import mock

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from exchange import runs
from exchange.field_service import engine
from exchange.locking import INTERRUPTED
from models import Connector, ExchangeWatermark, Invoice, InvoiceLine, ReceivedDocument, SyncRun
from models.base import utcnow

from fs_peer import (
    API_KEY, REPO_ROOT, PeerProcess, dossier, free_port, intervention, make_fs_connector, map_article,
)

WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def peer(app):
    process = PeerProcess(app)
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def fresh_peer(peer, app):
    peer.reset()
    peer.interventions([])
    saved = {key: app.config[key] for key in ("EXCHANGE_HTTP_TIMEOUT_SECONDS", "EXCHANGE_RETRY_AFTER_CAP_SECONDS",
                                              "FIELD_SERVICE_OVERLAP_SECONDS")}
    app.config.update(EXCHANGE_HTTP_TIMEOUT_SECONDS=5, EXCHANGE_RETRY_AFTER_CAP_SECONDS=0.2)
    yield
    app.config.update(saved)


@pytest.fixture
def acme(app_ctx, tenants):
    dossier(tenants["ACME"])
    db.session.commit()
    return tenants["ACME"]


def run(connector_id: int, direction: str, full_send: bool = False) -> dict:
    connector = db.session.get(Connector, connector_id)
    run_id = runs.run_now(connector, direction, "command", full_send=full_send)
    db.session.expire_all()
    report = runs.summary(run_id)
    report["id"] = run_id
    return report


def items_of(report, state=None, type_=None) -> dict:
    return {item["identifier"]: item["message"] for item in report["items"]
            if (state is None or item["state"] == state) and (type_ is None or item["type"] == type_)}


def calls(peer, path, method=None):
    return [call for call in peer.received()["calls"] if call["path"] == path
            and (method is None or call["method"] == method)]


# --- send -------------------------------------------------------------------------------------------

def test_the_send_applies_every_rule_at_its_edge_in_batches(peer, acme):
    connector_id = make_fs_connector(acme, peer.url, batch_size=2)
    map_article(acme, connector_id, "CABLE", "CAB-3G25")
    report = run(connector_id, "send")
    assert report["status"] == "success", report
    skipped = items_of(report, "skipped")
    assert skipped == {
        "C-EMPTY": "client C-EMPTY : pas de ville",
        "C-BLANK": "client C-BLANK : pas de ville",           # a blank city is no city
        "C-OFF": "client C-OFF : désactivé",
        "S-BLANK": "site S-BLANK : client C-BLANK non envoyé",  # a site of a skipped client
        "CH12": "chantier CH12 : client C-OFF non envoyé",
        "E-TODAY": f"salarié E-TODAY : embauché le {clock.today():%d/%m/%Y}, pas avant aujourd'hui",
        "E-NOHIRE": "salarié E-NOHIRE : pas de date d'embauche",
        "E-NOPHONE": "salarié E-NOPHONE : pas de téléphone",
        "E-NOMAIL": "salarié E-NOMAIL : pas d'e-mail",
        "E-OFFICE": "salarié E-OFFICE : pas technicien",
        "OLD": "article OLD : inactif",
    }
    got = peer.received()["received"]
    assert sorted(c["externalId"] for c in got["customers"]) == ["C001", "C002"]
    assert sorted(s["externalId"] for s in got["sites"]) == ["S001", "S003"]
    assert {c["externalId"]: c["siteId"] for c in got["contracts"]} == {"CH-2026-001": "S001",
                                                                         "CH-2026-002": "S003"}
    assert [t["externalId"] for t in got["technicians"]] == ["E007"]   # hired yesterday: sent
    items = {i["externalId"]: i for i in got["items"]}
    assert items["4MO-ELEC"]["kind"] == "LABOUR" and items["4MO-ELEC"]["unit"] == "H"
    assert items["4MO-ELEC"]["unitPrice"] == 48.0 and items["4MO-ELEC"]["family"] == "ELEC"
    assert items["CAB-3G25"]["kind"] == "SUPPLY"                      # the mapped code, not CABLE
    assert set(items) == {"4MO-ELEC", "CAB-3G25"}
    # 5 clients → 2 eligible: one batch; 2 items: one batch of 2
    assert len(calls(peer, "/v1/customers", "PUT")) == 1
    assert report["counts"]["ok"] == 2 + 2 + 2 + 1 + 2


def test_batches_have_the_configured_size(peer, acme):
    from models import Client
    db.session.add_all([Client(tenant_id=acme, code=f"B{n:02d}", name=f"Client {n}", city="Lens")
                        for n in range(5)])
    db.session.commit()
    connector_id = make_fs_connector(acme, peer.url, batch_size=3)
    run(connector_id, "send")
    assert len(calls(peer, "/v1/customers", "PUT")) == 3   # 7 clients in batches of 3


def test_after_a_first_send_only_what_changed_is_sent_and_tout_renvoyer_sends_all(peer, acme):
    from models import Client
    connector_id = make_fs_connector(acme, peer.url)
    run(connector_id, "send")
    peer.reset()
    second = run(connector_id, "send")
    assert second["status"] == "success"
    assert not [call for call in peer.received()["calls"] if call["method"] == "PUT"]
    assert "2 inchangés depuis le dernier envoi : non renvoyés." in items_of(second, "ok", "client").values()
    client = db.session.query(Client).filter_by(tenant_id=acme, code="C002").one()
    client.name = "Martin et fils"
    db.session.commit()
    third = run(connector_id, "send")
    assert [c["externalId"] for c in peer.received()["received"]["customers"]] == ["C002"]
    assert "1 inchangés depuis le dernier envoi : non renvoyés." in items_of(third, "ok", "client").values()
    peer.reset()
    run(connector_id, "send", full_send=True)
    assert len(peer.received()["received"]["customers"]) == 2


def test_two_articles_of_one_code_send_the_later_once(peer, acme):
    connector_id = make_fs_connector(acme, peer.url)
    map_article(acme, connector_id, "CABLE", "4MO-ELEC")   # the mapped code of CABLE is another article's code
    report = run(connector_id, "send")
    assert report["status"] == "success", report
    items = peer.received()["received"]["items"]
    assert [(i["externalId"], i["label"]) for i in items] == [("4MO-ELEC", "Câble R2V 3G2,5")]
    assert len(calls(peer, "/v1/items", "PUT")) == 1
    assert run(connector_id, "send")["counts"]["ok"] == report["counts"]["ok"]   # then unchanged, counted as before


def test_rows_read_a_page_at_a_time_are_each_sent_once_in_order(peer, acme):
    """Pages of 2 rows (``engine.PAGES``): every row read once across the pages' edges,
    the skipped ones reported, the batches in code order."""
    from models import Client
    db.session.add_all([Client(tenant_id=acme, code=f"B{n:02d}", name=f"Client {n}", city="Lens" if n % 3 else "")
                        for n in range(7)])
    db.session.commit()
    connector_id = make_fs_connector(acme, peer.url, batch_size=3)
    with mock.patch.dict(engine.PAGES, {db.engine.dialect.name: 2}):
        report = run(connector_id, "send")
    assert report["status"] == "success", report
    customers = [c["externalId"] for c in peer.received()["received"]["customers"]]
    assert customers == ["B01", "B02", "B04", "B05", "C001", "C002"]
    assert set(items_of(report, "skipped", "client")) == {"B00", "B03", "B06", "C-EMPTY", "C-BLANK", "C-OFF"}
    assert sorted(s["externalId"] for s in peer.received()["received"]["sites"]) == ["S001", "S003"]
    assert len(calls(peer, "/v1/customers", "PUT")) == 2


def test_a_batch_answered_429_is_put_again_then_the_send_succeeds(peer, acme):
    connector_id = make_fs_connector(acme, peer.url)
    peer.control(status=429, times=2, retry_after=0, only="/v1/customers")
    report = run(connector_id, "send")
    assert report["status"] == "success", report
    assert len(calls(peer, "/v1/customers", "PUT")) == 3
    assert sorted(c["externalId"] for c in peer.received()["received"]["customers"]) == ["C001", "C002"]


def test_a_failed_batch_ends_the_send_before_another_batch_leaves(peer, acme):
    from models import Client
    db.session.add_all([Client(tenant_id=acme, code=f"B{n:02d}", name=f"Client {n}", city="Lens")
                        for n in range(5)])
    db.session.commit()
    connector_id = make_fs_connector(acme, peer.url, batch_size=2)
    peer.control(status=500, times=1, only="/v1/customers")
    report = run(connector_id, "send")
    assert report["status"] == "failed" and "HTTP 500" in report["message"], report
    assert [call["method"] for call in peer.received()["calls"]] == ["PUT"]   # the next batch never left
    peer.reset()
    assert run(connector_id, "send")["status"] == "success"
    assert len(peer.received()["received"]["customers"]) == 7


def test_a_batch_answered_is_settled_when_the_next_one_cannot_leave(peer, acme):
    from exchange import sent
    from exchange.base import RunFailed
    from models import Client
    db.session.add_all([Client(tenant_id=acme, code=f"B{n:02d}", name=f"Client {n}", city="Lens")
                        for n in range(5)])
    db.session.commit()
    connector_id = make_fs_connector(acme, peer.url, batch_size=2)
    real, puts = engine.Sender.put, []

    def second_cannot_leave(sender, path, data):
        puts.append(path)
        if len(puts) == 2:
            raise RunFailed("cannot leave")
        return real(sender, path, data)

    with mock.patch.object(engine.Sender, "put", second_cannot_leave):
        report = run(connector_id, "send")
    assert report["status"] == "failed" and report["message"] == "cannot leave", report
    assert set(items_of(report, "ok", "client")) == {"B00 … B01"}
    assert set(sent.last_accepted(connector_id, "client")) == {"B00", "B01"}


def test_a_key_no_header_can_carry_fails_the_send_and_never_reaches_the_logs(peer, acme, caplog):
    connector_id = make_fs_connector(acme, peer.url, api_key="secret-key\r\nX-Other: 1")
    with caplog.at_level("DEBUG"):
        report = run(connector_id, "send")
    assert report["status"] == "failed" and "ne peut pas partir" in report["message"], report
    assert "secret-key" not in caplog.text and "secret-key" not in json.dumps(report)
    assert calls(peer, "/v1/customers") == []


def test_a_send_whose_lease_is_lost_stops_before_the_next_batch(acme):
    from types import SimpleNamespace
    from exchange.base import RunFailed
    lost = SimpleNamespace(lease_lost=mock.Mock(is_set=lambda: True), dry_run=False,
                           connector=SimpleNamespace(tenant_id=acme, id=1))
    sender = mock.Mock()
    flights = engine.Flights(lost, sender)
    with pytest.raises(RunFailed, match="perdu son bail"):
        flights.put("client", "/v1/customers", 1, ["C001"], ["{}"], ["d"])
    sender.put.assert_not_called()


def test_rows_read_at_once_leave_no_transaction_open_while_the_peer_answers(acme):
    from models import Client
    query = select(Client.code).where(Client.tenant_id == acme).order_by(Client.code)
    with mock.patch.dict(engine.PAGES, clear=True):
        pages = engine._Rows(query, Client.code).pages()
        assert next(pages)
        assert not db.session().in_transaction()
        assert next(pages, None) is None


# --- receive ----------------------------------------------------------------------------------------

def _mapped_connector(acme, peer, **settings) -> int:
    connector_id = make_fs_connector(acme, peer.url, **settings)
    map_article(acme, connector_id, "CABLE", "CAB-3G25")
    return connector_id


def test_a_validated_intervention_becomes_a_draft_invoice_and_other_statuses_leave_no_trace(peer, acme):
    connector_id = _mapped_connector(acme, peer)
    peer.interventions([intervention("INT-1")] + [intervention(f"INT-{status}", status=status) for status in (
        "NEW", "QUALIFIED", "PRE_SCHEDULED", "SCHEDULED", "IN_PROGRESS", "COMPLETED", "CANCELLED")])
    report = run(connector_id, "receive")
    assert report["status"] == "success", report
    assert [(i["identifier"], i["state"]) for i in report["items"]] == [("INT-1", "ok")]
    assert calls(peer, "/v1/interventions")[0]["args"]["status"] == "VALIDATED"
    invoice = db.session.query(Invoice).one()
    assert invoice.state == "draft" and invoice.number is None and invoice.sequence_number is None
    assert invoice.invoice_date == clock.today()
    assert invoice.service_date.isoformat() == "2026-11-19"
    assert invoice.origin == "field_service" and invoice.external_reference == "INT-1"
    assert invoice.client.code == "C001" and invoice.site.code == "S001" and invoice.job_site.code == "CH-2026-001"
    assert invoice.sector.code == "NORD"
    assert invoice.report_url == f"{peer.url}/reports/INT-1.pdf"
    lines = [(line.article.code, line.label, line.kind, line.quantity, line.unit_price, line.vat_rate.code)
             for line in invoice.lines]
    assert lines == [("4MO-ELEC", "Main d'oeuvre électricien", "labour", Decimal("3.5"), Decimal("52"), "N20"),
                     ("CABLE", "Câble R2V 3G2,5 (m)", "supply", Decimal("25"), Decimal("1.86"), "N20")]
    assert invoice.total_excl_vat == Decimal("228.50") and invoice.total_incl_vat == Decimal("274.20")
    assert not invoice.attachments
    keys = db.session.scalars(select(ReceivedDocument.external_key)).all()
    assert keys == ["INT-1"]   # the other statuses left no key
    again = run(connector_id, "receive")
    assert [(i["identifier"], i["state"], i["message"]) for i in again["items"]] == [
        ("INT-1", "skipped", "Déjà intégré.")]
    assert db.session.query(Invoice).count() == 1


def test_the_status_is_checked_even_when_the_peer_ignores_the_filter(peer, acme):
    connector_id = _mapped_connector(acme, peer)
    peer.control(ignore_status=True)
    peer.interventions([intervention("INT-V"), intervention("INT-C", status="COMPLETED"),
                        intervention("INT-X", status="CANCELLED")])
    report = run(connector_id, "receive")
    assert [(i["identifier"], i["state"]) for i in report["items"]] == [("INT-V", "ok")]
    assert db.session.scalars(select(ReceivedDocument.external_key)).all() == ["INT-V"]


def test_warnings_a_client_other_than_the_job_sites_and_a_zero_priced_line(peer, acme):
    connector_id = _mapped_connector(acme, peer)
    lines = [{"itemId": "4MO-ELEC", "label": "MO", "quantity": 2, "unitPrice": 50},
             {"itemId": "CAB-3G25", "label": "Câble offert", "quantity": 3, "unitPrice": 0}]
    peer.interventions([intervention("INT-W", customer="C002", site="S003", lines=lines)])
    report = run(connector_id, "receive")
    message = items_of(report, "warning")["INT-W"]
    assert ("le client C002 de l'intervention n'est pas le client C001 du chantier CH-2026-001 : facturé à C002"
            in message)
    assert "ligne 2 (CAB-3G25) à prix nul" in message
    invoice = db.session.query(Invoice).one()
    assert invoice.client.code == "C002" and invoice.job_site.code == "CH-2026-001"


@pytest.mark.parametrize("policy", ["skip_with_warning", "integrate_with_warning"])
def test_zero_value_interventions_follow_the_policy(peer, acme, policy):
    connector_id = _mapped_connector(acme, peer, zero_value_policy=policy)
    zero_lines = [{"itemId": "4MO-ELEC", "label": "MO", "quantity": 1, "unitPrice": 0}]
    peer.interventions([intervention("INT-EMPTY", lines=[]), intervention("INT-ZERO", lines=zero_lines)])
    report = run(connector_id, "receive")
    warnings = items_of(report, "warning")
    assert set(warnings) == {"INT-EMPTY", "INT-ZERO"}
    if policy == "skip_with_warning":
        assert warnings["INT-EMPTY"] == "intervention à valeur nulle : non intégrée (règle des valeurs nulles)"
        assert db.session.query(Invoice).count() == 0
        assert db.session.query(ReceivedDocument).count() == 0
    else:
        assert "intégrée selon la règle des valeurs nulles" in warnings["INT-EMPTY"]
        assert db.session.query(Invoice).count() == 2


def test_the_report_pdf_is_attached_when_the_setting_is_on(peer, acme):
    connector_id = _mapped_connector(acme, peer, attach_report="oui")
    peer.interventions([intervention("INT-PDF")])
    report = run(connector_id, "receive")
    assert report["status"] == "success", report
    attachment = db.session.query(Invoice).one().attachments[0]
    assert attachment.content.startswith(b"%PDF") and attachment.content_type == "application/pdf"
    assert attachment.filename == "rapport-INT-PDF.pdf"


def test_the_api_key_never_goes_to_a_report_on_another_address(peer, acme):
    connector_id = _mapped_connector(acme, peer, attach_report="oui")
    elsewhere = {**intervention("INT-AWAY"), "reportUrl": f"http://localhost:{peer.port}/reports/INT-AWAY.pdf"}
    peer.interventions([elsewhere])
    report = run(connector_id, "receive")
    assert items_of(report, "error") == {
        "INT-AWAY": f"le rapport http://localhost:{peer.port}/reports/INT-AWAY.pdf ne peut pas être téléchargé "
                    "(HTTP 401)"}   # the peer wants its key: it was not sent to another address
    assert db.session.query(Invoice).count() == 0


def test_every_page_is_read(peer, acme):
    connector_id = _mapped_connector(acme, peer)
    peer.control(page_size=2)
    peer.interventions([intervention(f"INT-P{n}", validated_at=f"2026-11-20T09:0{n}:00+01:00") for n in range(5)])
    report = run(connector_id, "receive")
    assert report["counts"]["ok"] == 5
    assert [call["args"]["page"] for call in calls(peer, "/v1/interventions")] == ["1", "2", "3"]


def test_unknown_references_are_errors_retried_until_they_integrate_and_hold_the_watermark(peer, acme, app):
    app.config["FIELD_SERVICE_OVERLAP_SECONDS"] = 3600
    connector_id = _mapped_connector(acme, peer)
    unknown = intervention("INT-OLD", validated_at="2026-11-20T08:00:00+00:00", lines=[
        {"itemId": "NEW-ART", "label": "Nouveau", "quantity": 1, "unitPrice": 10}], customer="C404")
    later = intervention("INT-LATER", validated_at="2026-11-20T13:00:00+00:00")   # 5 h later: beyond the overlap
    peer.interventions([unknown, later])
    first = run(connector_id, "receive")
    assert first["status"] == "partial"
    assert items_of(first, "error") == {
        "INT-OLD": "intervention INT-OLD non intégrée : client C404 inconnu, article NEW-ART inconnu"}
    assert db.session.scalars(select(ExchangeWatermark.value)).one() == datetime(2026, 11, 20, 8, 0)
    peer.reset()
    second = run(connector_id, "receive")  # still unknown: an error again, asked from before it
    assert calls(peer, "/v1/interventions")[0]["args"]["validatedSince"] == "2026-11-20T07:00:00Z"
    assert "INT-OLD" in items_of(second, "error")
    from models import Article, Client
    db.session.add(Client(tenant_id=acme, code="C404", name="Nouveau client", city="Lens"))
    article = Article(tenant_id=acme, code="NEW-ART", label="Nouvel article")
    db.session.add(article)
    db.session.commit()
    third = run(connector_id, "receive")
    assert third["status"] == "success"
    assert "facturé à C404" in items_of(third, "warning")["INT-OLD"]   # integrated (C404 is not CH-2026-001's)
    assert items_of(third, "skipped") == {"INT-LATER": "Déjà intégré."}
    db.session.expire_all()
    assert db.session.scalars(select(ExchangeWatermark.value)).one() == datetime(2026, 11, 20, 13, 0)
    peer.reset()
    fourth = run(connector_id, "receive")
    assert calls(peer, "/v1/interventions")[0]["args"]["validatedSince"] == "2026-11-20T12:00:00Z"
    assert [i["identifier"] for i in fourth["items"]] == ["INT-LATER"]   # INT-OLD is behind the watermark now
    assert db.session.query(Invoice).count() == 2


def test_two_processes_racing_on_one_intervention_give_one_invoice(peer, acme):
    """The lease keeps two runs of one connector apart; the unique key is what protects
    an intervention when another process integrated it after this run looked it up
    (here: a run whose look-up saw nothing, as in a race)."""
    connector_id = _mapped_connector(acme, peer)
    peer.interventions([intervention("INT-RACE")])
    run(connector_id, "receive")
    with mock.patch.object(engine, "integrated", return_value=set()):
        late = run(connector_id, "receive")
    assert late["status"] == "success"
    assert items_of(late, "skipped") == {"INT-RACE": "Déjà intégré."}
    assert db.session.query(Invoice).count() == 1 and db.session.query(InvoiceLine).count() == 2


# --- failures ---------------------------------------------------------------------------------------

FAILURES = {
    "500": ({"status": 500}, "L'application est en erreur (HTTP 500)"),
    "401": ({"status": 401}, "vérifiez la clé d'API"),
    "invalid-json": ({"invalid_json": True}, "que du JSON valide"),
    "429-forever": ({"status": 429, "retry_after": 0}, "HTTP 429"),
    "timeout": ({"delay": 2}, "n'a pas répondu"),
}


@pytest.mark.parametrize("direction", ["send", "receive"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_each_failure_ends_the_run_failed_and_the_next_run_is_fine(peer, acme, app, failure, direction):
    app.config["EXCHANGE_HTTP_TIMEOUT_SECONDS"] = 0.5
    control, expected = FAILURES[failure]
    connector_id = _mapped_connector(acme, peer)
    peer.interventions([intervention("INT-F")])
    peer.control(**control)
    report = run(connector_id, direction)
    assert report["status"] == "failed" and expected in report["message"], report
    assert "cle-terrain" not in report["message"]
    assert db.session.query(Invoice).count() == 0
    peer.reset()
    again = run(connector_id, direction)
    assert again["status"] == "success", again


def test_a_wrong_api_key_and_a_refused_connection(peer, acme):
    wrong = make_fs_connector(acme, peer.url, code="FS-KEY", api_key="mauvaise")
    report = run(wrong, "receive")
    assert report["status"] == "failed" and "vérifiez la clé d'API" in report["message"]
    closed = make_fs_connector(acme, f"http://127.0.0.1:{free_port()}", code="FS-DOWN")
    report = run(closed, "send")
    assert report["status"] == "failed" and "injoignable" in report["message"], report


def test_429_is_waited_out_then_the_run_succeeds(peer, acme):
    connector_id = _mapped_connector(acme, peer)
    peer.interventions([intervention("INT-429")])
    peer.control(status=429, times=2, retry_after=0, only="/v1/interventions")
    report = run(connector_id, "receive")
    assert report["status"] == "success" and report["counts"]["ok"] == 1
    assert len(calls(peer, "/v1/interventions")) == 3


def test_test_connection(peer, acme):
    connector = db.session.get(Connector, make_fs_connector(acme, peer.url))
    assert engine.ping(connector) == "Connexion réussie : l'application d'interventions a répondu."
    peer.control(status=401)
    with pytest.raises(runs.RunFailed, match="vérifiez la clé d'API"):
        engine.ping(connector)


# --- processes --------------------------------------------------------------------------------------

def _wait_for(condition, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = condition()
        if value:
            return value
        db.session.rollback()
        time.sleep(0.05)
    raise AssertionError(f"still waiting for {what}")


def _slow_receive(peer, acme, count):
    """Each intervention waits for its report PDF: a receive that lasts."""
    connector_id = _mapped_connector(acme, peer, attach_report="oui")
    peer.interventions([intervention(f"INT-K{n:02d}", validated_at=f"2026-11-20T09:{n:02d}:00+01:00")
                        for n in range(count)])
    peer.control(delay=0.3, only="/reports")
    return connector_id


def test_two_receives_at_once_the_second_is_refused(peer, acme, flask_cli):
    _slow_receive(peer, acme, 4)
    peer.control(hold=True, only="/reports")
    first = flask_cli("exchange", "run", "FS", "--tenant", "ACME", "--direction", "receive", "--json")
    _wait_for(lambda: db.session.query(SyncRun).filter_by(status="running").first(), "the first run")
    second = flask_cli("exchange", "run", "FS", "--tenant", "ACME", "--direction", "receive", "--json")
    out, err = second.communicate(timeout=WAIT_SECONDS)
    assert second.returncode == 1 and json.loads(out)["status"] == "refused", err
    peer.control(hold=False)
    out, err = first.communicate(timeout=WAIT_SECONDS)
    assert first.returncode == 0, err
    assert json.loads(out)["counts"]["ok"] == 4
    assert db.session.query(Invoice).count() == 4


def test_a_receive_killed_in_the_middle_then_rerun_integrates_every_invoice_whole_once(peer, acme, flask_cli):
    _slow_receive(peer, acme, 8)
    victim = flask_cli("exchange", "run", "FS", "--tenant", "ACME", "--direction", "receive")
    killed = _wait_for(lambda: db.session.query(SyncRun).filter(SyncRun.status == "running",
                                                                SyncRun.processed >= 3).first(),
                       "the run to integrate its first interventions")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=WAIT_SECONDS)
    # whole or absent: every invoice there has its two lines and its report
    partial = db.session.query(Invoice).count()
    assert 3 <= partial < 8
    assert db.session.query(InvoiceLine).count() == 2 * partial
    assert db.session.query(ReceivedDocument).count() == partial
    _wait_for(lambda: db.session.get(SyncRun, killed.id).lease_expires_at < utcnow(), "the lease to expire")
    peer.control(delay=0)
    rerun = flask_cli("exchange", "run", "FS", "--tenant", "ACME", "--direction", "receive", "--json")
    out, err = rerun.communicate(timeout=WAIT_SECONDS)
    assert rerun.returncode == 0, err
    db.session.expire_all()
    closed = db.session.get(SyncRun, killed.id)
    assert closed.status == "failed" and closed.message == str(INTERRUPTED)
    report = json.loads(out)
    assert report["counts"]["ok"] == 8 - partial and report["counts"]["skipped"] == partial
    assert db.session.query(Invoice).count() == 8
    assert db.session.query(InvoiceLine).count() == 16
    assert db.session.scalar(select(func.count()).select_from(Invoice).where(~Invoice.attachments.any())) == 0
    refs = db.session.scalars(select(Invoice.external_reference).order_by(Invoice.external_reference)).all()
    assert refs == [f"INT-K{n:02d}" for n in range(8)]


def test_the_demo_connector_exchanges_with_the_demo_interventions(peer, app_ctx, app):
    from commands.seed import DEMO_FIELD_SERVICE, DEMO_PEER_DATA, seed_demo
    from exchange.base import save_connector
    from exchange.field_service.peer import load_interventions
    seed_demo()
    connector = db.session.query(Connector).filter_by(code=DEMO_FIELD_SERVICE[0]).one()
    assert connector.kind == "field_service" and connector.settings["base_url"] == "http://127.0.0.1:5010"
    save_connector(connector.tenant_id, "field_service", connector.code, connector.label, True,
                   {"base_url": peer.url, "api_key": API_KEY}, connector)
    db.session.commit()
    peer.interventions(load_interventions(str(REPO_ROOT / DEMO_PEER_DATA)))
    assert run(connector.id, "send")["status"] == "success"
    report = run(connector.id, "receive")
    states = {item["identifier"]: item["state"] for item in report["items"]}
    assert states == {"INT-DEMO-001": "ok", "INT-DEMO-002": "ok", "INT-DEMO-004": "warning",
                      "INT-DEMO-005": "error"}
    invoice = db.session.query(Invoice).filter_by(external_reference="INT-DEMO-001").one()
    assert invoice.report_url == f"{peer.url}/reports/INT-DEMO-001.pdf"


def test_a_dry_run_reports_what_the_real_run_would_and_writes_nothing(peer, acme):
    connector_id = _mapped_connector(acme, peer)
    peer.interventions([intervention("INT-D1"), intervention("INT-D2", lines=[
        {"itemId": "ABSENT", "label": "?", "quantity": 1, "unitPrice": 3}])])
    connector = db.session.get(Connector, connector_id)
    dry = runs.summary(runs.run_now(connector, "receive", "command", dry_run=True))
    send = runs.summary(runs.run_now(db.session.get(Connector, connector_id), "send", "command", dry_run=True))
    assert not [call for call in peer.received()["calls"] if call["method"] == "PUT"]
    assert db.session.query(Invoice).count() == 0 and db.session.query(ReceivedDocument).count() == 0
    assert db.session.query(ExchangeWatermark).count() == 0
    real = run(connector_id, "receive")
    assert dry["counts"] == real["counts"] and send["status"] == "success"


def _selects_of_a_receive(peer, acme, code: str, count: int) -> int:
    from sqlalchemy import event
    connector_id = _mapped_connector(acme, peer) if code == "FS" else make_fs_connector(acme, peer.url, code=code)
    if code != "FS":
        map_article(acme, connector_id, "CABLE", "CAB-3G25")
    peer.interventions([intervention(f"{code}-INT-{n:03d}", validated_at=f"2026-11-20T09:{n:02d}:00+01:00")
                        for n in range(count)])
    selects = []

    def count_selects(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "sync_runs" not in statement:
            selects.append(statement)
    event.listen(db.engine, "before_cursor_execute", count_selects)
    try:
        report = run(connector_id, "receive")
    finally:
        event.remove(db.engine, "before_cursor_execute", count_selects)
    assert report["counts"]["ok"] == count, report
    return len(selects)


def test_a_receive_reads_the_references_per_batch_not_per_intervention(peer, acme):
    few = _selects_of_a_receive(peer, acme, "FS", 3)
    many = _selects_of_a_receive(peer, acme, "FS2", 30)
    assert many <= few + 2, (few, many)   # no query per intervention
