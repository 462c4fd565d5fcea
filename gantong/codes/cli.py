"""`flask gantong keys ...`, `issuer ...` (the trust list) and `partner-demo`."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from gantong.codes import keys, trust_list
from gantong.core import rules, tokens
from gantong.extensions import db
from gantong.models import utcnow

issuer_cli = AppGroup(
    "issuer", help="The trust list: other issuers whose codes our checkpoints accept."
)

DEMO_PARTNER = {"name": "南昌市电子健康码", "region": "南昌市"}
DEMO_KEY_FILE = "partner_demo_key.json"


def _moment(value: str | None, end_of_day: bool = False) -> datetime | None:
    """Read an ISO date or datetime; a bare date is a day in Asia/Shanghai."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO date or datetime: {value!r}") from None
    if len(value) == 10:  # a date: from its first moment, or through its last
        day = parsed.date() + timedelta(days=1 if end_of_day else 0)
        return rules.day_start(day)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=rules.SHANGHAI)


@issuer_cli.command("add")
@click.argument("name")
@click.option("--region", default="", help="Where the issuer's codes come from, e.g. 南昌市.")
@click.option(
    "--jwk", "jwk_text", help="The issuer's Ed25519 public key as a JWK (JSON), with its kid."
)
@click.option("--jwk-file", type=click.File("r"), help="A file holding the JWK.")
@click.option("--kid", default=None, help="The key id, if the JWK has no kid.")
@click.option(
    "--valid-from", default=None, help="ISO date or datetime (Asia/Shanghai); default now."
)
@click.option("--valid-to", default=None, help="ISO date (trusted through that day) or datetime.")
def issuer_add(name, region, jwk_text, jwk_file, kid, valid_from, valid_to) -> None:
    """Put an issuer on the trust list."""
    if bool(jwk_text) == bool(jwk_file):
        raise click.UsageError("give the public key with exactly one of --jwk or --jwk-file")
    jwk = jwk_file.read() if jwk_file else jwk_text
    try:
        issuer = trust_list.add_issuer(
            name, region, jwk, _moment(valid_from), _moment(valid_to, end_of_day=True), kid=kid
        )
    except trust_list.IssuerError as error:
        detail = f" ({error.detail})" if error.detail else ""
        raise click.ClickException(f"{error.field or 'issuer'}: {error}{detail}") from None
    click.echo(f"issuer {issuer.id}: {issuer.name} ({issuer.kid})")


@issuer_cli.command("list")
def issuer_list() -> None:
    """List the trust list and whether each issuer's codes are accepted now."""
    now = utcnow()
    for issuer in trust_list.list_issuers():
        until = f"{issuer.valid_to:%Y-%m-%d %H:%M}" if issuer.valid_to else "open"
        click.echo(
            f"{issuer.id:4}  {issuer.kid}  {trust_list.state(issuer, now):13}  "
            f"{issuer.valid_from:%Y-%m-%d %H:%M} .. {until}  {issuer.name}  {issuer.region}"
        )


@issuer_cli.command("deactivate")
@click.argument("issuer_id", type=int)
@click.option("--reason", default="", help="Why, for the audit trail.")
def issuer_deactivate(issuer_id, reason) -> None:
    """Stop accepting an issuer's codes."""
    _set_active(issuer_id, False, reason)


@issuer_cli.command("activate")
@click.argument("issuer_id", type=int)
@click.option("--reason", default="", help="Why, for the audit trail.")
def issuer_activate(issuer_id, reason) -> None:
    """Accept an issuer's codes again (within its validity)."""
    _set_active(issuer_id, True, reason)


def _set_active(issuer_id: int, active: bool, reason: str) -> None:
    try:
        issuer = trust_list.set_active(issuer_id, active, reason=reason)
    except trust_list.IssuerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"issuer {issuer.id}: {issuer.name} {'active' if issuer.active else 'inactive'}")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _demo_partner_key():
    """Return (kid, private key) of the demo partner, kept in the instance folder.

    The partner is another system: its private key never goes into our database.
    """
    path = current_app.config.get("PARTNER_DEMO_KEY_FILE") or os.path.join(
        current_app.instance_path, DEMO_KEY_FILE
    )
    if os.path.exists(path):
        with open(path) as handle:
            stored = json.load(handle)
        issuer = trust_list.by_kid(stored["kid"])
        if issuer is not None:
            raw = base64.urlsafe_b64decode(stored["d"] + "=")
            return issuer, Ed25519PrivateKey.from_private_bytes(raw)
    private = tokens.generate_private_key()
    kid = tokens.new_kid()
    while trust_list.kid_taken(kid):
        kid = tokens.new_kid()
    issuer = trust_list.add_issuer(
        DEMO_PARTNER["name"], DEMO_PARTNER["region"], tokens.jwk(private.public_key(), kid)
    )
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"kid": kid, "d": _b64url(raw)}, handle)
    return issuer, private


