import pytest

from core.extensions import db
from models import Establishment, NumberingSequence
from rules.numbering import NumberingError, find_sequence, format_number, take_next_number


def test_format_number_pads_after_the_prefix():
    assert format_number("FA", 6, 42) == "FA000042"
    assert format_number("", 0, 7) == "7"


def test_numbers_follow_each_other_and_record_the_highest_used(app_ctx, tenants):
    sequence = NumberingSequence(tenant_id=tenants["ACME"], code="FAC", label="Factures", document_type="invoice",
                                 prefix="FA", padding=4, next_number=41, gapless=True)
    db.session.add(sequence)
    db.session.commit()
    assert [take_next_number(sequence.id).formatted for _ in range(3)] == ["FA0041", "FA0042", "FA0043"]
    db.session.commit()
    db.session.refresh(sequence)
    assert (sequence.next_number, sequence.highest_number_used) == (44, 43)


def test_a_rolled_back_transaction_gives_its_number_back(app_ctx, tenants):
    sequence = NumberingSequence(tenant_id=tenants["ACME"], code="FAC", label="Factures", document_type="invoice",
                                 prefix="FA", padding=4, next_number=1, gapless=True)
    db.session.add(sequence)
    db.session.commit()
    assert take_next_number(sequence.id).number == 1
    db.session.rollback()
    assert take_next_number(sequence.id).number == 1


def test_find_sequence_prefers_the_establishment(app_ctx, tenants):
    tenant_id = tenants["ACME"]
    grenoble = Establishment(tenant_id=tenant_id, code="GRE", label="Grenoble")
    db.session.add(grenoble)
    db.session.flush()
    db.session.add_all([
        NumberingSequence(tenant_id=tenant_id, code="FAC", label="F", document_type="invoice", gapless=True),
        NumberingSequence(tenant_id=tenant_id, code="FG", label="F", document_type="invoice", gapless=True,
                          establishment_id=grenoble.id),
    ])
    db.session.commit()
    assert find_sequence(tenant_id, "invoice", grenoble.id).code == "FG"
    assert find_sequence(tenant_id, "invoice").code == "FAC"
    with pytest.raises(NumberingError):
        find_sequence(tenant_id, "credit_note")
    with pytest.raises(NumberingError):
        find_sequence(tenants["BETA"], "invoice")
