"""The table catalogue: each list's URL name → its model, fields, choices and read-only
fields, and the screen that exports and imports it the way the list does.

The export and import commands, the tests and (later) the connectors' senders read
it instead of Flask-Admin's private list of views. A list screen enters it when it
is added to the admin (``SecuredModelView.create_blueprint``); the catalogue is kept
per application (``app.extensions``), so that several apps in one process never mix.
"""
from dataclasses import dataclass

from flask import current_app

EXTENSION = "table_catalog"


@dataclass(frozen=True)
class Table:
    name: str        # the URL name, also the RESOURCE of the export / import commands
    model: type | None   # None for a screen that is not one table (job-site synthesis)
    screen: object   # the list screen (a SecuredModelView)

    @property
    def fields(self) -> list[str]:
        return self.screen.export_field_names()

    @property
    def choices(self) -> dict[str, list[str]]:
        return {name: [value for value, _label in pairs] for name, pairs in (self.screen.form_choices or {}).items()}

    @property
    def read_only(self) -> list[str]:
        form_columns = self.screen.form_columns
        return [name for name in self.fields if form_columns and name not in form_columns]

    def import_spec(self):
        return self.screen.import_spec()

    def export_sheet(self, query=None):
        """The columns and rows of the export of ``query`` (default: every row of the
        current tenant, sorted as the list)."""
        return self.screen.export_sheet(query if query is not None else self.screen.filtered_query())

    def write_export(self, query=None) -> str:
        """The rows of ``query`` (default: every row of the current tenant, sorted as the list)
        in a temporary XLSX file; its path."""
        return self.screen.write_export(query if query is not None else self.screen.filtered_query())


def register(app, screen) -> None:
    if hasattr(screen, "write_export"):
        app.extensions.setdefault(EXTENSION, {})[screen.endpoint] = Table(
            screen.endpoint, getattr(screen, "model", None), screen)


def tables() -> dict[str, Table]:
    return current_app.extensions.get(EXTENSION, {})


def table(name: str) -> Table | None:
    return tables().get(name)


def names() -> list[str]:
    return sorted(tables())
