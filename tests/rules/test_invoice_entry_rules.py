"""Rules behind the invoice entry: what choosing an article fills, and the one rule that
keeps an invoice's (or any row's) site and job site those of its client."""
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from models import Invoice, JobSite
from models.master_data import Client, Site
from rules.invoices import invoice_errors
from rules.master_data import job_site_errors, places_of_client_errors
from rules.parameters import ROW_RULES
from rules.pricing import PricingSettings, article_line_defaults

TENANT, OTHER = 1, 2
SETTINGS = PricingSettings("4MO", D("1.35"), D("1.25"), D("1.2"), D("1.10"))


@pytest.fixture(autouse=True)
def _ctx(app_ctx):
    yield


def _article(nature="6FO", sale_price=None, purchase=None, **costs):
    return SimpleNamespace(
        label="Disjoncteur 16 A", unit_id=3, vat_rate_id=7, sale_price=sale_price, net_purchase_price=purchase,
        nature=SimpleNamespace(code=nature, overhead_coefficient=None) if nature else None,
        cost_price=costs.get("cost_price"), weighted_average_cost=None, standard_cost=None)


def test_an_article_with_a_sale_price_fills_the_line_with_it():
    line = article_line_defaults(_article(sale_price=D("47.52"), purchase=D("30")), SETTINGS)
    assert (line.label, line.kind, line.unit_id, line.vat_rate_id) == ("Disjoncteur 16 A", "supply", 3, 7)
    assert (line.unit_price, line.price_source) == (D("47.5200"), "sale_price")


def test_an_article_without_sale_price_is_priced_by_the_pricing_rule():
    supply = article_line_defaults(_article(purchase=D("7.80")), SETTINGS)
    assert (supply.unit_price, supply.price_source) == (D("10.7250"), "pricing_rule")  # 7.80 × 1.25 × 1.10
    labour = article_line_defaults(_article(nature="4MOELEC", purchase=D("32.50")), SETTINGS)
    assert (labour.kind, labour.unit_price) == ("labour", D("48.2625"))  # 32.50 × 1.35 × 1.10


def test_an_article_without_any_cost_fills_no_price_and_says_why():
    line = article_line_defaults(_article(purchase=None), SETTINGS)
    assert (line.unit_price, line.price_source) == (None, "none") and line.warnings


def _client(id_):
    return Client(id=id_, tenant_id=TENANT, code=f"C{id_}", name=f"Client {id_}")


def _site(id_, client):
    return Site(id=id_, tenant_id=TENANT, code=f"S{id_}", name="Site", client_id=client.id)


def _job_site(id_, client):
    return JobSite(id=id_, tenant_id=TENANT, code=f"CH{id_}", name="Chantier", client_id=client.id)


def test_site_and_job_site_must_be_the_clients_own():
    mine, theirs = _client(1), _client(2)
    assert places_of_client_errors({"client": mine, "site": _site(10, mine), "job_site": _job_site(20, mine)}) == {}
    errors = places_of_client_errors({"client": mine, "site": _site(11, theirs), "job_site": _job_site(21, theirs)})
    assert set(errors) == {"site", "job_site"}
    assert "S11" in errors["site"] and "CH21" in errors["job_site"] and "C1" in errors["job_site"]
    assert places_of_client_errors({"client": None, "site": _site(11, theirs)}) == {}  # "choose the client" instead


def test_the_invoice_row_rule_is_registered_and_uses_the_same_rule():
    assert ROW_RULES[Invoice] is invoice_errors
    mine, theirs = _client(1), _client(2)
    assert set(invoice_errors({"client": None}, TENANT, None)) == {"client"}
    assert set(invoice_errors({"client": mine, "job_site": _job_site(21, theirs)}, TENANT, None)) == {"job_site"}
    assert invoice_errors({"client": mine, "site": _site(10, mine)}, TENANT, None) == {}
    foreign = Client(id=3, tenant_id=OTHER, code="C3", name="Ailleurs")
    assert "client" in invoice_errors({"client": foreign}, TENANT, None)
    assert set(job_site_errors({"client": mine, "site": _site(11, theirs)}, TENANT, None)) == {"site"}
