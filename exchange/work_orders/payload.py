"""A work order as the application posts it, checked whole: every problem is listed
(``field`` a path such as ``users[1].hours``, ``message`` in the request's language,
French by default), and nothing else reads the raw JSON.

Numbers are read as ``Decimal`` (never through a float); NaN and infinities, booleans
posing as numbers, texts too long for their column, NUL characters and attachments
whose base64 is invalid or decodes above the attachment limit are refused. The size of
an attachment is estimated from its base64 length before anything is decoded.
"""
import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from core.clock import BUSINESS_TIMEZONE
from rules.attachments import attachment_error
from rules.formats import email_error, vat_number_error

ATTACHMENT_KINDS = ("workorder", "certificate")
MAX_NUMBER = Decimal("100000")
MAX_TEXT = 10000
MAX_ITEMS = 500  # users, products or attachments of one work order


@dataclass
class Customer:
    name: str
    email: str = ""
    vat_number: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""


@dataclass
class User:
    full_name: str
    email: str
    hours: Decimal


@dataclass
class Product:
    code: str
    quantity: Decimal


@dataclass
class Attachment:
    kind: str
    file_name: str
    content: bytes


@dataclass
class WorkOrder:
    id: str
    number: str
    completed_at: datetime
    customer: Customer
    users: list[User] = field(default_factory=list)
    km: Decimal = Decimal(0)
    products: list[Product] = field(default_factory=list)
    memo: str = ""
    internal_note: str = ""
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def service_date(self):
        return self.completed_at.astimezone(BUSINESS_TIMEZONE).date()


class Problems(list):
    def add(self, path: str, message: str) -> None:
        self.append({"field": path, "message": str(message)})


def _refuse_constant(name):
    raise ValueError(name)


def decode(body: bytes):
    """The JSON document of ``body``, numbers as ``Decimal``; ``(document, problems)``."""
    problems = Problems()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        problems.add("", _("The body is not UTF-8 text."))
        return None, problems
    try:
        document = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        problems.add("", _("The body is not a JSON document."))
        return None, problems
    if not isinstance(document, dict):
        problems.add("", _("The body must be a JSON object (a work order)."))
        return None, problems
    return document, problems


def _text(problems, data, name, path, length, required=False) -> str:
    value = data.get(name)
    where = f"{path}.{name}" if path else name
    if value is None or value == "":
        if required:
            problems.add(where, _("Missing: this field is required."))
        return ""
    if isinstance(value, Decimal) and name == "id":  # an id may be a number
        value = format(value, "f")
    if not isinstance(value, str):
        problems.add(where, _("Expected a text."))
        return ""
    if "\x00" in value:
        problems.add(where, _("This value contains a forbidden character."))
        return ""
    value = value.strip()
    if required and not value:
        problems.add(where, _("Missing: this field is required."))
    if len(value) > length:
        problems.add(where, _("Too long: at most %(length)s characters.", length=length))
        return ""
    return value


def _number(problems, data, name, path, required=False, positive=False) -> Decimal:
    value = data.get(name)
    where = f"{path}.{name}" if path else name
    if value is None:
        if required:
            problems.add(where, _("Missing: this field is required."))
        return Decimal(0)
    if not isinstance(value, Decimal):  # booleans, texts, lists are not numbers
        problems.add(where, _("Expected a number."))
        return Decimal(0)
    try:
        if value < 0:
            problems.add(where, _("Must not be negative."))
        elif positive and value == 0:
            problems.add(where, _("Must be more than zero."))
        elif value > MAX_NUMBER:
            problems.add(where, _("Too large: at most %(maximum)s.", maximum=MAX_NUMBER))
        elif value != value.quantize(Decimal("0.0001")):
            problems.add(where, _("At most 4 decimals."))
        else:
            return value
    except InvalidOperation:
        problems.add(where, _("Expected a number."))
    return Decimal(0)


def _objects(problems, data, name, required=False) -> list:
    value = data.get(name)
    if value is None:
        if required:
            problems.add(name, _("Missing: this field is required."))
        return []
    if not isinstance(value, list):
        problems.add(name, _("Expected a list."))
        return []
    if len(value) > MAX_ITEMS:
        problems.add(name, _("Too many entries: at most %(count)s.", count=MAX_ITEMS))
        return []
    result = []
    for position, item in enumerate(value):
        if isinstance(item, dict):
            result.append((f"{name}[{position}]", item))
        else:
            problems.add(f"{name}[{position}]", _("Expected an object."))
    return result


