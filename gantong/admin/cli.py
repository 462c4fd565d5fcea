"""`flask gantong purge`, `backup` and `audit verify`: retention, backups, the audit chain."""

from __future__ import annotations

import logging
import os

import click
from flask.cli import AppGroup, with_appcontext

from gantong import unit_of_work
from gantong.admin import backups, retention

retention_days = retention.retention_days


@click.command("purge")
@with_appcontext
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep this many days (default: RETENTION_DAYS, or 28).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=retention.BATCH_SIZE,
    help="Records deleted per transaction.",
)
def purge(days, batch) -> None:
    """Delete verification records and venue check-ins older than the retention period; safe to
    run from cron."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    retention.log.addHandler(handler)
    retention.log.setLevel(logging.INFO)
    try:
        *_, result = unit_of_work.commit_each(
            retention.purge_in_batches(days or retention_days(), batch=batch)
        )
    finally:
        retention.log.removeHandler(handler)
    click.echo(
        f"{result.deleted} verification records and venue check-ins from before "
        f"{result.cutoff.isoformat()} deleted; fever findings and other hits kept"
    )


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup(path) -> None:
    """Copy the live SQLite database to PATH (online backup); on PostgreSQL, print pg_dump's line."""
    try:
        integrity = backups.backup_sqlite(path)
    except backups.NotSQLite as refusal:
        click.echo(
            "flask gantong backup copies SQLite databases only. On PostgreSQL run:", err=True
        )
        click.echo(f"  {refusal}", err=True)
        click.echo(
            f'and restore with: pg_restore --clean --if-exists --dbname "$DATABASE_URL" "{path}"',
            err=True,
        )
        raise SystemExit(2) from None
    except FileExistsError:
        raise click.BadParameter("exists already; choose a new file", param_hint="PATH") from None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="PATH") from None
    click.echo(f"backup written to {os.path.abspath(path)}; integrity check: {integrity}")


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@click.option(
    "--expect-head",
    "expect_head",
    default=None,
    metavar="HASH",
    help="A head hash kept elsewhere: the chain must still hold it.",
)
@click.option(
    "--since-signed-head",
    "signed_head",
    type=click.File("r"),
    default=None,
    metavar="FILE",
    help="A signed head kept from /audit/head.json: its signature, then the chain against it.",
)
def audit_verify(expect_head, signed_head) -> None:
    """Check the whole hash chain; name the first broken event and print the head hash.

    Against a kept head (--expect-head or --since-signed-head) it also shows deleted newest
    events and a chain rehashed after an edit, which a whole chain alone does not.
    """
    from gantong import audit, audit_heads

    if expect_head or signed_head:
        seq = None
        if signed_head:
            try:
                kept = audit_heads.read_kept(signed_head.read())
            except audit_heads.BadHead as refusal:
                click.echo(f"BAD SIGNED HEAD: {refusal}")
                raise SystemExit(1) from None
            expect_head, seq = kept.head_hash, kept.seq
        result = audit_heads.check_against(expect_head, seq)
        if not result.ok:
            click.echo(f"BROKEN: {result.problem}")
            raise SystemExit(1)
        click.echo(
            f"ok: {result.chain.count} events, and the kept head {expect_head} is still in the chain"
            + (f" at event {seq}" if seq is not None else "")
            + f"; head hash {result.chain.head_hash}"
        )
        return
    check = audit.verify_chain()
    if check.ok:
        click.echo(f"ok: {check.count} events; head hash {check.head_hash}")
        click.echo(
            "Keep the head hash somewhere else: deleting the newest events shows only against it "
            "(--expect-head, or --since-signed-head with a copy of /audit/head.json)."
        )
    else:
        click.echo(f"BROKEN at event {check.first_broken}: {check.problem}")
        click.echo(f"{check.count} events verified before it; last good hash {check.head_hash}")
        raise SystemExit(1)


@audit_cli.command("sign-head")
def audit_sign_head() -> None:
    """Sign the audit trail's head now (run from cron at a set interval) and print it."""
    import json

    from gantong import audit_heads

    head = audit_heads.sign_head()
    click.echo(json.dumps(audit_heads.as_json(head), sort_keys=True))
