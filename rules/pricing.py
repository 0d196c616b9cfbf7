"""The pricing rule of ``parameters.md`` (price method ``purchase_x_coefficient``).

For an article line with net purchase price P (or, when missing, the value chosen
by the cost valuation method; ``none`` → no cost and a warning), quantity Q and the
nature's overhead override o_n (else the dossier's overhead o):
- labour article (nature code starts with the labour prefix):
  unit price = P × labour_coef × (o_n or o), quantity = Q × difficulty_coef
- supply article: unit price = P × supply_coef × (o_n or o), quantity = Q
Unit prices keep 4 decimals, the line amount is rounded half-up to 2 decimals.
"""
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _

from core.glossary import CHOICE_LABELS, FIELD_LABELS, label_of

UNIT_PRICE = Decimal("0.0001")
AMOUNT = Decimal("0.01")
VALUATION_ATTRIBUTES = {
    "purchase_price": None,  # nothing to fall back on: the purchase price itself is missing
    "cost_price": "cost_price",
    "weighted_average_cost": "weighted_average_cost",
    "standard_cost": "standard_cost",
    "none": None,
}


@dataclass(frozen=True)
class PricingSettings:
    """The dossier settings the rule reads."""

    labour_nature_prefix: str
    labour_sales_coefficient: Decimal
    supply_sales_coefficient: Decimal
    difficulty_coefficient: Decimal
    overhead_coefficient: Decimal
    cost_valuation_method: str = "purchase_price"

    @classmethod
    def from_settings(cls, settings) -> "PricingSettings":
        return cls(settings.labour_nature_prefix, settings.labour_sales_coefficient,
                   settings.supply_sales_coefficient, settings.difficulty_coefficient,
                   settings.overhead_coefficient, settings.cost_valuation_method)


@dataclass(frozen=True)
class ArticleCosts:
    """The article values the rule reads (an Article row fits, through ``from_article``)."""

    nature_code: str | None
    nature_overhead_coefficient: Decimal | None = None
    net_purchase_price: Decimal | None = None
    cost_price: Decimal | None = None
    weighted_average_cost: Decimal | None = None
    standard_cost: Decimal | None = None

    @classmethod
    def from_article(cls, article) -> "ArticleCosts":
        nature = article.nature
        return cls(nature.code if nature else None, nature.overhead_coefficient if nature else None,
                   article.net_purchase_price, article.cost_price, article.weighted_average_cost,
                   article.standard_cost)


@dataclass(frozen=True)
class Step:
    """One step of a price: its label, how it is obtained (a text, or the numbers
    multiplied, which the screen formats in the user's language) and its value."""
    label: str
    formula: str
    value: Decimal | None
    factors: tuple = ()


@dataclass
class PricedLine:
    labour: bool
    cost: Decimal | None
    unit_price: Decimal | None
    quantity: Decimal
    amount: Decimal | None
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_labour_nature(nature_code: str | None, labour_prefix: str) -> bool:
    return bool(nature_code and labour_prefix and nature_code.startswith(labour_prefix))


def base_cost(article: ArticleCosts, method: str) -> tuple[Decimal | None, str]:
    """P: the net purchase price, else the value of the cost valuation method."""
    if article.net_purchase_price is not None:
        return Decimal(article.net_purchase_price), "net_purchase_price"
    attribute = VALUATION_ATTRIBUTES.get(method)
    value = getattr(article, attribute) if attribute else None
    return (Decimal(value), attribute) if value is not None else (None, method)


def price_line(article: ArticleCosts, quantity: Decimal, settings: PricingSettings) -> PricedLine:
    """Price one article line, keeping every step for the price simulator."""
    quantity = Decimal(quantity)
    labour = is_labour_nature(article.nature_code, settings.labour_nature_prefix)
    cost, source = base_cost(article, settings.cost_valuation_method)
    overhead = article.nature_overhead_coefficient or settings.overhead_coefficient
    overhead_source = _("nature") if article.nature_overhead_coefficient else _("dossier")
    sales_coefficient = settings.labour_sales_coefficient if labour else settings.supply_sales_coefficient
    line_quantity = quantity * settings.difficulty_coefficient if labour else quantity
    steps = [
        Step(_("Kind"), _("labour: nature %(code)s starts with %(prefix)s", code=article.nature_code,
                          prefix=settings.labour_nature_prefix) if labour else _("supply"), None),
        Step(_("Cost P"), str(label_of(source) if source in FIELD_LABELS else CHOICE_LABELS.get(source, source)),
             cost),
        Step(_("Sales coefficient"), _("labour") if labour else _("supply"), sales_coefficient),
        Step(_("Overhead coefficient"), overhead_source, overhead),
    ]
    if labour:
        steps.append(Step(_("Quantity"), "", line_quantity, (quantity, settings.difficulty_coefficient)))
    else:
        steps.append(Step(_("Quantity"), "", line_quantity, (quantity,)))
    if cost is None:
        warning = _("No cost: the article has no purchase price and the valuation method (%(method)s) gives none.",
                    method=CHOICE_LABELS.get(settings.cost_valuation_method, settings.cost_valuation_method))
        return PricedLine(labour, None, None, line_quantity, None, steps, [warning])
    unit_price = (cost * sales_coefficient * overhead).quantize(UNIT_PRICE, ROUND_HALF_UP)
    amount = (unit_price * line_quantity).quantize(AMOUNT, ROUND_HALF_UP)
    steps.append(Step(_("Unit sale price"), "", unit_price, (cost, sales_coefficient, overhead)))
    steps.append(Step(_("Line amount"), "", amount, (unit_price, line_quantity)))
    return PricedLine(labour, cost, unit_price, line_quantity, amount, steps)


@dataclass(frozen=True)
class LineDefaults:
    """What choosing an article on an invoice line fills in (the user may change it)."""

    label: str
    kind: str
    unit_id: int | None
    vat_rate_id: int | None
    unit_price: Decimal | None
    price_source: str  # "sale_price", "pricing_rule" or "none"
    warnings: tuple[str, ...] = ()


def article_line_defaults(article, settings: PricingSettings) -> LineDefaults:
    """Label, kind, unit, VAT rate and unit price of a line for ``article``: its sale
    price, or the pricing rule when it has none (``parameters.md``)."""
    costs = ArticleCosts.from_article(article)
    kind = "labour" if is_labour_nature(costs.nature_code, settings.labour_nature_prefix) else "supply"
    if article.sale_price is not None:
        unit_price, source, warnings = Decimal(article.sale_price).quantize(UNIT_PRICE), "sale_price", ()
    else:
        priced = price_line(costs, Decimal(1), settings)
        unit_price, warnings = priced.unit_price, tuple(priced.warnings)
        source = "pricing_rule" if unit_price is not None else "none"
    return LineDefaults(article.label, kind, article.unit_id, article.vat_rate_id, unit_price, source, warnings)
