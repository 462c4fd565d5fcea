"""`flask gantong recompute`: refresh stored colours from cron."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from gantong.holders import registry


@click.command("recompute")
@with_appcontext
def recompute() -> None:
    """Refresh every stored colour (for hits that end with time); run it from cron."""
    changed = registry.recompute_all()
    click.echo(f"{changed} colours changed")
