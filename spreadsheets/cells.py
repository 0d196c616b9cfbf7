"""The one parser of typed values: dates, decimals, whole numbers, yes/no, text and
the bytes of a text file. Every reader of user input uses it (the table import, the
payments file, the forms of the screens, later the CSV exchange), so that a value
accepted in one place is accepted, with the same meaning, everywhere.

Values come as typed by a person (``str``) or as read from a spreadsheet cell
(``date``, ``datetime``, ``int``, ``float``, ``bool``, ``Decimal``). Every parser
raises ``CellError`` (a ``ValueError``) whose text is the message for the user.

- Dates: ``DD/MM/YYYY`` (also ``-`` or ``.`` between the parts) and ISO
  ``YYYY-MM-DD``, optionally followed by a well-formed time; nothing else may
  follow (``01/02/2026garbage`` is refused). Date cells and Excel serial numbers
  (whole numbers of days since 30/12/1899) are accepted.
- Decimals: a comma or a point as decimal separator, spaces, no-break spaces or
  ``'`` between thousands (``1 234,50``), a trailing ``€``; when both a comma and a
  point are typed, the last one is the decimal separator (``1.234,50``,
  ``1,234.50``). No exponent, never ``NaN``, ``sNaN`` or ``Infinity``.
- Limits: ``limits_of(column)`` reads them from the SQLAlchemy column (precision
  and scale of a ``Numeric``, length of a ``String``, range of an ``Integer``)
  so that a value the database would refuse is refused here, next to its field.
- Text: ``clean_text`` strips and removes NUL bytes (``\\x00``, refused by
  PostgreSQL); ``fold`` is how headers, labels and words are compared.
- Files: ``decode_text`` reads UTF-8 (with or without BOM), else Windows-1252.
"""
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import BigInteger, Float, Integer, Numeric, SmallInteger, String, inspect

__all__ = [
    "CellError", "Limits", "NO_LIMITS", "limits_of", "limits_of_field", "is_blank", "clean_text", "fold", "decode_text",
    "parse_date", "parse_datetime", "parse_decimal", "parse_integer", "parse_bool", "parse_text", "check_decimal",
    "EXCEL_EPOCH",
]


class CellError(ValueError):
    """A value that cannot be read; ``str(error)`` is the message for the user."""


# --- Limits of a column ------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """What a column holds: ``precision`` digits of which ``scale`` after the point
    (``Numeric``), ``max_length`` characters (``String``), integers in
    [``min_integer``, ``max_integer``] (``Integer``). ``None``: no limit."""

    precision: int | None = None
    scale: int | None = None
    max_length: int | None = None
    min_integer: int | None = None
    max_integer: int | None = None

    @property
    def largest(self) -> Decimal | None:
        """The largest decimal the column holds (``999.99`` for ``Numeric(5, 2)``)."""
        if self.precision is None:
            return None
        scale = self.scale or 0
        return Decimal(10) ** (self.precision - scale) - Decimal(1).scaleb(-scale)


NO_LIMITS = Limits()
_INTEGER_RANGES = ((SmallInteger, 2 ** 15), (BigInteger, 2 ** 63), (Integer, 2 ** 31))


def limits_of(column) -> Limits:
    """The limits of a SQLAlchemy column (``Model.attribute``, a ``Column`` or a mapped
    property), the same on SQLite as on PostgreSQL (SQLite would store anything)."""
    column = getattr(column, "expression", column)  # InstrumentedAttribute → Column
    kind = getattr(column, "type", None)
    if isinstance(kind, Numeric) and not isinstance(kind, Float):
        return Limits(precision=kind.precision, scale=kind.scale)
    if isinstance(kind, String):
        return Limits(max_length=kind.length)
    for integer_type, bound in _INTEGER_RANGES:
        if isinstance(kind, integer_type):
            return Limits(min_integer=-bound, max_integer=bound - 1)
    return NO_LIMITS


def limits_of_field(model, name: str) -> Limits:
    """The limits of the column ``name`` of ``model`` (none for a relation)."""
    columns = inspect(model).columns
    return limits_of(columns[name]) if name in columns else NO_LIMITS


# --- Text ---------------------------------------------------------------------------------------

def is_blank(value) -> bool:
    """``None`` or text made of spaces only."""
    return value is None or (isinstance(value, str) and not value.replace("\x00", "").strip())


def clean_text(value) -> str:
    """A cell or a typed value as text: NUL bytes removed, stripped; ``None`` is ``""``;
    a whole number cell without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") if (value.hour, value.minute) != (0, 0) else value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def fold(text) -> str:
    """How headers, labels and words are compared: no accents, no case, letters and
    digits only (``Réf. facture`` and ``ref_facture`` fold alike)."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


def parse_text(value, limits: Limits = NO_LIMITS) -> str:
    """Text of a cell, refused when longer than its column."""
    text = clean_text(value)
    if limits.max_length is not None and len(text) > limits.max_length:
        raise CellError(_("The text is too long: %(length)s characters, at most %(limit)s.",
                          length=len(text), limit=limits.max_length))
    return text


def decode_text(data: bytes) -> str:
    """The text of a file: UTF-8 with or without BOM, else Windows-1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CellError(_("The file is neither UTF-8 nor Windows-1252 text."))


# --- Dates --------------------------------------------------------------------------------------

EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_LAST_SERIAL = 2958465  # 31/12/9999
_TIME = r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?"
_DMY = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _TIME)
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME)