def _completed_at(problems, data) -> datetime:
    value = data.get("completedAt")
    if value is None or value == "":
        problems.add("completedAt", _("Missing: this field is required."))
        return None
    if not isinstance(value, str):
        problems.add("completedAt", _("Expected an ISO-8601 date and time (e.g. 2026-11-21T14:05:00+01:00)."))
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        problems.add("completedAt", _("Expected an ISO-8601 date and time (e.g. 2026-11-21T14:05:00+01:00)."))
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BUSINESS_TIMEZONE)
    return moment


def _customer(problems, data) -> Customer:
    value = data.get("customer")
    if value is None:
        problems.add("customer", _("Missing: this field is required."))
        return Customer(name="")
    if not isinstance(value, dict):
        problems.add("customer", _("Expected an object."))
        return Customer(name="")
    customer = Customer(
        name=_text(problems, value, "name", "customer", 200, required=True),
        email=_text(problems, value, "email", "customer", 254),
        vat_number=_text(problems, value, "vatNumber", "customer", 20),
        address=_text(problems, value, "address", "customer", 250),
        postcode=_text(problems, value, "postcode", "customer", 10),
        city=_text(problems, value, "city", "customer", 100))
    if customer.email and email_error(customer.email):
        problems.add("customer.email", email_error(customer.email))
    if customer.vat_number:
        customer.vat_number = re.sub(r"[\s.\-]", "", customer.vat_number).upper()
        if vat_number_error(customer.vat_number):
            problems.add("customer.vatNumber", vat_number_error(customer.vat_number))
    return customer


def _attachment(problems, path, item) -> Attachment | None:
    kind = _text(problems, item, "kind", path, 20, required=True)
    if kind and kind not in ATTACHMENT_KINDS:
        problems.add(f"{path}.kind", _("Expected one of: %(values)s.", values=", ".join(ATTACHMENT_KINDS)))
    name = _text(problems, item, "fileName", path, 250, required=True)
    encoded = item.get("contentBase64")
    where = f"{path}.contentBase64"
    if encoded is None or encoded == "":
        problems.add(where, _("Missing: this field is required."))
        return None
    if not isinstance(encoded, str):
        problems.add(where, _("Expected a text (the file in base64)."))
        return None
    too_large = attachment_error(len(encoded) * 3 // 4 - 2)  # checked before decoding anything
    if too_large:
        problems.add(where, too_large)
        return None
    try:
        content = base64.b64decode(re.sub(r"\s", "", encoded), validate=True)
    except (binascii.Error, ValueError):
        problems.add(where, _("This is not valid base64."))
        return None
    too_large = attachment_error(len(content))
    if too_large:
        problems.add(where, too_large)
        return None
    return Attachment(kind=kind, file_name=name, content=content)


def parse(document: dict, problems: Problems | None = None) -> tuple[WorkOrder, Problems]:
    """The work order of a decoded JSON object and every problem found; with problems, the
    work order holds what could be read (so that pricing names its problems too)."""
    problems = problems if problems is not None else Problems()
    work_order = WorkOrder(
        id=_text(problems, document, "id", "", 200, required=True),
        number=_text(problems, document, "number", "", 80, required=True),
        completed_at=_completed_at(problems, document),
        customer=_customer(problems, document),
        km=_number(problems, document, "km", ""),
        memo=_text(problems, document, "memo", "", MAX_TEXT),
        internal_note=_text(problems, document, "internalNote", "", MAX_TEXT))
    for path, item in _objects(problems, document, "users"):
        user = User(full_name=_text(problems, item, "fullName", path, 200, required=True),
                    email=_text(problems, item, "email", path, 254),
                    hours=_number(problems, item, "hours", path, required=True))
        work_order.users.append(user)
    for path, item in _objects(problems, document, "products"):
        work_order.products.append(Product(code=_text(problems, item, "code", path, 40, required=True),
                                           quantity=_number(problems, item, "quantity", path, required=True,
                                                            positive=True)))
    for path, item in _objects(problems, document, "attachments"):
        attachment = _attachment(problems, path, item)
        if attachment is not None:
            work_order.attachments.append(attachment)
    return work_order, problems


def work_order_id(document) -> str | None:
    """The ``id`` of a decoded document when it is usable as a key (for a replay's answer)."""
    value = document.get("id") if isinstance(document, dict) else None
    if isinstance(value, Decimal):
        value = format(value, "f")
    if isinstance(value, str) and value.strip() and len(value.strip()) <= 200 and "\x00" not in value:
        return value.strip()
    return None
