"""Format checks of the values a person types wrong: e-mail, postcode (by country), phone,
SIREN, SIRET, VAT number, IBAN. One module, on ``python-stdnum`` for the numbers with a
check key, used by the screens and the imports alike (through the row rules, see
``add_format_checks``), and by the legal invoices later.

Each check returns ``None`` when the value is empty or right, else a message saying
what is wrong and what to type instead.
"""
import re
import unicodedata

from flask_babel import gettext as _
from stdnum import bic as bic_number
from stdnum import iban as iban_number
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
PHONE_CHARACTERS = re.compile(r"^\+?[0-9 .()\-/]+$")
FOREIGN_POSTCODE = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{1,9}$")
FRANCE = {"", "france", "fr", "fra"}
# Countries of the building trade's neighbours whose postcodes are plain digits.
DIGIT_POSTCODES = {"belgique": 4, "belgium": 4, "be": 4, "suisse": 4, "switzerland": 4, "ch": 4,
                   "luxembourg": 4, "lu": 4, "allemagne": 5, "germany": 5, "de": 5, "espagne": 5,
                   "spain": 5, "es": 5, "italie": 5, "italy": 5, "it": 5, "monaco": 5, "mc": 5}


def _blank(value) -> bool:
    return value is None or not str(value).strip()


def _plain(text) -> str:
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return text.strip().lower()


def email_error(value) -> str | None:
    if _blank(value) or EMAIL.match(str(value).strip()):
        return None
    return _("« %(value)s » is not an e-mail address: type it as name@company.fr.", value=value)


def postcode_error(value, country=None) -> str | None:
    """5 digits in France (the default country); the digits of the neighbours that use
    digits (4 in Belgium); letters and digits elsewhere."""
    if _blank(value):
        return None
    text, where = str(value).strip(), _plain(country)
    if where in FRANCE:
        if re.fullmatch(r"\d{5}", text):
            return None
        return _("« %(value)s » is not a French postcode: type its 5 digits (e.g. 75011), "
                 "or choose the client's country.", value=value)
    digits = DIGIT_POSTCODES.get(where)
    if digits:
        if re.fullmatch(rf"\d{{{digits}}}", text):
            return None
        return _("« %(value)s » is not a postcode of %(country)s: type its %(digits)s digits.",
                 value=value, country=country, digits=digits)
    if FOREIGN_POSTCODE.match(text.upper()):
        return None
    return _("« %(value)s » is not a postcode: type letters and digits only (10 at most).", value=value)


def phone_error(value) -> str | None:
    """A French number of 10 digits (01 23 45 67 89) or an international one (+32 2 123 45 67)."""
    if _blank(value):
        return None
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if PHONE_CHARACTERS.match(text) and (
            (text.startswith("+") and 8 <= len(digits) <= 15) or (text.startswith("00") and 10 <= len(digits) <= 17)
            or (digits.startswith("0") and len(digits) == 10)):
        return None
    return _("« %(value)s » is not a phone number: type 10 digits (01 23 45 67 89) or the international "
             "form (+32 2 123 45 67).", value=value)


def _number_error(module, value, message) -> str | None:
    if _blank(value):
        return None
    try:
        module.validate(str(value))
    except ValidationError:
        return message
    return None


def siren_error(value) -> str | None:
    return _number_error(siren_number, value, _(
        "« %(value)s » is not a SIREN number: 9 digits whose key is right (e.g. 732 829 320).", value=value))


def siret_error(value) -> str | None:
    return _number_error(siret_number, value, _(
        "« %(value)s » is not a SIRET number: 14 digits, the SIREN then the establishment (e.g. 732 829 320 00074).",
        value=value))


def vat_number_error(value) -> str | None:
    return _number_error(eu_vat, value, _(
        "« %(value)s » is not an intra-community VAT number: the country code then the number "
        "(e.g. FR40303265045 in France, BE0403170701 in Belgium).", value=value))


def iban_error(value) -> str | None:
    return _number_error(iban_number, value, _(
        "« %(value)s » is not an IBAN: the country code, the key and the account, as on the bank "
        "details (e.g. FR14 2004 1010 0505 0001 3M02 606).", value=value))


def bic_error(value) -> str | None:
    return _number_error(bic_number, value, _(
        "« %(value)s » is not a BIC: 8 or 11 letters and digits, as on the bank details (e.g. PSSTFRPPLYO).",
        value=value))


def _country_names() -> dict[str, str]:
    from babel import Locale
    names = {}
    for language in ("en", "fr"):
        for code, name in Locale(language).territories.items():
            if len(code) == 2 and code.isalpha() and code != "ZZ":
                names[_plain(name)] = code
    names.update({"fra": "FR", "bel": "BE", "che": "CH", "deu": "DE", "esp": "ES", "ita": "IT", "lux": "LU",
                  "uk": "GB", "royaume uni": "GB"})
    return names


_COUNTRIES: dict[str, str] = {}


def country_code(value) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country typed as a code or a name (French or
    English: « France », « Belgique », « be »); ``None`` when unknown."""
    if not _COUNTRIES:
        _COUNTRIES.update(_country_names())
    text = _plain(value).replace("-", " ")
    if len(text) == 2 and text.upper() in _COUNTRIES.values():
        return text.upper()
    return _COUNTRIES.get(text)


def country_error(value) -> str | None:
    if _blank(value) or country_code(value):
        return None
    return _("« %(value)s » is not a country: type its ISO code (FR, BE, CH…) or its name.", value=value)


def un_ece_code_error(value) -> str | None:
    """A unit code of UN/ECE Recommendation 20: 2 or 3 capital letters or digits."""
    if _blank(value) or re.fullmatch(r"[A-Z0-9]{2,3}", str(value).strip()):
        return None
    return _("« %(value)s » is not a UN/ECE unit code: 2 or 3 capital letters or digits (HUR hour, H87 piece, "
             "C62 one, MTR metre, MTK square metre, KGM kilogram).", value=value)


CHECKS = {
    "email": email_error,
    "phone": phone_error,
    "siren": siren_error,
    "siret": siret_error,
    "vat_number": vat_number_error,
    "iban": iban_error,
    "bic": bic_error,
    "country": country_error,
    "un_ece_code": un_ece_code_error,
}
CHECKED_FIELDS = (*CHECKS, "postcode")


def format_errors(values: dict) -> dict[str, str]:
    """The format errors of a row's values, by field (fields absent from ``values`` are not checked)."""
    errors = {}
    for name, check in CHECKS.items():
        if name in values:
            message = check(values[name])
            if message:
                errors[name] = message
    if "postcode" in values:
        country = values["country"] if "country" in values else getattr(values.get("client"), "country", None)
        message = postcode_error(values["postcode"], country)
        if message:
            errors["postcode"] = message
    return errors


def add_format_checks(row_rules: dict, models) -> None:
    """Run the format checks with the row rules of every model holding a checked field
    (``row_rules`` is changed in place: screens and imports read the same dict)."""
    for model in models:
        columns = getattr(getattr(model, "__table__", None), "c", ())
        if not any(name in columns for name in CHECKED_FIELDS):
            continue
        row_rules[model] = _with_formats(row_rules.get(model))


def _with_formats(rule):
    def checked(values, tenant_id, row_id):
        errors = format_errors(values)
        if rule is not None:
            for name, message in rule(values, tenant_id, row_id).items():
                errors.setdefault(name, message)
        return errors
    checked.__doc__ = (rule.__doc__ or "") + " Formats checked by ``rules.formats``."
    checked.row_rule = rule  # the model's own rule, run after the format checks
    return checked
