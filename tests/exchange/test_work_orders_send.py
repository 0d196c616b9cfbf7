"""Send products to the work-order application (exchanges.md Kind 3): code, name and
unit of the eligible articles, no prices, only what changed, the 2,500-product limit;
against the reference peer as a process of its own."""
import json
import subprocess
import sys
from decimal import Decimal

import pytest
import requests
from sqlalchemy import insert, select

from core.extensions import db
from exchange import runs
from exchange.base import save_connector
from models import Article, ArticleFamily, Connector, SyncRun, Unit

from exchange_env import REPO_ROOT, flask_env

API_KEY = "peer-api-key-42"


@pytest.fixture(scope="module")
def peer(app, tmp_path_factory):
    store = tmp_path_factory.mktemp("peer") / "inventory.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "exchange", "peer", "work-orders", "--serve", "--port", "0",
         "--api-key", API_KEY, "--store", str(store)],
        cwd=REPO_ROOT, env=flask_env(app), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert "listening on" in line, process.stderr.read() if process.poll() is not None else line
    url = line.strip().rsplit(" ", 1)[1]
    yield {"url": url, "store": store}
    process.kill()
    process.communicate()


@pytest.fixture
def account(peer):
    requests.delete(peer["url"] + "/v1/inventory", headers={"X-Api-Key": API_KEY}, timeout=5)
    return peer


def _inventory(peer) -> dict:
    return requests.get(peer["url"] + "/v1/inventory", headers={"X-Api-Key": API_KEY}, timeout=5).json()


def _connector(app, tenant_id, url, **settings) -> int:
    with app.app_context():
        connector, errors = save_connector(tenant_id, "work_orders", "WO", "", True, {
            "base_url": url, "api_key": API_KEY, "inbound_token": "tok", "labour_article": "A00000", **settings})
        assert not errors, errors
        db.session.commit()
        return connector.id


def _articles(app, tenant_id, count, family=None, start=0, active=True):
    with app.app_context():
        unit = db.session.scalars(select(Unit).where(Unit.tenant_id == tenant_id, Unit.code == "U")).first()
        if unit is None:
            unit = Unit(tenant_id=tenant_id, code="U", label="Unité")
            db.session.add(unit)
            db.session.flush()
        family_id = None
        if family:
            found = db.session.scalars(select(ArticleFamily).where(ArticleFamily.code == family)).first()
            if found is None:
                found = ArticleFamily(tenant_id=tenant_id, code=family, label=family)
                db.session.add(found)
                db.session.flush()
            family_id = found.id
        db.session.execute(insert(Article), [
            {"tenant_id": tenant_id, "code": f"{family or 'A'}{n:05d}", "label": f"Article {n}", "unit_id": unit.id,
             "sale_price": Decimal("10"), "family_id": family_id, "active": active, "available_for_export": True}
            for n in range(start, start + count)])
        db.session.commit()


def _send(app, connector_id):
    with app.app_context():
        connector = db.session.get(Connector, connector_id)
        run_id = runs.run_now(connector, "send", "command")
        return runs.summary(run_id)


def test_products_are_sent_without_prices_and_only_what_changed(app, tenants, account):
    tenant = tenants["ACME"]
    _articles(app, tenant, 2, family="CVC")
    _articles(app, tenant, 2, family="ELEC")
    _articles(app, tenant, 1, family="CVC", start=50, active=False)
    with app.app_context():
        db.session.add(Article(tenant_id=tenant, code="MO", label="Main-d'œuvre"))
        db.session.commit()
    connector_id = _connector(app, tenant, account["url"], product_filter="cvc", labour_article="MO")
    report = _send(app, connector_id)
    assert report["status"] == "success" and report["counts"]["ok"] == 2
    inventory = _inventory(account)
    assert inventory["items"] == [{"code": "CVC00000", "name": "Article 0", "unit": "U"},
                                  {"code": "CVC00001", "name": "Article 1", "unit": "U"}]  # no price, no ELEC
    assert json.loads(account["store"].read_text())["items"] == inventory["items"]        # kept by the peer
    again = _send(app, connector_id)                                                      # nothing changed
    assert again["counts"] == {"ok": 0, "skipped": 2, "warning": 0, "error": 0}
    assert _inventory(account)["calls"] == 1
    with app.app_context():
        db.session.scalars(select(Article).where(Article.code == "CVC00001")).one().label = "Renamed"
        db.session.commit()
    third = _send(app, connector_id)
    assert third["counts"]["ok"] == 1 and _inventory(account)["calls"] == 2
    assert {"code": "CVC00001", "name": "Renamed", "unit": "U"} in _inventory(account)["items"]


def test_exactly_2500_products_are_sent(app, tenants, account):
    _articles(app, tenants["ACME"], 2500)
    _articles(app, tenants["ACME"], 3, start=9000, active=False)
    report = _send(app, _connector(app, tenants["ACME"], account["url"]))
    assert report["status"] == "success" and report["counts"]["ok"] == 2500
    assert len(_inventory(account)["items"]) == 2500


def test_2501_eligible_products_send_nothing_and_fail_with_the_advice(app, tenants, account):
    _articles(app, tenants["ACME"], 2501)
    report = _send(app, _connector(app, tenants["ACME"], account["url"]))
    assert report["status"] == "failed"
    assert report["message"] == "Limite de 2 500 produits : 2501 éligibles, restreignez le filtre des produits."
    assert report["items"] == []
    assert _inventory(account) == {"items": [], "calls": 0}


def test_a_refused_api_key_says_so(app, tenants, account):
    _articles(app, tenants["ACME"], 1)
    with app.app_context():
        connector, errors = save_connector(tenants["ACME"], "work_orders", "WO", "", True, {
            "base_url": account["url"], "api_key": "wrong", "inbound_token": "tok", "labour_article": "A00000"})
        assert not errors
        db.session.commit()
        run_id = runs.run_now(connector, "send", "command")
        run = db.session.get(SyncRun, run_id)
        assert run.status == "failed" and "clé" in run.message.lower()


def test_a_manual_receive_has_nothing_to_fetch(app, tenants, account):
    _articles(app, tenants["ACME"], 1)
    connector_id = _connector(app, tenants["ACME"], account["url"])
    with app.app_context():
        run_id = runs.run_now(db.session.get(Connector, connector_id), "receive", "manual")
        run = db.session.get(SyncRun, run_id)
        assert run.status == "failed" and "webhook" in run.message
