"""``flask --app app exchange run …`` and ``flask --app app connectors create …``: thin
commands over ``exchange.runs`` and ``exchange.base.save_connector``.

``exchange run`` exits 0 on success or partial, 1 on failed or already running.
"""
import json

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from commands.context import find_tenant
from core import transaction
from core.extensions import db
from core.tenancy import tenant_scope
from exchange import runs
from exchange.base import kind_of, save_connector
from exchange.labels import label
from models.exchange import DIRECTIONS, Connector

CLI_ACTOR = (None, "cli")


def _connector(tenant, code: str) -> Connector:
    connector = db.session.query(Connector).filter_by(tenant_id=tenant.id, code=code.strip().upper()).one_or_none()
    if connector is None:
        raise click.ClickException(f"unknown connector {code} in {tenant.code}")
    return connector


@click.group("exchange", help="Connector runs.")
def exchange_group():
    pass


@exchange_group.command("run", help="Run a connector once now and print its report summary.")
@click.argument("connector")
@click.option("--tenant", required=True)
@click.option("--direction", required=True, type=click.Choice(DIRECTIONS))
@click.option("--dry-run", is_flag=True, help="Go through the same code, write nothing.")
@click.option("--retry", "retry_of", type=int, help="Run again only the failed items of this run id.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
def run_command(connector, tenant, direction, dry_run, retry_of, as_json):
    current = find_tenant(tenant)
    with tenant_scope(current.id, CLI_ACTOR):
        row = _connector(current, connector)
        try:
            run_id = runs.run_now(row, direction, "command", dry_run, retry_of, CLI_ACTOR)
        except (runs.AlreadyRunning, runs.RunRefused) as refused:
            if as_json:
                click.echo(json.dumps({"status": "refused", "message": str(refused), "counts": {}, "items": []},
                                      ensure_ascii=False))
            else:
                click.echo(str(refused), err=True)
            raise SystemExit(1)
        report = runs.summary(run_id)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        for item in report["items"]:
            if item["state"] != "ok":
                click.echo(f"[{item['state']}] {item['type']} {item['identifier']}: {item['message']}")
        counts = report["counts"]
        click.echo(f"run #{run_id} {label(direction)}: {report['status']}"
                   + (" (dry run, nothing written)" if dry_run else "")
                   + f"; {counts['ok']} ok, {counts['skipped']} skipped, {counts['warning']} warning, "
                     f"{counts['error']} error" + (f" — {report['message']}" if report["message"] else ""))
    raise SystemExit(0 if report["status"] in ("success", "partial") else 1)


@click.group("connectors", help="Connectors of a tenant.")
def connectors_group():
    pass


def _settings(pairs) -> dict:
    values = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(f"{pair}: expected NAME=VALUE", param_hint="--set")
        values[name.strip()] = value
    return values


@connectors_group.command("create", help="Create a connector with its settings (validated as in the form).")
@click.option("--tenant", required=True)
@click.option("--kind", required=True)
@click.option("--code", required=True)
@click.option("--label", default="")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@click.option("--set", "pairs", multiple=True, metavar="NAME=VALUE", help="A setting; may repeat.")
@with_appcontext
def create_command(tenant, kind, code, label, disabled, pairs):
    current = find_tenant(tenant)
    with tenant_scope(current.id, CLI_ACTOR):
        connector, errors = save_connector(current.id, kind, code, label, not disabled, _settings(pairs))
        if errors:
            transaction.rollback()
            for name, message in errors.items():
                click.echo(f"{name}: {message}", err=True)
            raise SystemExit(1)
        try:
            transaction.commit()
        except IntegrityError:
            transaction.rollback()
            click.echo("nothing created: this code or import folder has just been taken; run the command again.",
                       err=True)
            raise SystemExit(1)
        click.echo(f"connector {connector.code} ({kind_of(kind).name}) created in {current.code}")


@connectors_group.command("list", help="The connectors of a tenant.")
@click.option("--tenant", required=True)
@with_appcontext
def list_command(tenant):
    current = find_tenant(tenant)
    for row in db.session.query(Connector).filter_by(tenant_id=current.id).order_by(Connector.code):
        click.echo(f"{row.code}\t{row.kind}\t{'enabled' if row.enabled else 'disabled'}\t{row.label}")


@exchange_group.group("peer", help="Reference peers, to try an exchange on one machine.")
def peer_group():
    pass


@peer_group.command("field-service", help="Serve the reference field-service application (Ctrl+C stops it).")
@click.option("--port", type=int, default=5010, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--data", "data", type=click.Path(exists=True, dir_okay=False), help="Interventions (JSON file).")
@click.option("--api-key", default="", help="The API key it requires (none: any key).")
def field_service_peer_command(port, host, data, api_key):
    from exchange.field_service.peer import serve
    serve(port, host, data, api_key)
# --- reference peers ----------------------------------------------------------------------------------

def _peer_group() -> click.Group:
    """The ``exchange peer`` group the reference peers' subcommands share (created once)."""
    group = exchange_group.commands.get("peer")
    if group is None:
        group = click.Group("peer", help="Reference peers, for the demo and the tests.")
        exchange_group.add_command(group)
    return group


@_peer_group().command("work-orders", help=(
    "The reference work-order application: --post FILE.json --url URL --token T [--secret S] posts a work "
    "order to the webhook (signed with the secret); --serve [--port N] [--api-key K] [--store FILE] answers "
    "PUT /v1/inventory and keeps what it receives."))
@click.option("--post", "post_file", type=click.Path(exists=True, dir_okay=False), help="A work order (JSON).")
@click.option("--url", help="The webhook: http://HOST/hooks/work-orders/<tenant>/<connector>.")
@click.option("--token", help="The connector's inbound token (X-Api-Key).")
@click.option("--secret", default=None, help="The signing secret: the request carries X-Signature.")
@click.option("--serve", is_flag=True, help="Serve PUT /v1/inventory until stopped.")
@click.option("--port", type=int, default=0, show_default=True, help="Port to serve on (0: a free one).")
@click.option("--api-key", default="", help="The API key PUT /v1/inventory requires (none: any).")
@click.option("--store", type=click.Path(dir_okay=False), default=None, help="Keep the inventory in this file.")
def work_orders_peer_command(post_file, url, token, secret, serve, port, api_key, store):
    from exchange.work_orders import peer
    if serve == bool(post_file):
        raise click.UsageError("give either --post FILE.json or --serve")
    if post_file:
        if not url or not token:
            raise click.UsageError("--post needs --url and --token")
        try:
            status, answer = peer.post_work_order(post_file, url, token, secret)
        except Exception as error:  # noqa: BLE001 - a command line says why, without a traceback
            raise click.ClickException(f"the webhook cannot be reached: {type(error).__name__}")
        click.echo(f"HTTP {status} {answer}")
        raise SystemExit(0 if 200 <= status < 300 else 1)
    server, _inventory = peer.make_server(port, api_key, store)
    click.echo(f"work-order peer listening on http://127.0.0.1:{server.server_address[1]}", nl=True)
    import sys
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
