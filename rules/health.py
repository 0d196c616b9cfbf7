"""The parameter health check (parameters.md, "Consultant tools"): everything broken or
risky in a tenant's parameters, at once.

Each check is a plain function of a tenant id returning ``Finding`` rows: a stable
rule code (scripts and tests rely on it), a severity (``blocking`` stops documents
or exchanges; ``warning`` is risky), a French message, and the row it concerns (its
list's URL name, id and code) so that the screen links to it. Checks read in a few
grouped queries, never row by row. A new check is one function decorated with
``@check``: the exchanges add theirs (connectors' settings, the sequences their
documents need) from ``exchange/``, which knows the kinds.
"""
from dataclasses import dataclass

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import exists, or_, select

from core.extensions import db
from models import Article, DossierSettings, Invoice, NumberingSequence, OperationCode, ProductNature, Unit, VatRate
from rules.legal import FRENCH_VAT_RATES, MAX_NUMBER_LENGTH, identity_errors

BLOCKING, WARNING = "blocking", "warning"
SEVERITIES = (BLOCKING, WARNING)
NEEDS_CREDIT_NOTE_CODE = ("invoice", "down_payment")
BILLING_SETTINGS = ("grouped_billing_operation_code", "detailed_billing_operation_code",
                    "final_billing_operation_code", "down_payment_operation_code")


CHECKS: list = []
WARNING_ONLY: set = set()  # checks that never find anything blocking


def check(function=None, *, warnings_only: bool = False):
    """Register a check (a function of a tenant id returning findings); one that only
    ever warns says so, and the home page's count of blocking problems skips it (it may
    read large tables: the articles)."""
    def register(function):
        CHECKS.append(function)
        if warnings_only:
            WARNING_ONLY.add(function)
        return function
    return register(function) if function is not None else register


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    table: str = ""          # the list's URL name of the row concerned ("" for none)
    row_id: int | None = None
    row_code: str = ""


def _settings(tenant_id: int) -> DossierSettings | None:
    return db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one_or_none()


@check
def credit_note_codes(tenant_id: int) -> list[Finding]:
    """Invoice and down-payment codes, and the billing codes of the settings, need a
    credit-note code of type credit note."""
    findings = []
    settings = _settings(tenant_id)
    billing_ids = {getattr(settings, f"{name}_id") for name in BILLING_SETTINGS} - {None} if settings else set()
    codes = db.session.query(OperationCode).filter(
        OperationCode.tenant_id == tenant_id,
        or_(OperationCode.document_type.in_(NEEDS_CREDIT_NOTE_CODE), OperationCode.id.in_(billing_ids)))
    for code in codes.order_by(OperationCode.code):
        credit = code.credit_note_operation_code
        if credit is None:
            findings.append(Finding("CREDIT_NOTE_CODE_MISSING", BLOCKING, _(
                "Operation code %(code)s has no credit-note code: its documents cannot be cancelled.",
                code=code.code), "operation-codes", code.id, code.code))
        elif credit.document_type != "credit_note":
            findings.append(Finding("CREDIT_NOTE_CODE_NOT_CREDIT_NOTE", BLOCKING, _(
                "The credit-note code %(credit)s of operation code %(code)s is not of type credit note.",
                credit=credit.code, code=code.code), "operation-codes", code.id, code.code))
    return findings


@check
def operational_order_code(tenant_id: int) -> list[Finding]:
    settings = _settings(tenant_id)
    code = settings and settings.operational_order_operation_code
    if code is not None and code.billable:
        return [Finding("OPERATIONAL_ORDER_CODE_BILLABLE", BLOCKING, _(
            "The operational order operation code %(code)s is billable: it must not be.", code=code.code),
            "operation-codes", code.id, code.code)]
    return []


@check(warnings_only=True)
def inactive_settings(tenant_id: int) -> list[Finding]:
    """Dossier settings pointing at a row that was deactivated."""
    settings = _settings(tenant_id)
    findings = []
    for relation in DossierSettings.__mapper__.relationships if settings else ():
        target = getattr(settings, relation.key)
        if target is not None and getattr(target, "active", True) is False:
            table = target.__tablename__.replace("_", "-")
            findings.append(Finding("SETTING_POINTS_TO_INACTIVE_ROW", WARNING, _(
                "A dossier setting points at %(code)s, which is inactive.", code=target.code),
                table, target.id, target.code))
    return findings


@check
def labour_nature(tenant_id: int) -> list[Finding]:
    settings = _settings(tenant_id)
    prefix = (settings.labour_nature_prefix or "").strip() if settings else ""
    if not prefix:
        return [Finding("LABOUR_PREFIX_MISSING", BLOCKING, _(
            "The dossier settings have no labour nature prefix: no article can be labour."))]
    found = db.session.scalar(select(exists().where(
        ProductNature.tenant_id == tenant_id, ProductNature.code.startswith(prefix, autoescape=True))))
    if not found:
        return [Finding("LABOUR_NATURE_MISSING", BLOCKING, _(
            "No product nature starts with the labour prefix %(prefix)s.", prefix=prefix))]
    return []


def _sequence_types(tenant_id: int) -> dict[str, list[NumberingSequence]]:
    by_type: dict[str, list[NumberingSequence]] = {}
    for sequence in db.session.query(NumberingSequence).filter_by(tenant_id=tenant_id):
        by_type.setdefault(sequence.document_type, []).append(sequence)
    return by_type


