import click
from flask.cli import with_appcontext

from commands.context import find_tenant
from core import transaction
from core.audit import audit_actor
from models import ROLES
from rules.templates import copy_tenant
from rules.tenancy import TenancyError, create_tenant, create_user


@click.group("tenants", help="Tenants (dossiers).")
def tenants_group():
    pass


@tenants_group.command("create", help="Create a tenant with default dossier settings and empty tables, "
                                        "or with a copy of the parameters of the tenant given by --from.")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--from", "template", default=None, help="Code of the tenant to copy the parameters from.")
@with_appcontext
def create_tenant_command(code, name, template):
    audit_actor.set((None, "cli"))
    try:
        if template:
            tenant = copy_tenant(find_tenant(template), code, name)
        else:
            tenant = create_tenant(code, name)
    except TenancyError as error:
        raise click.ClickException(str(error))
    transaction.commit()
    click.echo(f"tenant {tenant.code} created" + (f" from {template.upper()}" if template else ""))


@click.group("users", help="Users and their roles.")
def users_group():
    pass


@users_group.command("create", help="Create a user with a role in one or more tenants.")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--tenant", "tenants", multiple=True, required=True, help="Tenant code; may repeat.")
@click.option("--name", "full_name", default="")
@with_appcontext
def create_user_command(email, password, role, tenants, full_name):
    try:
        user = create_user(email, password, [(find_tenant(code), role) for code in tenants], full_name)
    except TenancyError as error:
        raise click.ClickException(str(error))
    transaction.commit()
    click.echo(f"user {user.email} created ({role} in {', '.join(t.upper() for t in tenants)})")
