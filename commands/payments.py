"""``flask --app app payments import --tenant T FILE [--dry-run] [--json]``: the accounting
payments import of ``payments-import.md``, with the control screen's rules.

Every data row is checked; without ``--dry-run`` the rows without a red alert are
imported as one batch (one transaction). ``--json`` prints one object per data row:
``{"row": <sheet row number>, "status": "ok"|"warning"|"blocking", "alerts": [codes]}``.
Exit code 0, unless the file cannot be read (1, the message on stderr).
"""
import json
import os

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from commands.context import tenant_context
from core import transaction
from rules.payments import count_statuses, import_rows
from spreadsheets.payments_file import check_payment_file
from spreadsheets.reader import UnreadableFile


@click.group("payments", help="Customer payments from the accounting.")
def payments_group():
    pass


@payments_group.command("import", help="Import the accounting's payments file (.xlsx) of a tenant: the rows "
                                       "without a red alert, as one batch.")
@click.option("--tenant", required=True)
@click.option("--dry-run", is_flag=True, help="Check the file, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per data row.")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def import_payments_command(tenant, dry_run, as_json, file):
    with tenant_context(tenant) as current:
        try:
            with open(file, "rb") as handle:
                data = handle.read()
            result = check_payment_file(data, os.path.basename(file), current.id)
        except (OSError, UnreadableFile) as error:
            transaction.rollback()
            click.echo(f"{file}: {error}", err=True)
            raise SystemExit(1)
        batch = None
        if not dry_run and any(row.importable for row in result.rows):
            try:
                batch = import_rows(result.rows, current.id, os.path.basename(file), "cli")
                transaction.commit()
            except IntegrityError:
                transaction.rollback()
                click.echo(f"{file}: nothing imported: some of these payments have just been imported by "
                           "someone else; run the command again.", err=True)
                raise SystemExit(1)
        else:
            transaction.rollback()
    if as_json:
        click.echo(json.dumps([{"row": row.row, "status": row.status, "alerts": row.alert_codes()}
                               for row in result.rows], ensure_ascii=False))
        return
    for row in result.rows:
        for alert in row.alerts:
            click.echo(f"row {row.row} [{alert.level}] {alert.code}: {alert.message}")
    counts = count_statuses(result.rows)
    summary = (f"{len(result.rows)} rows: {counts['ok']} ok, {counts['warning']} with a warning, "
               f"{counts['blocking']} blocked")
    if batch is not None:
        summary += f"; batch #{batch.id}: {batch.imported_count} payments imported"
    elif dry_run:
        summary += " (dry run, nothing written)"
    else:
        summary += "; nothing to import"
    click.echo(summary)
