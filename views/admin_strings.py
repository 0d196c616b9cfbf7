"""Flask-Admin's own strings in the words of our screens.

Flask-Admin translates its messages, tabs and buttons with its own catalogue (domain
``admin``). Its French catalogue misses some strings of the current version ("Failed to
create record.") and words others awkwardly ("Editer", "Afficher L'enregistrement",
"50 articles" for the page size). The msgids listed here get their French text from our
catalogue (``translations/…/messages.po``), which takes precedence over Flask-Admin's
for these msgids only; every other Flask-Admin string keeps Flask-Admin's translation.
"""
from babel.support import Translations
from flask_admin import babel as admin_babel
from flask_babel import get_locale, get_translations


def N_(message: str) -> str:
    """Marks a msgid for pybabel (a default keyword) without translating it."""
    return message


def ngettext(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural msgid for pybabel (a default keyword) without translating it."""
    return singular, plural


PAGE_SIZES = (20, 50, 100)

OVERRIDDEN = (
    N_("Failed to create record."),
    N_("Failed to save record."),
    N_("Failed to create record. %(error)s"),
    N_("Failed to update record. %(error)s"),
    N_("Failed to delete record. %(error)s"),
    N_("Failed to delete records. %(error)s"),
    N_("Record was successfully created."),
    N_("Record was successfully saved."),
    ngettext("Record was successfully deleted.", "%(count)s records were successfully deleted."),
    N_("Record does not exist."),
    N_("Integrity error. %(message)s"),
    N_("Not a valid choice"),
    N_("Invalid Filter Value: %(value)s"),
    ngettext("At least %(num)d item is required", "At least %(num)d items are required"),
    N_("Edit"),
    N_("View Record"),
    N_("Edit Record"),
    N_("Delete Record"),
    N_("Create New Record"),
    N_("Details"),
    N_("Search"),
    N_("Filter"),
    N_("Add Filter"),
    N_("Reset Filters"),
    N_("Export"),
    N_("items"),
    ngettext("20 item", "20 items"),
    ngettext("50 item", "50 items"),
    ngettext("100 item", "100 items"),
    N_("Please select model"),
    N_("Please select at least one record."),
    N_("Are you sure you want to delete this record?"),
    N_("Are you sure you want to delete selected records?"),
    N_("With selected"),
    N_("Select all records"),
    N_("Select record"),
    N_("There are no items in the table."),
    N_("Save and Add Another"),
    N_("Save and Continue Editing"),
    N_("Delete?"),
    N_("equals"),
    N_("not equal"),
    N_("greater than"),
    N_("smaller than"),
    N_("empty"),
)


def _keys() -> set:
    """The catalogue keys of the overridden msgids (plural forms are keyed ``(msgid, n)``)."""
    keys = set()
    for entry in OVERRIDDEN:
        if isinstance(entry, tuple):
            keys.update((entry[0], index) for index in range(2))
        else:
            keys.add(entry)
    return keys


def install() -> None:
    """Route Flask-Admin's translations through ``translations_with_ours`` (once per process)."""
    domain = admin_babel.domain
    if getattr(domain, "passerelle_overrides", False):
        return
    flask_admin_translations = domain.get_translations
    keys = _keys()
    cache: dict = {}

    def translations_with_ours():
        theirs = flask_admin_translations()
        if get_locale() is None:
            return theirs
        locale = str(get_locale())
        if locale not in cache:
            merged = Translations()
            merged.merge(theirs)
            if hasattr(theirs, "plural"):
                merged.plural = theirs.plural
            ours = getattr(get_translations(), "_catalog", {})
            merged._catalog.update({key: text for key, text in ours.items() if key in keys and text})
            cache[locale] = merged
        return cache[locale]

    domain.get_translations = translations_with_ours
    domain.passerelle_overrides = True
