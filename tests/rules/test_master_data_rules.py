"""The master-data rules as plain functions (rows are built in memory, nothing is saved)."""
from datetime import date
from decimal import Decimal as D

import pytest

from models import Article, ArticleFamily, Client, Employee, JobSite, Site, Supplier
from rules.master_data import (
    MASTER_DATA_ROW_RULES, article_errors, article_kind, contact_errors, contract_end_date, contract_errors,
    employee_errors, is_labour_nature, job_site_errors, site_errors,
)
from rules.parameters import ROW_RULES

TENANT, OTHER = 1, 2


@pytest.fixture(autouse=True)
def _ctx(app_ctx):
    yield


def _client(id_, tenant_id=TENANT):
    return Client(id=id_, tenant_id=tenant_id, code=f"C{id_}", name=f"Client {id_}")


def _site(id_, client, tenant_id=TENANT):
    return Site(id=id_, tenant_id=tenant_id, code=f"S{id_}", name=f"Site {id_}", client_id=client.id)


def _family(id_, parent=None):
    return ArticleFamily(id=id_, tenant_id=TENANT, code=f"F{id_}", label=f"Family {id_}",
                         parent_id=parent.id if parent else None)


def test_master_data_rules_are_registered_next_to_the_parameter_rules():
    for model, rule in MASTER_DATA_ROW_RULES.items():
        registered = ROW_RULES[model]
        assert getattr(registered, "row_rule", registered) is rule  # wrapped by the format checks
    assert len(ROW_RULES) > len(MASTER_DATA_ROW_RULES)  # the parameter rules are still there


def test_a_site_needs_a_client():
    assert set(site_errors({"code": "S1", "client": None}, TENANT, None)) == {"client"}
    assert site_errors({"code": "S1", "client": _client(1)}, TENANT, None) == {}


def test_a_job_site_needs_a_client_and_a_site_of_that_client():
    c1, c2 = _client(1), _client(2)
    assert set(job_site_errors({"client": None, "site": None}, TENANT, None)) == {"client"}
    assert job_site_errors({"client": c1, "site": None}, TENANT, None) == {}
    assert job_site_errors({"client": c1, "site": _site(10, c1)}, TENANT, None) == {}
    errors = job_site_errors({"client": c1, "site": _site(11, c2)}, TENANT, None)
    assert set(errors) == {"site"} and "S11" in errors["site"] and "C1" in errors["site"]


def test_a_contact_belongs_to_exactly_one_party():
    client = _client(1)
    supplier = Supplier(id=5, tenant_id=TENANT, code="F5", name="Fournisseur")
    assert set(contact_errors({"client": None, "supplier": None}, TENANT, None)) == {"client"}
    assert set(contact_errors({"client": client, "supplier": supplier}, TENANT, None)) == {"supplier"}
    assert contact_errors({"client": client, "supplier": None}, TENANT, None) == {}
    assert contact_errors({"client": None, "supplier": supplier}, TENANT, None) == {}


def test_subfamily_must_be_a_subfamily_of_the_chosen_family():
    elec, plom = _family(1), _family(2)
    elec_cab, plom_san = _family(3, elec), _family(4, plom)
    assert article_errors({"family": elec, "subfamily": elec_cab}, TENANT, None) == {}
    assert article_errors({"family": elec, "subfamily": None}, TENANT, None) == {}
    assert article_errors({"family": None, "subfamily": None}, TENANT, None) == {}
    assert set(article_errors({"family": elec, "subfamily": plom_san}, TENANT, None)) == {"subfamily"}
    assert set(article_errors({"family": elec, "subfamily": plom}, TENANT, None)) == {"subfamily"}
    assert set(article_errors({"family": elec_cab, "subfamily": None}, TENANT, None)) == {"family"}
    assert set(article_errors({"family": None, "subfamily": elec_cab}, TENANT, None)) == {"family"}


@pytest.mark.parametrize("field", ["net_purchase_price", "cost_price", "weighted_average_cost",
                                   "standard_cost", "sale_price"])
def test_article_prices_are_not_negative(field):
    assert article_errors({field: D("0")}, TENANT, None) == {}
    assert article_errors({field: D("12.3456")}, TENANT, None) == {}
    assert set(article_errors({field: D("-0.0001")}, TENANT, None)) == {field}


@pytest.mark.parametrize("field", ["hourly_cost", "billable_hourly_rate"])
def test_employee_amounts_are_not_negative(field):
    assert employee_errors({field: None}, TENANT, None) == {}
    assert employee_errors({field: D("0.00")}, TENANT, None) == {}
    assert set(employee_errors({field: D("-1")}, TENANT, None)) == {field}


def test_contract_term_date_not_before_start_date():
    client = _client(1)
    base = {"client": client, "site": None, "start_date": date(2025, 1, 1)}
    assert contract_errors({**base, "term_date": date(2025, 1, 1)}, TENANT, None) == {}
    assert contract_errors({**base, "term_date": None}, TENANT, None) == {}
    assert set(contract_errors({**base, "term_date": date(2024, 12, 31)}, TENANT, None)) == {"term_date"}
    assert set(contract_errors({**base, "client": None, "term_date": None}, TENANT, None)) == {"client"}
    other_site = _site(7, _client(2))
    assert set(contract_errors({**base, "site": other_site, "term_date": None}, TENANT, None)) == {"site"}


def test_rows_of_another_tenant_are_refused():
    foreign = _client(9, tenant_id=OTHER)
    assert set(site_errors({"client": foreign}, TENANT, None)) == {"client"}
    values = {"client": _client(1), "site": _site(3, foreign, tenant_id=OTHER)}
    assert "site" in job_site_errors(values, TENANT, None)
    assert "salesperson" in ROW_RULES[Client]({"salesperson": Employee(id=1, tenant_id=OTHER)}, TENANT, None)


def test_labour_nature_and_article_kind():
    assert is_labour_nature("4MO", "4MO") and is_labour_nature("4MOS", "4MO")
    assert not is_labour_nature("6FO", "4MO") and not is_labour_nature("X4MO", "4MO")
    assert not is_labour_nature(None, "4MO") and not is_labour_nature("4MO", "")
    assert article_kind("4MOD", "4MO") == "labour"
    assert article_kind("6FO", "4MO") == "supply" and article_kind(None, "4MO") == "supply"
    assert article_kind("6FO", "6F") == "labour"  # the tenant's prefix decides


def test_contract_end_date_of_parameters_md():
    term, due = date(2026, 6, 30), date(2026, 4, 1)
    assert contract_end_date(False, term, due, "term_date") == date(2026, 6, 29)
    assert contract_end_date(False, term, due, "due_date") == date(2026, 3, 31)
    assert contract_end_date(True, term, due, "term_date") == due  # open-ended: the renewal due date
    assert contract_end_date(False, None, due, "term_date") is None


def test_rules_accept_values_read_from_rows():
    """Imports pass the attribute values of the rows they build: the same rules apply."""
    job_site = JobSite(tenant_id=TENANT, code="J1", name="Chantier", client=_client(1),
                       site=_site(2, _client(3)))
    assert set(job_site_errors({"client": job_site.client, "site": job_site.site}, TENANT, None)) == {"site"}
    article = Article(tenant_id=TENANT, code="A", label="A", net_purchase_price=D("-1"))
    assert set(article_errors({"net_purchase_price": article.net_purchase_price}, TENANT, None)) == {
        "net_purchase_price"}
