"""The one cell parser (``spreadsheets.cells``): strict dates, decimals with comma or
point within a column's limits, integers, yes/no, text and file encodings."""
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from models import Article, ProductNature
from models.payments import Payment
from spreadsheets import cells
from spreadsheets.cells import CellError, Limits

COEFFICIENT = Limits(precision=12, scale=4)


@pytest.mark.parametrize("value, expected", [
    ("15/03/2025", date(2025, 3, 15)), ("5/3/2025", date(2025, 3, 5)), ("15-03-2025", date(2025, 3, 15)),
    ("15.03.2025", date(2025, 3, 15)), ("2025-03-15", date(2025, 3, 15)), (" 2025-03-15 ", date(2025, 3, 15)),
    ("2025-03-15T10:30:00", date(2025, 3, 15)), ("15/03/2025 10:30", date(2025, 3, 15)),
    (date(2025, 3, 15), date(2025, 3, 15)), (datetime(2025, 3, 15, 8, 0), date(2025, 3, 15)),
    (45731, date(2025, 3, 15)), (45731.0, date(2025, 3, 15)),
])
def test_dates_typed_french_or_iso_and_date_cells(app_ctx, value, expected):
    assert cells.parse_date(value) == expected


@pytest.mark.parametrize("value", [
    "01/02/2026garbage", "2026-02-01x", "01/02/2026 25:00", "01/02/2026 10:00 extra", "31/02/2026", "1/2/26",
    "01/02-2026", "demain", "", None, True, 45731.5, -3, float("nan"), float("inf"), 99999999,
])
def test_text_after_a_date_and_impossible_dates_refused(app_ctx, value):
    with pytest.raises(CellError):
        cells.parse_date(value)


def test_datetimes_keep_their_time(app_ctx):
    assert cells.parse_datetime("15/03/2025 10:30") == datetime(2025, 3, 15, 10, 30)
    assert cells.parse_datetime("2025-03-15T10:30:05.123") == datetime(2025, 3, 15, 10, 30, 5)


@pytest.mark.parametrize("value, expected", [
    ("1,25", D("1.25")), ("1.25", D("1.25")), ("1 234,50", D("1234.50")), ("1\u00a0234,5", D("1234.5")),
    ("1\u202f234,5", D("1234.5")), ("1.234,5", D("1234.5")), ("1,234.5", D("1234.5")), ("-2,5", D("-2.5")),
    (",5", D("0.5")), ("12 €", D("12")), (3, D("3")), (0.1 + 0.2, D("0.3000")), (D("1.5"), D("1.5")),
])
def test_decimals_with_comma_or_point(app_ctx, value, expected):
    assert cells.parse_decimal(value, COEFFICIENT) == expected


@pytest.mark.parametrize("value", [
    "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "1e400", "1E5", "0x10", "1,2,3", "12abc", "", "€",
    float("nan"), float("inf"), D("NaN"), D("sNaN"), D("Infinity"), D("1E+400"), True, date(2025, 1, 1),
    "123456789,5", "1,23456", 123456789,
])
def test_impossible_numbers_refused(app_ctx, value):
    with pytest.raises(CellError):
        cells.parse_decimal(value, COEFFICIENT)


def test_rounding_only_when_asked(app_ctx):
    money = cells.limits_of(Payment.amount)
    assert cells.parse_decimal("0,005", money, rounding="ROUND_HALF_UP") == D("0.01")
    with pytest.raises(CellError):
        cells.parse_decimal("0,005", money)
    with pytest.raises(CellError, match="999999999999.99"):
        cells.parse_decimal("1000000000000", money)


def test_limits_come_from_the_sqlalchemy_column(app_ctx):
    assert cells.limits_of(ProductNature.overhead_coefficient) == Limits(precision=12, scale=4)
    assert cells.limits_of(Payment.__table__.c.amount).largest == D("999999999999.99")
    assert cells.limits_of_field(Article, "code").max_length == 40
    assert cells.limits_of_field(Article, "nature") == cells.NO_LIMITS  # a relation
    assert cells.limits_of(ProductNature.id).max_integer == 2 ** 31 - 1


def test_integers_text_and_yes_no(app_ctx):
    limits = cells.limits_of(ProductNature.id)
    assert cells.parse_integer("12") == 12 and cells.parse_integer(12.0) == 12 and cells.parse_integer("1 000") == 1000
    for value in ("12,5", "NaN", "99999999999999999999"):
        with pytest.raises(CellError):
            cells.parse_integer(value, limits)
    assert cells.parse_text("  a\x00b ") == "ab"
    with pytest.raises(CellError):
        cells.parse_text("x" * 41, cells.limits_of_field(Article, "code"))
    assert cells.clean_text(None) == "" and cells.clean_text(12.0) == "12" and cells.clean_text(date(2025, 3, 1)) == "01/03/2025"
    assert cells.fold("Réf. facture") == cells.fold("ref_facture") == "reffacture"
    assert cells.parse_bool("Oui") is True and cells.parse_bool("non") is False
    with pytest.raises(CellError):
        cells.parse_bool("peut-être")


def test_text_files_utf8_with_or_without_bom_else_windows_1252(app_ctx):
    assert cells.decode_text("é".encode("utf-8")) == "é"
    assert cells.decode_text(b"\xef\xbb\xbf" + "é".encode("utf-8")) == "é"
    assert cells.decode_text("é€".encode("cp1252")) == "é€"
    with pytest.raises(CellError):
        cells.decode_text(b"\x81\x8d\x8f\x90\x9d")
