import shutil

import click
from flask.cli import with_appcontext

from commands.context import admin_view, tenant_context


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
