"""`flask gantong point ...` and `staff ...`: information points, their API tokens, staff."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from gantong.auth import accounts
from gantong.checkpoint import points
from gantong.extensions import db

point_cli = AppGroup("point", help="Information points.")


@point_cli.command("add")
@click.argument("name")
@click.option("--district", required=True, help="Six-digit Jiangxi district code, e.g. 360102.")
@click.option("--address", default="")
@click.option("--lat", type=float, default=None)
@click.option("--lon", type=float, default=None)
def point_add(name, district, address, lat, lon) -> None:
    """Add an information point."""
    from gantong.core import divisions

    if district not in divisions.jiangxi_district_codes():
        raise click.BadParameter("not a Jiangxi district code", param_hint="--district")
    point = points.add_point(
        name=name, district_code=district, address=address, latitude=lat, longitude=lon
    )
    click.echo(f"point {point.id}: {point.name}")


@point_cli.command("token")
@click.argument("point_id", type=int)
@click.option("--label", default="")
def point_token(point_id, label) -> None:
    """Make a per-point API token for /api/v1/verify; it is shown once, stored hashed."""
    token = points.new_api_token(point_id, label)
    click.echo(token)


staff_cli = AppGroup("staff", help="Checkpoint staff accounts.")


@staff_cli.command("add")
@click.argument("phone")
@click.option("--point", "point_id", type=int, required=True)
@click.password_option()
def staff_add(phone, point_id, password) -> None:
    """Create a staff account bound to one information point."""
    from gantong.core import identity
    from gantong.models import InformationPoint

    if db.session.get(InformationPoint, point_id) is None:
        raise click.BadParameter("no such point", param_hint="--point")
    user = accounts.register(
        identity.normalise_phone(phone), password, role="staff", point_id=point_id
    )
    click.echo(f"staff {user.phone} at point {point_id}")
