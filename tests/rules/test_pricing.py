"""Worked examples of the pricing rule of parameters.md."""
from decimal import Decimal as D

import pytest

from rules.pricing import ArticleCosts, PricingSettings, price_line

SETTINGS = PricingSettings("4MO", D("1.35"), D("1.25"), D("1.2"), D("1.10"))


@pytest.fixture(autouse=True)
def _ctx(app_ctx):
    yield


def test_labour_article_uses_labour_coefficient_overhead_and_difficulty():
    line = price_line(ArticleCosts("4MO", net_purchase_price=D("32.50")), D("3"), SETTINGS)
    assert line.labour is True
    assert line.unit_price == D("48.2625")  # 32.50 × 1.35 × 1.10
    assert line.quantity == D("3.6")  # 3 × 1.2
    assert line.amount == D("173.75")  # 48.2625 × 3.6 = 173.745 → half-up


def test_supply_article_uses_supply_coefficient_and_plain_quantity():
    line = price_line(ArticleCosts("6FO", net_purchase_price=D("12.34")), D("7"), SETTINGS)
    assert line.labour is False
    assert line.unit_price == D("16.9675")  # 12.34 × 1.25 × 1.10
    assert line.quantity == D("7")
    assert line.amount == D("118.77")  # 118.7725


def test_nature_overhead_overrides_the_dossier_overhead():
    line = price_line(ArticleCosts("4MOS", D("1.15"), net_purchase_price=D("40")), D("1"), SETTINGS)
    assert line.unit_price == D("62.1000")  # 40 × 1.35 × 1.15
    assert line.amount == D("74.52")  # quantity 1 × 1.2


def test_labour_prefix_is_a_prefix_not_a_substring():
    assert price_line(ArticleCosts("X4MO", net_purchase_price=D("10")), D("1"), SETTINGS).labour is False


@pytest.mark.parametrize("method, expected_cost", [
    ("cost_price", D("8")), ("weighted_average_cost", D("9")), ("standard_cost", D("10")),
])
def test_valuation_method_replaces_a_missing_purchase_price(method, expected_cost):
    settings = PricingSettings("4MO", D("1"), D("2"), D("1"), D("1"), method)
    article = ArticleCosts("6FO", None, None, D("8"), D("9"), D("10"))
    line = price_line(article, D("1"), settings)
    assert line.cost == expected_cost and line.unit_price == expected_cost * 2 and not line.warnings


@pytest.mark.parametrize("method", ["none", "purchase_price"])
def test_no_cost_gives_a_warning_and_no_price(method):
    settings = PricingSettings("4MO", D("1"), D("2"), D("1"), D("1"), method)
    line = price_line(ArticleCosts("6FO", None, None, D("8"), D("9"), D("10")), D("1"), settings)
    assert line.cost is None and line.amount is None and line.warnings


def test_purchase_price_wins_over_valuation_method():
    settings = PricingSettings("4MO", D("1"), D("1"), D("1"), D("1"), "standard_cost")
    line = price_line(ArticleCosts("6FO", None, D("5"), D("8"), D("9"), D("10")), D("2"), settings)
    assert line.cost == D("5") and line.amount == D("10.00")


def test_half_up_rounding_of_the_amount():
    settings = PricingSettings("4MO", D("1"), D("1"), D("1"), D("1"))
    line = price_line(ArticleCosts("6FO", net_purchase_price=D("0.125")), D("1"), settings)
    assert line.unit_price == D("0.1250") and line.amount == D("0.13")
