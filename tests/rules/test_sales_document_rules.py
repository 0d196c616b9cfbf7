from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from models import DeliveryNote, Order
from rules.numbering import NumberingError
from rules.sales_documents import SalesDocumentError, article_kinds, create_sales_document
from tests.rules.sales_document_factory import make_document, sales_setup


@pytest.fixture
def tenants(app):
    """ACME and BETA without users (rules need none; hashing passwords is slow)."""
    from rules.tenancy import create_tenant
    with app.app_context():
        result = {code: create_tenant(code, f"{code} Bâtiment").id for code in ("ACME", "BETA")}
        db.session.commit()
        return result



@pytest.mark.parametrize("document_type,model,prefix", [("order", Order, "CO"), ("delivery_note", DeliveryNote, "BL")])
def test_created_as_numbered_drafts_with_totals(app_ctx, tenants, document_type, model, prefix):
    tenant_id = tenants["ACME"]
    setup = sales_setup(tenant_id)
    first = make_document(document_type, tenant_id, setup, reference="R1")
    second = make_document(document_type, tenant_id, setup, reference="R2")
    db.session.commit()
    assert isinstance(first, model)
    assert (first.number, second.number) == (f"{prefix}00001", f"{prefix}00002")
    assert (first.state, first.sequence_number, first.payment_method) == ("draft", 1, "VIREMENT")
    assert first.depot_id == setup["depot"]
    # 2 × 45.50 = 91.00 at 20 %; 3.5 × 10.01 = 35.035 → 35.04 at 5.5 %
    assert [line.amount for line in first.lines] == [Decimal("91.00"), Decimal("35.04")]
    assert first.total_excl_vat == Decimal("126.04")
    assert first.total_vat == Decimal("18.20") + Decimal("1.93")
    assert first.total_incl_vat == Decimal("146.17")
    assert [line.kind for line in first.lines] == ["labour", "supply"]
    assert [line.position for line in first.lines] == [1, 2]


def test_rolled_back_creation_gives_the_number_back(app_ctx, tenants):
    tenant_id = tenants["ACME"]
    setup = sales_setup(tenant_id)
    db.session.commit()
    make_document("order", tenant_id, setup)
    db.session.rollback()
    assert make_document("order", tenant_id, setup).number == "CO00001"


def test_same_reference_twice_is_refused_by_the_database(app_ctx, tenants):
    tenant_id = tenants["ACME"]
    setup = sales_setup(tenant_id)
    db.session.commit()
    make_document("order", tenant_id, setup, reference="R1")
    with pytest.raises(IntegrityError):
        make_document("order", tenant_id, setup, reference="R1")
    db.session.rollback()


def test_no_sequence_or_unknown_type_is_refused(app_ctx, tenants):
    setup = sales_setup(tenants["ACME"])
    with pytest.raises(NumberingError):
        create_sales_document("order", tenants["BETA"], client_id=setup["client"], document_date=date.today(), lines=[])
    with pytest.raises(SalesDocumentError):
        create_sales_document("invoice", tenants["ACME"], client_id=setup["client"], document_date=date.today(),
                              lines=[])
    db.session.rollback()


def test_article_kinds_are_batched_and_tenant_scoped(app_ctx, tenants):
    setup = sales_setup(tenants["ACME"])
    ids = [setup["labour_article"], setup["supply_article"], None]
    assert article_kinds(tenants["ACME"], ids) == {setup["labour_article"]: "labour", setup["supply_article"]: "supply"}
    assert article_kinds(tenants["BETA"], ids) == {}
    db.session.rollback()
