"""CSV exchange send: the article, client and contact files with the headers of
exchanges.md, per the settings, only what changed (Tout renvoyer: all), atomic."""
import csv
import os
from decimal import Decimal

import pytest

from core.extensions import db
from exchange import runs
from models import Article, ArticleFamily, Client, ClientFamily, Contact, VatRate
from models.exchange import Connector

import csv_env


@pytest.fixture
def ctx(app, tenants):
    csv_env.clean_root(app)
    with app.app_context():
        tenant = tenants["ACME"]
        setup = csv_env.dossier(tenant)
        family = ArticleFamily(tenant_id=tenant, code="FAM", label="Famille")
        db.session.add(family)
        db.session.flush()
        vat = db.session.query(VatRate).filter_by(tenant_id=tenant, code="T20").one()
        for article in db.session.query(Article).filter_by(tenant_id=tenant):
            article.vat_rate_id, article.sale_price = vat.id, Decimal("71.8800")
        db.session.query(Article).filter_by(tenant_id=tenant, code="A-NOTAIRE").one().family_id = family.id
        db.session.query(Article).filter_by(tenant_id=tenant, code="A-LEG-DOC").one().available_for_export = False
        cli = db.session.query(ClientFamily).filter_by(tenant_id=tenant, code="CLI").one()
        db.session.add_all([Client(tenant_id=tenant, code="C1", name="Dupont; et fils", city="Paris", country="FR",
                                   vat_number="FR40303265045", client_family_id=cli.id),
                            Client(tenant_id=tenant, code="C2", name="Martin", deactivated=True),
                            Client(tenant_id=tenant, code="C3", name="Durand")])
        db.session.flush()
        db.session.add(Contact(tenant_id=tenant, code="K1", name="Sophie", email="s@x.fr", role="Achats",
                               client_id=db.session.query(Client).filter_by(code="C1").one().id))
        connector = csv_env.connector(tenant, include_contacts="yes")
        csv_env.map_codes(tenant, connector.id, setup["articles"], ("SRV-FRAIS",))
        db.session.commit()
        yield {"tenant": tenant, "connector_id": connector.id, "out": csv_env.folder("partner/out")}
        db.session.remove()


def _send(ctx, full_send=False, **settings):
    connector = db.session.get(Connector, ctx["connector_id"])
    if settings:
        connector.settings = {**connector.settings, **settings}
        db.session.commit()
    run_id = runs.run_now(connector, "send", full_send=full_send)
    db.session.rollback()
    return runs.summary(run_id)


def _read(ctx, prefix):
    names = sorted(name for name in os.listdir(ctx["out"]) if name.startswith(prefix))
    with (ctx["out"] / names[-1]).open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter=";")), names


def test_articles_clients_and_contacts_files_with_their_headers(ctx):
    report = _send(ctx)
    assert report["status"] == "success", report
    articles, names = _read(ctx, "Articles_")
    assert len(names) == 1 and len(names[0]) == len("Articles_20261202153000.csv")
    assert articles[0] == ["CodeArticle", "CodeExterne", "Libelle", "Famille", "SousFamille", "Unite", "PrixVente",
                           "TauxTVA"]
    assert articles[1:] == [["A-MSG-INT", "", "Article MSG-INT", "", "", "U", "71,88", "20"],
                            ["A-NOTAIRE", "", "Article NOTAIRE", "FAM", "", "U", "71,88", "20"],
                            ["A-SRV-FRAIS", "SRV-FRAIS", "Article SRV-FRAIS", "", "", "U", "71,88", "20"]]
    clients, _names = _read(ctx, "Clients_")
    assert clients == [["Code", "Nom", "Adresse", "CodePostal", "Ville", "Pays", "Email", "Telephone", "NumTVA"],
                       ["C1", "Dupont; et fils", "", "", "Paris", "FR", "", "", "FR40303265045"],
                       ["C3", "Durand", "", "", "", "FR", "", "", ""]]  # no country given: FR (ISO)
    contacts, _names = _read(ctx, "Contacts_")
    assert contacts == [["CodeClient", "Nom", "Email", "Telephone", "Fonction"], ["C1", "Sophie", "s@x.fr", "", "Achats"]]
    assert not [name for name in os.listdir(ctx["out"]) if name.endswith(".tmp") or name.startswith(".")]
    with (ctx["out"] / _names[0]).open("rb") as handle:
        assert handle.read().count(b"\r\n") == 2


