import json

import click
from flask.cli import with_appcontext

from commands.context import tenant_context
from rules.health import blocking_count, health_findings


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
