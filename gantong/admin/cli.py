"""`flask gantong purge`, `backup` and `audit verify`: retention, backups, the audit chain."""
from __future__ import annotations

import logging
import os

import click
from flask.cli import AppGroup, with_appcontext

from gantong.admin import backups, retention

retention_days = retention.retention_days


@click.command("purge")
@with_appcontext
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Keep this many days (default: RETENTION_DAYS, or 28).")
@click.option("--batch", type=click.IntRange(min=1), default=retention.BATCH_SIZE,
              help="Records deleted per transaction.")
def purge(days, batch) -> None:
    """Delete verification records older than the retention period; safe to run from cron."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    retention.log.addHandler(handler)
    retention.log.setLevel(logging.INFO)
    try:
        result = retention.purge_verification_records(days or retention_days(), batch=batch)
    finally:
        retention.log.removeHandler(handler)
    click.echo(f"{result.deleted} verification records verified before "
               f"{result.cutoff.isoformat()} deleted; fever findings and other hits kept")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup(path) -> None:
    """Copy the live SQLite database to PATH (online backup); on PostgreSQL, print pg_dump's line."""
    try:
        integrity = backups.backup_sqlite(path)
    except backups.NotSQLite as refusal:
        click.echo("flask gantong backup copies SQLite databases only. On PostgreSQL run:", err=True)
        click.echo(f"  {refusal}", err=True)
        click.echo("and restore with: pg_restore --clean --if-exists --dbname \"$DATABASE_URL\" "
                   f"\"{path}\"", err=True)
        raise SystemExit(2) from None
    except FileExistsError:
        raise click.BadParameter("exists already; choose a new file", param_hint="PATH") from None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="PATH") from None
    click.echo(f"backup written to {os.path.abspath(path)}; integrity check: {integrity}")


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; name the first broken event and print the head hash."""
    from gantong import audit

    check = audit.verify_chain()
    if check.ok:
        click.echo(f"ok: {check.count} events; head hash {check.head_hash}")
        click.echo("Keep the head hash somewhere else: deleting the newest events shows only against it.")
    else:
        click.echo(f"BROKEN at event {check.first_broken}: {check.problem}")
        click.echo(f"{check.count} events verified before it; last good hash {check.head_hash}")
        raise SystemExit(1)
