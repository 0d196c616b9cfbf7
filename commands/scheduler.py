"""``flask --app app scheduler``: the scheduler process (``jobs.scheduler``); run one per
deployment beside the web workers, and a second one as its standby."""
import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("scheduler", help="Run the scheduled exchanges (one active process; others wait on standby).")
@with_appcontext
def scheduler_command():
    from jobs.scheduler import SchedulerProcess

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    SchedulerProcess(current_app._get_current_object()).run()
