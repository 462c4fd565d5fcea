"""`flask gantong ...`: every command of every domain, registered here and nowhere else."""
from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup


def register_commands(app: Flask) -> None:
    """Add the `gantong` command group, with each domain's commands, to the app's CLI."""
    from gantong import demo
    from gantong.admin import cli as admin_cli
    from gantong.checkpoint import cli as checkpoint_cli
    from gantong.codes import cli as codes_cli
    from gantong.holders import cli as holders_cli
    from gantong.review import cli as review_cli

    group = AppGroup("gantong", help="Gantong Code operations.")
    for command in (
        demo.demo,
        holders_cli.recompute,
        codes_cli.keys_cli, codes_cli.issuer_cli, codes_cli.partner_demo,
        checkpoint_cli.point_cli, checkpoint_cli.staff_cli,
        review_cli.review_cli,
        admin_cli.purge, admin_cli.backup, admin_cli.audit_cli,
    ):
        group.add_command(command)
    app.cli.add_command(group)