@click.command("partner-demo")
@with_appcontext
# By value: click would offer an enum's member names (GREEN) instead.
@click.option(
    "--colour",
    type=click.Choice([colour.value for colour in tokens.COLOURS]),
    default=tokens.GREEN.value,
    show_default=True,
)
@click.option(
    "--ttl",
    type=click.IntRange(1, 7 * 24 * 3600),
    default=3600,
    show_default=True,
    help="Seconds the token lives.",
)
@click.option(
    "--png",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the token's QR code to this PNG file (for the scanner's photo lane).",
)
def partner_demo(colour, ttl, png) -> None:
    """Put a demo partner issuer on the trust list (once) and print one of its tokens."""
    import segno

    issuer, private = _demo_partner_key()
    token = tokens.Token(
        type=tokens.SCREEN,
        kid=issuer.kid,
        subject=tokens.new_subject(),
        colour=colour,
        issued_at=int(utcnow().timestamp()),
        ttl=ttl,
    )
    text = tokens.sign(token, private)
    click.echo(
        f"partner {issuer.id}: {issuer.name} ({issuer.region}), key {issuer.kid}, "
        f"{trust_list.state(issuer)}"
    )
    click.echo(f"code id {token.subject}, {colour}, valid {ttl} s")
    click.echo(text)
    if png:
        segno.make_qr(text, error="m", boost_error=False).save(png, scale=8, border=4)
        click.echo(f"QR written to {png}")


keys_cli = AppGroup("keys", help="Signing keys.")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key at once (an emergency); the previous key keeps verifying.

    A prepared next key that has not taken over yet is cancelled (retired): the emergency wins.
    """
    rotation = keys.rotate()
    click.echo(f"new signing key {rotation.kid}, signing now on every host")
    for kid in rotation.stopped:
        click.echo(
            f"key {kid} stopped signing and still verifies; if it leaked, retire it now: "
            f"flask gantong keys retire {kid} --force"
        )
    for kid in rotation.cancelled:
        click.echo(f"prepared key {kid} cancelled (retired: it had signed nothing)")


@keys_cli.command("prepare")
def keys_prepare() -> None:
    """Publish the next signing key now; it signs once every cached verifier has it."""
    key = keys.prepare_next()
    click.echo(
        f"next signing key {key.kid}, published now, signs from {key.signs_from.isoformat()}"
    )


@keys_cli.command("retire")
@click.argument("kid")
@click.option(
    "--force", is_flag=True, help="Retire even though live paper codes depend on the key."
)
def keys_retire(kid, force) -> None:
    """End a key: its codes are refused from now on; refused while live paper codes depend on it."""
    try:
        dependants = keys.retire(kid, force=force)
    except keys.KeyNotRetirable as error:
        raise click.ClickException(str(error)) from None
    except keys.KeyInUse as error:
        click.echo(
            f"refused: {len(error.paper_codes)} live paper codes depend on key {kid}; "
            "reprint them first (or retire with --force):",
            err=True,
        )
        for paper in error.paper_codes:
            click.echo(
                f"  {paper.serial}  holder {paper.holder_id}  expires {paper.expires_at:%Y-%m-%d}",
                err=True,
            )
        raise SystemExit(1) from None
    click.echo(f"key {kid} retired: its codes are refused from now on")
    for paper in dependants:
        click.echo(f"  no longer valid: paper code {paper.serial} (holder {paper.holder_id})")
    if dependants:
        # A retired key's paper code no longer counts as live, so the next print makes a new one.
        click.echo(
            f"{len(dependants)} paper codes orphaned: their holders (or an officer at "
            "/entry/people/<holder id>/paper) print a new one, signed by the key that signs now"
        )


@keys_cli.command("list")
def keys_list() -> None:
    """List the signing keys and their state."""
    from gantong.models import SigningKey

    for key in db.session.scalars(db.select(SigningKey).order_by(SigningKey.created_at)):
        state = "retired" if key.retired_at else ("signing" if key.signing else "verifying")
        line = f"{key.kid}  {state:9}  created {key.created_at:%Y-%m-%d %H:%M}"
        if state == "verifying" and key.signs_from and key.stopped_at is None:
            line += f"  prepared: signs from {key.signs_from:%Y-%m-%d %H:%M}"
        click.echo(line)
