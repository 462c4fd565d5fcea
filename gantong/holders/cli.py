"""`flask gantong recompute`: refresh stored colours from cron."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gantong import unit_of_work
from gantong.holders import registry


@click.command("recompute")
@with_appcontext
def recompute() -> None:
    """Refresh every stored colour (for hits that end with time); run it from cron."""
    changed = sum(unit_of_work.commit_each(registry.recompute_in_pages()))
    click.echo(f"{changed} colours changed")
