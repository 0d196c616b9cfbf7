"""The test kind's engines (see the package docstring)."""
import logging
import time

from flask_babel import gettext as _

from core import transaction
from core.extensions import db
from core.paths import absolute_folder, exchange_root
from exchange.base import ItemError, RunFailed
from models import Client
from spreadsheets.csv_files import write_csv

logger = logging.getLogger(__name__)


def _codes(text: str) -> set[str]:
    return {code.strip().upper() for code in (text or "").split(",") if code.strip()}


def check_settings(settings: dict) -> dict:
    if settings.get("import_folder") and settings.get("import_folder") == settings.get("export_folder"):
        return {"export_folder": _("The export folder must differ from the import folder.")}
    return {}


def _hold(name: str | None) -> None:
    if not name:
        return
    path = exchange_root() / name
    while path.exists():
        time.sleep(0.05)


def receive(run) -> None:
    settings = run.settings
    failing, warning = _codes(settings.get("fail")), _codes(settings.get("warn"))
    if run.secrets.get("api_key") == "refused":
        raise RunFailed(_("The peer refused the API key: check the API key."))
    identifiers = [f"{run.connector.code}-{number:03d}" for number in range(1, (settings.get("documents") or 0) + 1)]
    identifiers = [identifier for identifier in identifiers if run.wanted("client", identifier)]
    run.set_total(len(identifiers))
    logger.info("test connector %s: receiving %s documents", run.connector.code, len(identifiers))
    for position, identifier in enumerate(identifiers):
        if position == (settings.get("hold_after") or 0) and settings.get("hold_file"):
            run.flush(force=True)  # the progress so far is visible while the run waits
            _hold(settings.get("hold_file"))
        if settings.get("delay_ms"):
            time.sleep(settings["delay_ms"] / 1000)
        exists = db.session.query(Client.id).filter_by(tenant_id=run.connector.tenant_id, code=identifier).first()
        if exists:
            run.item("client", identifier, "skipped", _("Already integrated."))
            continue
        with run.document("client", identifier) as outcome:
            db.session.add(Client(tenant_id=run.connector.tenant_id, code=identifier, name=f"Client {identifier}"))
            db.session.flush()
            if identifier in failing:
                raise ItemError(_("Client %(code)s: no city.", code=identifier))
            if identifier in warning:
                outcome.warn(_("Client %(code)s: no e-mail.", code=identifier))


def send(run) -> None:
    codes = [code for (code,) in db.session.query(Client.code).filter_by(tenant_id=run.connector.tenant_id)
             .order_by(Client.code)]
    transaction.rollback()
    run.set_total(len(codes))
    for code in codes:
        run.item("client", code, "ok")
    if run.dry_run or not run.settings.get("export_folder"):
        return
    write_csv(absolute_folder(run.settings["export_folder"]), f"Clients_{run.id}.csv", ["Code"],
              ([code] for code in codes))
