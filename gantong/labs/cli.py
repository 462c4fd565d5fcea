"""`flask gantong lab ...`: labs, and API tokens for their accounts."""

from __future__ import annotations

import base64

import click
from flask.cli import AppGroup

from gantong.auth.accounts import find_by_phone
from gantong.core import divisions, identity
from gantong.labs import results

lab_cli = AppGroup("lab", help="Testing laboratories that post results.")


@lab_cli.command("add")
@click.argument("name")
@click.option("--district", required=True, help="Six-digit Jiangxi district code, e.g. 360102.")
@click.option(
    "--public-key", default="", help="The lab's Ed25519 public key, base64url (32 bytes)."
)
def lab_add(name, district, public_key) -> None:
    """Add a lab; its accounts are asked for at /admin/accounts (a second admin confirms)."""
    if district not in divisions.jiangxi_district_codes():
        raise click.BadParameter("not a Jiangxi district code", param_hint="--district")
    key = None
    if public_key:
        key = base64.urlsafe_b64decode(public_key + "=" * (-len(public_key) % 4))
        if len(key) != 32:
            raise click.BadParameter("an Ed25519 public key is 32 bytes", param_hint="--public-key")
    lab = results.add_lab(name, district, key)
    click.echo(f"lab {lab.id}: {lab.name}")


@lab_cli.command("token")
@click.argument("phone")
@click.option("--label", default="")
def lab_token(phone, label) -> None:
    """Make an API token for a lab account (shown once, stored hashed)."""
    account = find_by_phone(identity.normalise_phone(phone))
    if account is None or account.role != "lab" or account.lab_id is None:
        raise click.BadParameter("no lab account with this number", param_hint="PHONE")
    click.echo(results.new_api_token(account, label))
