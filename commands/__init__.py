"""``flask --app app …`` command groups; each one is thin and calls rules or spreadsheets."""
from commands.exchange import connectors_group, exchange_group
from commands.data import export_command, import_command
from commands.params import params_group
from commands.invoices import invoices_group
from commands.payments import payments_group
from commands.scheduler import scheduler_command
from commands.seed import seed_demo_command
from commands.tenancy import tenants_group, users_group


def register_commands(app) -> None:
    for command in (tenants_group, users_group, export_command, import_command, seed_demo_command,
                    payments_group, exchange_group, connectors_group, params_group, scheduler_command,
                    invoices_group):
        app.cli.add_command(command)
