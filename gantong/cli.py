"""`flask gantong ...`: every command of every domain, registered here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator

import click
from flask import Flask
from flask.cli import AppGroup

from gantong import unit_of_work


def register_commands(app: Flask) -> None:
    """Add the `gantong` command group, with each domain's commands, to the app's CLI."""
    from gantong import demo
    from gantong.admin import cli as admin_cli
    from gantong.checkpoint import cli as checkpoint_cli
    from gantong.codes import cli as codes_cli
    from gantong.codes import credentials_cli
    from gantong.holders import cli as holders_cli
    from gantong.labs import cli as labs_cli
    from gantong.review import cli as review_cli

    group = AppGroup("gantong", help="Gantong Code operations.")
    for command in (
        demo.demo,
        holders_cli.recompute,
        codes_cli.keys_cli,
        codes_cli.issuer_cli,
        codes_cli.partner_demo,
        credentials_cli.credentials_cli,
        checkpoint_cli.point_cli,
        checkpoint_cli.staff_cli,
        review_cli.review_cli,
        admin_cli.purge,
        admin_cli.backup,
        admin_cli.audit_cli,
        labs_cli.lab_cli,
    ):
        group.add_command(command)
    for command in _every_command(group):
        # The command is the unit of work: it commits when it returns (gantong/unit_of_work.py).
        command.callback = unit_of_work.committing(command.callback)
    app.cli.add_command(group)


def _every_command(command: click.Command) -> Iterator[click.Command]:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _every_command(sub)
    else:
        yield command
