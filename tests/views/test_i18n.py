"""UI language: French by default, English per user (``/language``), and a French
translation for every UI string of the source.

The app's strings are English msgids (domain ``messages``, ``translations/``); Flask-Admin's
own strings come from Flask-Admin's catalogue (domain ``admin``). When a string is added,
``scripts/update_translations.sh`` merges it into ``translations/fr/LC_MESSAGES/messages.po``;
``test_every_ui_string_has_a_french_translation`` fails until it is translated there.
"""
import os
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from core.extensions import db
from models import User

REPO_ROOT = Path(__file__).resolve().parents[2]
FRENCH_PO = REPO_ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
# The keywords of scripts/update_translations.sh: pybabel's defaults (_, gettext, ngettext, …)
# plus the lazy forms.
EXTRA_KEYWORDS = ("_l", "lazy_gettext")
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")
LIST_URL = "/admin/operation-codes/"


# --- reading a screen -----------------------------------------------------------------------------

class _Screen(HTMLParser):
    """The texts a user reads on a Flask-Admin screen: menu entries, tabs of the list, column
    headers, field labels, and the ``lang`` of the page."""

    SECTIONS = {"navbar": "menu", "nav-tabs": "tabs", "column-header": "columns"}

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.texts = {"menu": [], "tabs": [], "columns": [], "labels": []}
        self._open = []  # (tag, section or None, collecting label?)
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag in ("br", "hr", "img", "input", "link", "meta"):
            return
        classes = set((attrs.get("class") or "").split())
        section = next((name for cls, name in self.SECTIONS.items() if cls in classes), None)
        self._open.append((tag, section, tag == "label"))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        text = " ".join(data.split())
        if not text:
            return
        sections = [section for _tag, section, _label in self._open if section]
        if sections:
            self.texts[sections[-1]].append(text)
        if any(label for _tag, _section, label in self._open):
            self.texts["labels"].append(text)


def screen(response) -> _Screen:
    assert response.status_code == 200, response.status_code
    return _Screen(response.get_data(as_text=True))


def choose_language(b, locale: str, next_url: str = LIST_URL):
    response = b.post("/language", {"locale": locale, "next": next_url})
    assert response.status_code == 302 and response.headers["Location"].endswith(next_url)
    return response


def user_locale(app, email: str) -> str:
    with app.app_context():
        return db.session.query(User.locale).filter_by(email=email).scalar()


# --- French by default ----------------------------------------------------------------------------

def test_the_login_page_is_in_french_whatever_the_browser_asks(browser):
    response = browser().get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    page = screen(response)
    text = unescape(response.get_data(as_text=True))
    assert page.lang == "fr"
    assert page.texts["labels"] == ["E-mail", "Mot de passe"]
    assert "<title>Se connecter — Passerelle</title>" in text
    assert "Console d'administration de l'ERP du BTP" in text
    assert "Log in" not in text and "Password" not in text


def test_a_refused_login_is_explained_in_french(browser, tenants):
    response = browser().login("consultant@acme.test", "wrong-password-123")
    assert response.status_code == 200
    assert "E-mail inconnu ou mot de passe incorrect." in unescape(response.get_data(as_text=True))


def test_a_list_screen_is_in_french_by_default(app, browser, tenants):
    assert user_locale(app, "consultant@acme.test") == "fr"
    page = screen(browser("consultant@acme.test").get(LIST_URL, headers={"Accept-Language": "en"}))
    # column headers: the glossary of the app's catalogue
    assert page.texts["columns"] == ["Code", "Libellé", "Type de pièce", "Facturable", "Titre de pièce",
                                     "OP pour avoir", "Actif"]
    # menu: categories and screens of the app's catalogue
    for entry in ("Accueil", "Données de base", "Paramètres", "Paramètres dossier", "Codes opération",
                  "Numérotations", "Journal d'audit"):
        assert entry in page.texts["menu"], (entry, page.texts["menu"])
    assert "Parameters" not in page.texts["menu"] and "Master data" not in page.texts["menu"]
    # tabs: Flask-Admin's own catalogue ("Liste", "Créer") next to the app's ("Importer")
    for tab in ("Liste", "Créer", "Importer"):
        assert tab in page.texts["tabs"], (tab, page.texts["tabs"])
    assert "List" not in page.texts["tabs"] and "Create" not in page.texts["tabs"]


def test_closed_list_values_and_rule_messages_are_in_french(app, browser, tenants):
    b = browser("consultant@acme.test")
    form = unescape(b.get(LIST_URL + "new/").get_data(as_text=True))
    for label in ("Devis", "Commande", "Bon de livraison", "Facture", "Avoir", "Acompte"):
        assert f">{label}</option>" in form, label
    response = b.post(LIST_URL + "new/", {"code": "FA", "label": "Facture", "document_type": "invoice"})
    assert response.status_code == 200  # refused: an invoice code needs a credit-note code
    assert "Un code opération de facture ou d'acompte doit avoir un OP pour avoir." in \
        unescape(response.get_data(as_text=True))


# --- English per user -----------------------------------------------------------------------------