def _not_a_date(value) -> CellError:
    return CellError(_("« %(value)s » is not a date (DD/MM/YYYY).", value=clean_text(value)))


def parse_datetime(value) -> datetime:
    """A moment from a date or datetime cell, an Excel serial number or text
    ``DD/MM/YYYY[ HH:MM[:SS]]`` / ISO ``YYYY-MM-DD[THH:MM[:SS]]``, nothing after."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool) or value is None:
        raise _not_a_date(value)
    if isinstance(value, (int, float, Decimal)):
        return datetime.combine(_excel_serial(value), datetime.min.time())
    text = clean_text(value)
    dmy, ymd = _DMY.fullmatch(text), _YMD.fullmatch(text)
    try:
        if dmy:
            day, _sep, month, year, hour, minute, second = dmy.groups()
        elif ymd:
            year, month, day, hour, minute, second = ymd.groups()
        else:
            raise _not_a_date(value)
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError as error:  # 31/02/2026, 25:00
        if isinstance(error, CellError):
            raise
        raise _not_a_date(value) from None


def parse_date(value) -> date:
    """A date (see ``parse_datetime``; a time after the date is accepted and dropped)."""
    if type(value) is date:
        return value
    return parse_datetime(value).date()


def _excel_serial(value) -> date:
    """The date of an Excel serial number (a date cell read as a number)."""
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= EXCEL_LAST_SERIAL:
        raise _not_a_date(value)
    return EXCEL_EPOCH + timedelta(days=int(value))


# --- Numbers ------------------------------------------------------------------------------------

_GROUPING = re.compile(r"[\s\u00a0\u202f']")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _not_a_number(value) -> CellError:
    return CellError(_("« %(value)s » is not a number.", value=clean_text(value)))


def _decimal_of(value) -> Decimal:
    """The decimal a cell or a typed text stands for, finite, limits not checked."""
    if isinstance(value, bool) or value is None or isinstance(value, (date, timedelta)):
        raise _not_a_number(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else None
    else:
        text = _GROUPING.sub("", str(value).replace("\x00", ""))
        if text.endswith("€"):
            text = text[:-1]
        elif text.upper().endswith("EUR"):
            text = text[:-3]
        if "," in text and "." in text:  # the last separator is the decimal one
            thousands = "." if text.rfind(",") > text.rfind(".") else ","
            text = text.replace(thousands, "")
        text = text.replace(",", ".")
        number = Decimal(text) if _PLAIN_NUMBER.fullmatch(text) else None
    if number is None or not number.is_finite():
        raise _not_a_number(value)
    return number


def check_decimal(number: Decimal, limits: Limits = NO_LIMITS, rounding: str | None = None,
                  shown=None) -> Decimal:
    """``number`` checked against the column's limits. More decimals than its scale are
    refused, or, when ``rounding`` (``decimal.ROUND_HALF_UP``…) is given, the number is
    rounded to the scale; otherwise it is returned as typed (``1.35`` stays ``1.35``)."""
    shown = clean_text(number if shown is None else shown)
    if not number.is_finite():
        raise _not_a_number(shown)
    if limits.scale is not None:
        try:
            quantized = number.quantize(Decimal(1).scaleb(-limits.scale), rounding=rounding or ROUND_HALF_UP)
        except InvalidOperation:
            raise CellError(_("« %(value)s » is too large: at most %(largest)s.", value=shown,
                              largest=_plain(limits.largest))) from None
        if rounding is not None:
            number = quantized
        elif quantized != number:
            raise CellError(_("« %(value)s » has too many decimals: at most %(scale)s.",
                              value=shown, scale=limits.scale))
    largest = limits.largest
    if largest is not None and abs(number) > largest:
        raise CellError(_("« %(value)s » is too large: at most %(largest)s.", value=shown, largest=_plain(largest)))
    return number


def _plain(number: Decimal) -> str:
    return f"{number:f}"


def parse_decimal(value, limits: Limits = NO_LIMITS, rounding: str | None = None) -> Decimal:
    """A finite ``Decimal`` from a number cell or typed text, within ``limits``.

    Number cells (``float``) are rounded to the column's scale (they are binary
    approximations of what was typed); typed text with more decimals than the
    column holds is refused unless ``rounding`` is given."""
    number = _decimal_of(value)
    if isinstance(value, float) and rounding is None:
        rounding = ROUND_HALF_UP
    return check_decimal(number, limits, rounding, shown=value)


def parse_integer(value, limits: Limits = NO_LIMITS) -> int:
    """A whole number from a cell or typed text (``12``, ``12,0``), within ``limits``."""
    number = _decimal_of(value)
    if number != number.to_integral_value():
        raise CellError(_("« %(value)s » is not a whole number.", value=clean_text(value)))
    whole = int(number)
    if ((limits.max_integer is not None and whole > limits.max_integer)
            or (limits.min_integer is not None and whole < limits.min_integer)):
        raise CellError(_("« %(value)s » is too large: at most %(largest)s.", value=clean_text(value),
                          largest=limits.max_integer))
    return whole


TRUE_WORDS = {"1", "true", "vrai", "oui", "yes", "x", "o", "y"}
FALSE_WORDS = {"0", "false", "faux", "non", "no", "n", ""}


def parse_bool(value) -> bool:
    """Yes or no from a boolean cell, ``1``/``0`` or a word in French or English."""
    if isinstance(value, bool):
        return value
    word = fold(clean_text(value))
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(_("« %(value)s » is not yes or no.", value=clean_text(value)))
