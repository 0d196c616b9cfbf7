"""Invoice totals and validation: gapless, chronological, zero total confirmed."""
import multiprocessing
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from core.extensions import db
from models.invoices import Invoice
from rules.invoices import InvoiceError, ZeroTotalNeedsConfirmation, compute_totals, validate_invoice
from tests.rules.invoice_factory import draft_invoice, invoice_setup


@pytest.fixture
def setup(app_ctx, tenants):
    ids = invoice_setup(tenants["ACME"])
    db.session.commit()
    return ids


def test_totals_in_decimal_with_vat_per_rate(setup, tenants):
    invoice = draft_invoice(tenants["ACME"], setup, lines=[
        (D("3"), D("33.3333"), "vat20"), (D("1.5"), D("10.01"), "vat55"), (D("1"), D("0.05"), "vat20")])
    compute_totals(invoice)
    assert [line.amount for line in invoice.lines] == [D("100.00"), D("15.02"), D("0.05")]
    assert invoice.total_excl_vat == D("115.07")
    assert invoice.total_vat == D("20.01") + D("0.83")  # 100.05 × 20 % and 15.02 × 5.5 % (0.8261)
    assert invoice.total_incl_vat == D("135.91")


def test_validation_takes_consecutive_numbers(setup, tenants):
    first = draft_invoice(tenants["ACME"], setup)
    second = draft_invoice(tenants["ACME"], setup)
    db.session.commit()
    assert validate_invoice(first.id, tenants["ACME"]).number == "FA00001"
    assert validate_invoice(second.id, tenants["ACME"]).number == "FA00002"
    db.session.commit()
    assert first.state == "validated" and first.total_incl_vat == D("120.00")


def test_a_validation_is_audited_field_by_field_under_the_number_it_takes(setup, tenants):
    """The entries of the invoice's one UPDATE name it by its new number, its sequence by
    its code, one entry a field that changed (PostgreSQL writes them in the statement that
    takes the number, SQLite after it: the same entries)."""
    from sqlalchemy import func

    from models import AuditLogEntry

    invoice = draft_invoice(tenants["ACME"], setup, invoice_date=date(2026, 3, 2))
    compute_totals(invoice)  # as saving the draft does
    db.session.commit()
    before = db.session.query(func.max(AuditLogEntry.id)).scalar()
    validated_at = validate_invoice(invoice.id, tenants["ACME"]).validated_at
    db.session.commit()
    entries = db.session.query(AuditLogEntry).filter(AuditLogEntry.id > before).all()
    assert {(entry.table_name, entry.row_id, entry.action, entry.row_code, entry.tenant_id) for entry in entries} == {
        ("invoices", invoice.id, "update", "FA00001", tenants["ACME"])}
    changes = {entry.field: (entry.old_value, entry.new_value) for entry in entries}
    assert changes.pop("identity_snapshot")[1] == db.session.get(Invoice, invoice.id).identity_snapshot
    assert changes == {
        "number": (None, "FA00001"), "sequence_number": (None, "1"), "numbering_sequence": (None, "FAC"),
        "state": ("draft", "validated"), "validated_at": (None, validated_at.isoformat()),
        "due_date": (None, "2026-04-01"), "operation_category": (None, "goods")}


def test_an_invoice_is_validated_once(setup, tenants):
    invoice = draft_invoice(tenants["ACME"], setup)
    validate_invoice(invoice.id, tenants["ACME"])
    db.session.commit()
    with pytest.raises(InvoiceError):
        validate_invoice(invoice.id, tenants["ACME"])


def test_an_invoice_dated_before_the_last_validated_one_is_refused_and_number_given_back(setup, tenants):
    today = date.today()
    recent = draft_invoice(tenants["ACME"], setup, invoice_date=today)
    older = draft_invoice(tenants["ACME"], setup, invoice_date=today - timedelta(days=3))
    db.session.commit()
    validate_invoice(recent.id, tenants["ACME"])
    db.session.commit()
    with pytest.raises(InvoiceError, match="chronolog|before|avant"):
        validate_invoice(older.id, tenants["ACME"])
    db.session.rollback()
    assert db.session.get(Invoice, older.id).state == "draft"
    later = draft_invoice(tenants["ACME"], setup, invoice_date=today)
    db.session.commit()
    assert validate_invoice(later.id, tenants["ACME"]).number == "FA00002"  # no gap


def test_zero_total_needs_confirmation(setup, tenants):
    invoice = draft_invoice(tenants["ACME"], setup, lines=[(D("1"), D("0"), "vat20")])
    db.session.commit()
    with pytest.raises(ZeroTotalNeedsConfirmation):
        validate_invoice(invoice.id, tenants["ACME"])
    db.session.rollback()
    assert validate_invoice(invoice.id, tenants["ACME"], confirm_zero_total=True).number == "FA00001"


def test_another_tenants_invoice_cannot_be_validated(setup, tenants):
    invoice = draft_invoice(tenants["ACME"], setup)
    db.session.commit()
    with pytest.raises(InvoiceError):
        validate_invoice(invoice.id, tenants["BETA"])


def _validate_many(database_url: str, tenant_id: int, invoice_ids: list[int], results) -> None:
    from app import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        for invoice_id in invoice_ids:
            invoice = validate_invoice(invoice_id, tenant_id)
            db.session.commit()
            results.append(invoice.sequence_number)


def test_concurrent_validations_in_several_processes_are_gapless(app, setup, tenants):
    tenant_id = tenants["ACME"]
    ids = [draft_invoice(tenant_id, setup).id for _ in range(60)]
    db.session.commit()
    context = multiprocessing.get_context("spawn")
    results = context.Manager().list()
    workers = [context.Process(target=_validate_many, args=(
        app.config["SQLALCHEMY_DATABASE_URI"], tenant_id, ids[i::4], results)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert all(worker.exitcode == 0 for worker in workers)
    assert sorted(results) == list(range(1, 61))
    db.session.expire_all()
    numbers = sorted(db.session.query(Invoice.number).filter(Invoice.tenant_id == tenant_id).all())
    assert [n for (n,) in numbers] == [f"FA{i:05d}" for i in range(1, 61)]


def test_validation_writes_totals_recomputed_since_the_draft_was_saved(setup, tenants):
    from models import VatRate
    invoice = draft_invoice(tenants["ACME"], setup)  # 2 × 50 at 20 %: 120.00
    db.session.commit()
    db.session.get(VatRate, setup["vat20"]).rate = D("10")
    db.session.commit()
    validate_invoice(invoice.id, tenants["ACME"])
    db.session.commit()
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert (invoice.state, invoice.number, invoice.total_incl_vat) == ("validated", "FA00001", D("110.00"))
