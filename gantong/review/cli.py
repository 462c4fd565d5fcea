"""`flask gantong review ...`: a demo application; queue counts of a district."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gantong.core.rules import local_date
from gantong.extensions import db
from gantong.models import Holder, utcnow
from gantong.review import applications

review_cli = AppGroup("review", help="Transcoding applications, claims and official records.")


@review_cli.command("demo")
def review_demo() -> None:
    """File a transcoding application for the yellow demo resident (after `flask gantong demo`)."""
    holder = db.session.scalar(db.select(Holder).where(Holder.name == "李小红"))
    if holder is None:
        raise click.ClickException("run `flask gantong demo` first")
    hits = applications.open_hits(holder)
    if not hits:
        click.echo("李小红 has no reason left to apply for (pending already, or green)")
        return
    evidence = applications.Evidence(
        "negative_test",
        test_date=local_date(utcnow()),
        institution="南昌大学第一附属医院",
        report_number="NAT-DEMO-0001",
    )
    item = applications.apply(holder, [hit.key for hit in hits], evidence, holder.account)
    click.echo(
        f"application {item.id} filed for 李小红; log in as 13900000003 or 13900000007 to decide it"
    )


@review_cli.command("pending")
@click.option("--district", required=True, help="Six-digit district code, e.g. 360102.")
def review_pending(district: str) -> None:
    """Print how many applications, claims and records wait in a district's queue."""
    from .queries import KINDS, pending_queue

    for kind in KINDS:
        click.echo(f"{kind:12} {pending_queue(district, kind, per_page=1).total}")
