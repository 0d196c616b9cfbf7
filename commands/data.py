import shutil

import click
from flask import current_app
from flask.cli import with_appcontext

from commands.context import admin_view, tenant_context
from core.extensions import db


@click.command("export", help="Export a list (RESOURCE = its URL name) of a tenant to XLSX.")
@click.argument("resource")
@click.option("--tenant", required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_command(resource, tenant, output):
    view = admin_view(resource)
    with tenant_context(tenant):
        path = view.write_export(view.filtered_query())
    shutil.move(path, output)
    click.echo(f"{resource} of {tenant.upper()} exported to {output}")


@click.command("import", help="Import a parameter or master-data table (RESOURCE = its URL name) from "
                              ".xlsx or .csv: all rows or none.")
@click.argument("resource")
@click.option("--tenant", required=True)
@click.option("--dry-run", is_flag=True, help="Check the file, write nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(resource, tenant, dry_run, file):
    view = admin_view(resource)
    with tenant_context(tenant) as current:
        with open(file, "rb") as handle:
            report = view.import_file(handle.read(), file, current.id, dry_run=dry_run)
        messages = report.messages()
        limit = current_app.config["IMPORT_MAX_SHOWN_ROWS"]
        for message in messages[:limit]:
            click.echo(message, err=True)
        if len(messages) > limit:
            click.echo(f"... and {len(messages) - limit} more errors", err=True)
        if not report.ok:
            raise SystemExit(1)
        if report.written:
            db.session.commit()
    verb = "would create" if dry_run else "created"
    click.echo(f"{resource}: {report.count('create')} {verb}, {report.count('update')} updated"
               + (" (dry run, nothing written)" if dry_run else ""))
