"""``csv_exchange``: a file-exchange partner (``exchanges.md``, Kind 2).

The partner drops ``Documents_*`` and ``Tiers_*`` files (``;``-separated CSV) in the
connector's import folder; *Réceptionner* reads them into pending data
(``reception``), *Recevoir* integrates the pending data (``receive``): parties
first, then documents as orders or delivery notes. A scheduled or command-line
receive does both at once. Send writes the article and client files for the
partner (``send``). The settings are grouped in the steps of the creation form.
"""
from flask_babel import lazy_gettext as _l

from exchange.base import BOOLEAN, CHOICE, FOLDER, INTEGER, TEXT, Kind, Setting, register_kind
from exchange.csv_exchange.settings import check_settings, check_tenant_settings, schedule_applies

ARTICLES_MODES = (("exportable_only", _l("Exportable articles only")),
                  ("custom_filter", _l("Articles of chosen families")), ("none", _l("No article")))
CLIENTS_MODES = (("all", _l("Every client")), ("custom_filter", _l("Clients of chosen families")),
                 ("none", _l("No client")))
DOCUMENT_TYPES = (("order", _l("Order")), ("delivery_note", _l("Delivery note")))
UPDATE_MODES = (("manual", _l("Manual")), ("at_login", _l("At login (a banner says data is waiting)")),
                ("scheduled", _l("Scheduled")))
STEPS = (("link", _l("Link")), ("folders", _l("Folders")), ("send", _l("Send")), ("receive", _l("Receive")))


def _receive(run):
    from exchange.csv_exchange.receive import receive_all
    receive_all(run)


def _send(run):
    from exchange.csv_exchange.send import send
    send(run)


KIND = register_kind(Kind(
    name="csv_exchange",
    label=_l("CSV file exchange"),
    settings=(
        Setting("communication_mode", _l("Communication mode"), CHOICE, required=True, default="csv_files",
                choices=(("csv_files", _l("CSV files")),), step="link"),
        Setting("import_folder", _l("Import folder"), FOLDER, required=True, reads_files=True, step="folders",
                help=_l("Relative to the exchange root; the partner drops its files here.")),
        Setting("export_folder", _l("Export folder"), FOLDER, step="folders",
                help=_l("Relative to the exchange root; the sent files are written here.")),
        Setting("retention_days", _l("Retention of archived and rejected files (days)"), INTEGER, default=90,
                minimum=1, step="folders"),
        Setting("articles_mode", _l("Articles sent"), CHOICE, required=True, default="exportable_only",
                choices=ARTICLES_MODES, step="send"),
        Setting("article_filter", _l("Article families sent"), TEXT, default="", step="send",
                help=_l("Article family codes separated by commas (articles of chosen families).")),
        Setting("price_category", _l("Price category"), TEXT, default="", step="send"),
        Setting("unit", _l("Unit"), TEXT, default="", step="send",
                help=_l("Unit code sent instead of each article's unit (empty: the article's).")),
        Setting("clients_mode", _l("Clients sent"), CHOICE, required=True, default="all", choices=CLIENTS_MODES,
                step="send"),
        Setting("client_filter", _l("Client families sent"), TEXT, default="", step="send",
                help=_l("Client family codes separated by commas (clients of chosen families).")),
        Setting("include_contacts", _l("Include contacts"), BOOLEAN, default=False, step="send"),
        Setting("send_schedule", _l("Send schedule"), TEXT, default="", step="send",
                help=_l("every:<minutes> or a five-field cron expression; empty: no schedule.")),
        Setting("depot", _l("Depot"), TEXT, required=True, default="", step="receive",
                help=_l("Depot code kept on the received documents (also required when articles are sent).")),
        Setting("document_type", _l("Document type created"), CHOICE, required=True, default="order",
                choices=DOCUMENT_TYPES, step="receive"),
        Setting("establishment", _l("Establishment"), TEXT, default="", step="receive",
                help=_l("Code of the establishment that receives (required when the dossier has several).")),
        Setting("client_family", _l("Family of new clients"), TEXT, required=True, default="", step="receive"),
        Setting("supplier_family", _l("Family of new suppliers"), TEXT, required=True, default="", step="receive"),
        Setting("update_mode", _l("Update mode"), CHOICE, required=True, default="manual", choices=UPDATE_MODES,
                step="receive"),
        Setting("receive_schedule", _l("Receive schedule"), TEXT, default="", step="receive",
                help=_l("every:<minutes> or a five-field cron expression; scheduled mode only, where it is required.")),
    ),
    engines={"receive": _receive, "send": _send},
    check=check_settings,
    check_in_tenant=check_tenant_settings,
    creates=lambda settings: {settings.get("document_type") or "order"},
    schedule_applies=schedule_applies,
    steps=STEPS,
))