def test_a_user_who_chooses_english_gets_the_same_screen_in_english(app, browser, tenants):
    b = browser("consultant@acme.test")
    choose_language(b, "en")
    assert user_locale(app, "consultant@acme.test") == "en"

    page = screen(b.get(LIST_URL))
    assert page.texts["columns"] == ["Code", "Label", "Document type", "Billable", "Document title",
                                     "Credit-note operation code", "Active"]
    for entry in ("Home", "Master data", "Parameters", "Dossier settings", "Operation codes", "Audit log"):
        assert entry in page.texts["menu"], (entry, page.texts["menu"])
    for tab in ("List", "Create", "Import"):
        assert tab in page.texts["tabs"], (tab, page.texts["tabs"])
    assert "Paramètres" not in page.texts["menu"] and "Libellé" not in page.texts["columns"]
    assert "Liste" not in page.texts["tabs"] and "Créer" not in page.texts["tabs"]

    # the choice is the user's: it survives a new session, and other users keep French
    b.post("/logout")
    assert "Label" in screen(browser("consultant@acme.test").get(LIST_URL)).texts["columns"]
    assert "Libellé" in screen(browser("viewer@acme.test").get(LIST_URL)).texts["columns"]

    # and back to French
    b = browser("consultant@acme.test")
    choose_language(b, "fr")
    assert "Libellé" in screen(b.get(LIST_URL)).texts["columns"]


def test_an_unknown_language_is_ignored(app, browser, tenants):
    b = browser("consultant@acme.test")
    choose_language(b, "de")
    assert user_locale(app, "consultant@acme.test") == "fr"
    assert "Libellé" in screen(b.get(LIST_URL)).texts["columns"]


# --- the French catalogue covers the source -------------------------------------------------------

@pytest.fixture(scope="module")
def source_catalog(tmp_path_factory):
    """The msgids of the current source, extracted as scripts/update_translations.sh does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    argv = ["pybabel", "-q", "extract", "-F", str(REPO_ROOT / "babel.cfg"), "--ignore-dirs=.venv",
            "-o", str(pot)]
    for keyword in EXTRA_KEYWORDS:
        argv += ["-k", keyword]
    CommandLineInterface().run(argv + [str(REPO_ROOT)])
    with pot.open("rb") as handle:
        return read_po(handle)


@pytest.fixture(scope="module")
def french_catalog():
    with FRENCH_PO.open("rb") as handle:
        return read_po(handle, locale="fr")


def _files(message) -> list[str]:
    """The files of a message, relative to the repository."""
    return [Path(os.path.relpath(path, REPO_ROOT)).as_posix() for path, _line in message.locations]


def _forms(text) -> tuple[str, ...]:
    """A msgid or msgstr as its forms (one, or several for ngettext plurals)."""
    return tuple(text) if isinstance(text, (list, tuple)) else (text,)


def _placeholders(text) -> set[str]:
    return {name for form in _forms(text) for name in PLACEHOLDER.findall(form)}


def _where(message) -> str:
    return ", ".join(f"{name}:{line}" for name, (_path, line) in zip(_files(message), message.locations[:2]))


def test_the_extraction_finds_the_strings_of_python_and_templates(source_catalog):
    ids = {message.id for message in source_catalog}
    assert "Label" in ids  # _l() in core/glossary.py
    assert "Unknown email or wrong password." in ids  # _() in views/auth.py
    assert "Log in" in ids  # _() in templates/auth/login.html
    files = {name for message in source_catalog for name in _files(message)}
    assert {"app.py", "core/glossary.py", "views/auth.py", "templates/auth/login.html"} <= files
    assert not [name for name in files if name.startswith(".venv/")]


def test_every_ui_string_has_a_french_translation(source_catalog, french_catalog):
    problems = []
    for message in source_catalog:
        if not message.id:
            continue
        translated = french_catalog.get(message.id)
        if translated is None or not all(_forms(translated.string)):
            problems.append(f"untranslated: {message.id!r} ({_where(message)})")
        elif translated.fuzzy:
            problems.append(f"fuzzy (to review): {message.id!r} ({_where(message)})")
    assert not problems, (
        "Run scripts/update_translations.sh, then translate in translations/fr/LC_MESSAGES/messages.po:\n"
        + "\n".join(problems))


def test_french_translations_keep_their_placeholders(source_catalog, french_catalog):
    """Same %(name)s placeholders as the msgid, and nothing else that % formatting would choke on
    (Jinja's _() formats every string, even without variables)."""
    problems = []
    for message in source_catalog:
        translated = french_catalog.get(message.id) if message.id else None
        if translated is None or not all(_forms(translated.string)):
            continue
        names = _placeholders(message.id)
        if _placeholders(translated.string) != names:
            problems.append(f"{message.id!r} → {translated.string!r}")
            continue
        from_template = any(name.startswith("templates/") for name in _files(message))
        if names or from_template or message.pluralizable:
            values = {name: 1 for name in names | {"num"}}
            for form in _forms(translated.string):
                try:
                    form % values
                except (KeyError, TypeError, ValueError) as error:
                    problems.append(f"{message.id!r} → {form!r}: {error}")
    assert not problems, "\n".join(problems)
