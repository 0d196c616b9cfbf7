"""``test``: a connector kind for the tests only (registered when testing, or with
``PASSERELLE_TEST_KIND=1``), proving the framework without a real peer.

Receive creates one client per document (``<connector code>-001`` …) in its own
transaction; the identifiers listed in ``fail`` end as ``error`` items after the
client was added (so a rollback is visible), those in ``warn`` as warnings; a
client already there is ``skipped`` ("already integrated"). Send writes the
tenant's client codes to a CSV file in the export folder (atomically; not in a
dry run). ``delay_ms`` slows each document down; after ``hold_after`` documents the
run waits while the file ``hold_file`` (under ``EXCHANGE_ROOT``) exists: tests hold a
run in the middle, deterministically, to start a second one or kill it. Its
``receive_schedule`` / ``send_schedule`` are added by ``register_kind`` as for every kind.
"""
from flask_babel import lazy_gettext as _l

from exchange.base import BOOLEAN, FOLDER, INTEGER, SECRET, TEXT, Kind, Setting, register_kind
from exchange.test_kind.engine import check_settings, receive, send

KIND = register_kind(Kind(
    name="test",
    label=_l("Test connector"),
    settings=(
        Setting("import_folder", _l("Import folder"), FOLDER, reads_files=True),
        Setting("export_folder", _l("Export folder"), FOLDER),
        Setting("api_key", _l("API key"), SECRET),
        Setting("documents", _l("Documents per run"), INTEGER, default=3, minimum=0),
        Setting("fail", _l("Identifiers in error"), TEXT, default=""),
        Setting("warn", _l("Identifiers with a warning"), TEXT, default=""),
        Setting("delay_ms", _l("Delay per document (ms)"), INTEGER, default=0, minimum=0),
        Setting("hold_file", _l("Hold while this file exists"), TEXT, default=""),
        Setting("hold_after", _l("Hold after this many documents"), INTEGER, default=0, minimum=0),
        Setting("include_contacts", _l("Include contacts"), BOOLEAN, default=False),
    ),
    engines={"send": send, "receive": receive},
    check=check_settings,
))