def test_two_sends_in_one_second_write_two_files_the_partner_can_read(ctx, monkeypatch):
    from datetime import datetime, timezone

    import exchange.csv_exchange.send as send
    moment = datetime(2026, 12, 2, 14, 30, tzinfo=timezone.utc)
    monkeypatch.setattr(send, "utcnow", lambda: moment)
    first, second = _send(ctx, full_send=True), _send(ctx, full_send=True)
    assert first["status"] == second["status"] == "success"
    names = sorted(name for name in os.listdir(ctx["out"]) if name.startswith("Articles_"))
    assert names == ["Articles_20261202153000.csv", "Articles_20261202153000_2.csv"]
    assert names[1] in {item["identifier"] for item in second["items"] if item["type"] == "file"}
    assert all(os.stat(ctx["out"] / name).st_mode & 0o777 == 0o644 for name in names)


def test_only_what_changed_is_sent_and_send_everything_again_sends_all(ctx):
    _send(ctx)
    for name in os.listdir(ctx["out"]):
        os.unlink(ctx["out"] / name)
    report = _send(ctx)
    assert [item["state"] for item in report["items"]] == ["skipped"] * 3
    assert os.listdir(ctx["out"]) == []
    client = db.session.query(Client).filter_by(code="C3").one()
    client.city = "Lyon"
    db.session.commit()
    report = _send(ctx)
    clients, _names = _read(ctx, "Clients_")
    assert clients[1:] == [["C3", "Durand", "", "", "Lyon", "FR", "", "", ""]]
    assert "1 ligne écrite, 1 inchangée non envoyée." in [item["message"] for item in report["items"]]
    for name in os.listdir(ctx["out"]):
        os.unlink(ctx["out"] / name)
    _send(ctx, full_send=True)
    articles, _names = _read(ctx, "Articles_")
    assert len(articles) == 4


def test_filters_unit_setting_and_none_modes(ctx):
    _send(ctx, articles_mode="custom_filter", article_filter="FAM", clients_mode="custom_filter",
          client_filter="CLI", unit="", include_contacts=False)
    articles, _names = _read(ctx, "Articles_")
    assert [row[0] for row in articles[1:]] == ["A-NOTAIRE"]
    clients, _names = _read(ctx, "Clients_")
    assert [row[0] for row in clients[1:]] == ["C1"]
    assert not [name for name in os.listdir(ctx["out"]) if name.startswith("Contacts_")]
    for name in os.listdir(ctx["out"]):
        os.unlink(ctx["out"] / name)
    report = _send(ctx, articles_mode="none", clients_mode="none")
    assert report["items"] == [] and os.listdir(ctx["out"]) == []


def test_the_unit_setting_replaces_the_articles_unit(ctx):
    from models import Unit
    db.session.add(Unit(tenant_id=ctx["tenant"], code="FORF", label="Forfait"))
    db.session.commit()
    _send(ctx, unit="FORF")
    articles, _names = _read(ctx, "Articles_")
    assert {row[5] for row in articles[1:]} == {"FORF"}


def test_a_dry_run_sends_nothing(ctx):
    connector = db.session.get(Connector, ctx["connector_id"])
    run_id = runs.run_now(connector, "send", dry_run=True)
    assert runs.summary(run_id)["counts"]["ok"] > 0 and os.listdir(ctx["out"]) == []
    assert _send(ctx)["counts"]["skipped"] == 0  # the dry run remembered nothing