@check
def gapless_sequences(tenant_id: int) -> list[Finding]:
    findings = []
    by_type = _sequence_types(tenant_id)
    for document_type, label in (("invoice", _("invoice")), ("credit_note", _("credit note"))):
        if not any(sequence.gapless for sequence in by_type.get(document_type, [])):
            findings.append(Finding("GAPLESS_SEQUENCE_MISSING", BLOCKING, _(
                "There is no gapless numbering sequence for the %(type)s documents.", type=label)))
    return findings


def sequences_missing(tenant_id: int, types_in_use: set[str], made_by: str = "") -> list[Finding]:
    """A numbering sequence is needed for every document type in use (called with the
    types a tenant's documents and its enabled connectors make)."""
    by_type = _sequence_types(tenant_id)
    return [Finding("SEQUENCE_MISSING_FOR_TYPE_IN_USE", BLOCKING, _(
        "Documents of type %(type)s are made%(by)s but there is no numbering sequence for them.",
        type=document_type, by=made_by)) for document_type in sorted(types_in_use) if document_type not in by_type]


@check
def invoice_sequences(tenant_id: int) -> list[Finding]:
    """Invoices exist: they need their sequence (the connectors add the types they make)."""
    if db.session.scalar(select(exists().where(Invoice.tenant_id == tenant_id))):
        return sequences_missing(tenant_id, {"invoice"})
    return []


@check(warnings_only=True)
def articles(tenant_id: int) -> list[Finding]:
    """Active articles without VAT rate or unit, and labour articles without purchase
    price when the valuation method needs it (counted, the first ones named)."""
    settings = _settings(tenant_id)
    findings = []
    base = db.session.query(Article.id, Article.code).filter(Article.tenant_id == tenant_id, Article.active.is_(True))
    for rule, condition, message in (
            ("ARTICLE_WITHOUT_VAT_RATE", Article.vat_rate_id.is_(None), _("Article %(code)s has no VAT rate.")),
            ("ARTICLE_WITHOUT_UNIT", Article.unit_id.is_(None), _("Article %(code)s has no unit."))):
        for row in base.filter(condition).order_by(Article.code).limit(50):
            findings.append(Finding(rule, WARNING, message % {"code": row.code}, "articles", row.id, row.code))
    if settings and settings.cost_valuation_method == "purchase_price" and settings.labour_nature_prefix:
        labour = base.join(ProductNature, ProductNature.id == Article.nature_id).filter(
            ProductNature.code.startswith(settings.labour_nature_prefix, autoescape=True),
            Article.net_purchase_price.is_(None))
        for row in labour.order_by(Article.code).limit(50):
            findings.append(Finding("LABOUR_ARTICLE_WITHOUT_PURCHASE_PRICE", WARNING, _(
                "Labour article %(code)s has no purchase price (valuation method: purchase price).",
                code=row.code), "articles", row.id, row.code))
    return findings


@check(warnings_only=True)
def vat_rates(tenant_id: int) -> list[Finding]:
    rates = db.session.query(VatRate).filter_by(tenant_id=tenant_id).order_by(VatRate.code)
    return [Finding("VAT_RATE_NOT_FRENCH", WARNING, _(
        "VAT rate %(code)s (%(rate)s %%) is not a French rate.", code=rate.code, rate=format_decimal(rate.rate)),
        "vat-rates", rate.id, rate.code) for rate in rates if rate.rate is not None and rate.rate not in FRENCH_VAT_RATES]


@check
def invoice_number_length(tenant_id: int) -> list[Finding]:
    sequences = db.session.query(NumberingSequence).filter(
        NumberingSequence.tenant_id == tenant_id, NumberingSequence.document_type.in_(("invoice", "credit_note")))
    findings = []
    for sequence in sequences:
        longest = len(sequence.prefix or "") + max(sequence.padding or 0, 10)  # numbers may grow past the padding
        if longest > MAX_NUMBER_LENGTH:
            findings.append(Finding("INVOICE_NUMBER_TOO_LONG", BLOCKING, _(
                "Numbers of sequence %(code)s could exceed %(max)s characters (Factur-X limit).",
                code=sequence.code, max=MAX_NUMBER_LENGTH), "numbering-sequences", sequence.id, sequence.code))
    return findings


@check
def company_identity(tenant_id: int) -> list[Finding]:
    """What the legal invoices need of the company identity (the validation's own rule)."""
    settings = _settings(tenant_id)
    return [Finding("COMPANY_IDENTITY_INCOMPLETE", BLOCKING, message, "dossier-settings")
            for message in (identity_errors(settings) if settings else [])]


@check(warnings_only=True)
def unit_codes(tenant_id: int) -> list[Finding]:
    """Units used on invoices need their UN/ECE code (Factur-X)."""
    units = db.session.query(Unit).filter(Unit.tenant_id == tenant_id, or_(Unit.un_ece_code.is_(None),
                                                                             Unit.un_ece_code == ""))
    return [Finding("UNIT_WITHOUT_UN_ECE_CODE", WARNING, _(
        "Unit %(code)s has no UN/ECE code: invoices using it cannot be validated.", code=unit.code),
        "units", unit.id, unit.code) for unit in units.order_by(Unit.code)]


def health_findings(tenant_id: int) -> list[Finding]:
    """Every finding of every check, blocking first."""
    findings = [finding for check in CHECKS for finding in check(tenant_id)]
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.rule, f.row_code))


def count_blocking(tenant_id: int) -> int:
    """How many blocking problems the dossier has (the home page's count): the checks
    that may block only."""
    return blocking_count(finding for check in CHECKS if check not in WARNING_ONLY for finding in check(tenant_id))


def blocking_count(findings) -> int:
    return sum(1 for finding in findings if finding.severity == BLOCKING)
