import json

import click
from flask.cli import with_appcontext

from commands.context import tenant_context
from core import transaction
from rules.health import blocking_count, health_findings
from spreadsheets.workbook import import_parameters_workbook, write_parameters_workbook


@click.group("params", help="Consultant tools on a tenant's parameters.")
def params_group():
    pass


@params_group.command("check", help="The parameter health check; exit code 1 when something is blocking.")
@click.option("--tenant", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@with_appcontext
def check_command(tenant, as_json):
    with tenant_context(tenant) as current:
        findings = health_findings(current.id)
    if as_json:
        click.echo(json.dumps([{"rule": f.rule, "severity": f.severity, "message": f.message, "table": f.table,
                                "row_id": f.row_id, "row_code": f.row_code} for f in findings], ensure_ascii=False))
    else:
        for f in findings:
            click.echo(f"{f.severity:9} {f.rule:40} {f.row_code:12} {f.message}")
        click.echo(f"{len(findings)} findings, {blocking_count(findings)} blocking")
    if blocking_count(findings):
        raise SystemExit(1)


@params_group.command("export", help="Every parameter table and the dossier settings as one workbook.")
@click.option("--tenant", required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_command(tenant, output):
    with tenant_context(tenant):
        write_parameters_workbook(output)
    click.echo(f"parameters of {tenant.upper()} written to {output}")


@params_group.command("import", help="A parameters workbook: every sheet checked, all written or none.")
@click.option("--tenant", required=True)
@click.option("--dry-run", is_flag=True, help="Check the workbook, write nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(tenant, dry_run, file):
    with tenant_context(tenant) as current:
        with open(file, "rb") as handle:
            report = import_parameters_workbook(handle.read(), current.id, dry_run=dry_run)
        for message in report.messages():
            click.echo(message, err=True)
        if not report.ok:
            raise SystemExit(1)
        if report.written:
            transaction.commit()
    for name, sheet in report.sheets:
        click.echo(f"{name}: {sheet.count('create')} created, {sheet.count('update')} updated"
                   + (" (dry run, nothing written)" if dry_run else ""))
