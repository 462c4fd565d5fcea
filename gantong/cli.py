"""flask gantong ...: demo data, colour recompute, signing keys."""
from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from . import accounts, holders, keys, points, rules
from .extensions import db
from .models import RiskArea, utcnow

gantong_cli = AppGroup("gantong", help="Gantong Code operations.")

DEMO_PASSWORD = "gantong-demo"
DEMO_DISTRICT = "360102"  # 东湖区, 南昌市

# (phone, role, extra account fields, holder identity or None, declaration or None)
DEMO_ACCOUNTS = [
    ("13900000001", "resident", {}, ("张三", "360102199001011234"), None),
    ("13900000005", "resident", {}, ("李小红", "360102198505052345"), "fever"),
    ("13900000006", "resident", {}, ("王五", "360102197707073456"), "close_contact"),
    ("13900000002", "staff", {"point": "demo"}, None, None),
    ("13900000003", "officer",
     {"district_code": DEMO_DISTRICT, "badge_number": "DH-0301", "department": "东湖区疾控中心"},
     None, None),
    ("13900000007", "officer",
     {"district_code": DEMO_DISTRICT, "badge_number": "DH-0307", "department": "东湖区疾控中心"},
     None, None),
    ("13900000004", "admin", {}, None, None),
]

SEED_RISK_AREAS = [("42", "湖北省", 14)]
DEMO_POINT = {"name": "南昌站北广场", "district_code": DEMO_DISTRICT, "address": "南昌市东湖区二七北路 1 号",
              "latitude": 28.6654, "longitude": 115.9096}


def seed_risk_areas() -> None:
    """Add the seeded key areas (Hubei) unless an area with that code exists."""
    for code, name, days in SEED_RISK_AREAS:
        if db.session.scalar(db.select(RiskArea).where(RiskArea.code == code)) is None:
            db.session.add(RiskArea(code=code, name=name, days=days))
    db.session.commit()


def _with_check_digit(first17: str) -> str:
    from .identity import check_digit

    return first17 + check_digit(first17)


@gantong_cli.command("demo")
def demo() -> None:
    """Create the demo accounts and holders (idempotent) and print the logins."""
    seed_risk_areas()
    keys.signing_key()
    point = points.find_by_name(DEMO_POINT["name"]) or points.add_point(**DEMO_POINT)
    for phone, role, fields, person, declaration in DEMO_ACCOUNTS:
        e164 = "+86" + phone
        fields = dict(fields)
        if fields.pop("point", None):
            fields["point_id"] = point.id
        user = accounts.find_by_phone(e164) or accounts.register(
            e164, DEMO_PASSWORD, role=role, **fields
        )
        if person and not user.holders:
            name, number = person
            number = _with_check_digit(number[:17])
            holder = holders.add_holder(
                user,
                holders.Identity(name=name, doc_type="resident_id", doc_number=number,
                                 doc_country="", nationality="CN", district_code=DEMO_DISTRICT,
                                 address="南昌市东湖区八一大道 1 号"),
                is_self=True,
            )
            today = rules.local_date(utcnow())
            facts = holders.DeclarationFacts(symptoms=[], close_contact=False, contact_date=None)
            if declaration == "fever":
                facts.symptoms = ["fever", "dry_cough"]
            elif declaration == "close_contact":
                facts.close_contact = True
                facts.contact_date = today - timedelta(days=3)
            holders.declare(holder, facts, author=user)
        click.echo(f"{role:9} {phone}  password {DEMO_PASSWORD}")


@gantong_cli.command("recompute")
def recompute() -> None:
    """Refresh every stored colour (for hits that end with time); run it from cron."""
    changed = holders.recompute_all()
    click.echo(f"{changed} colours changed")


keys_cli = AppGroup("keys", help="Signing keys.")
gantong_cli.add_command(keys_cli)


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the previous key keeps verifying."""
    key = keys.rotate()
    click.echo(f"new signing key {key.kid}")


@keys_cli.command("retire")
@click.argument("kid")
@click.option("--force", is_flag=True, help="Retire even though live paper codes depend on the key.")
def keys_retire(kid, force) -> None:
    """End a key: its codes are refused from now on; refused while live paper codes depend on it."""
    try:
        dependants = keys.retire(kid, force=force)
    except keys.KeyNotRetirable as error:
        raise click.ClickException(str(error)) from None
    except keys.KeyInUse as error:
        click.echo(f"refused: {len(error.paper_codes)} live paper codes depend on key {kid}; "
                   "reprint them first (or retire with --force):", err=True)
        for paper in error.paper_codes:
            click.echo(f"  {paper.serial}  holder {paper.holder_id}  expires {paper.expires_at:%Y-%m-%d}", err=True)
        raise SystemExit(1) from None
    click.echo(f"key {kid} retired")
    for paper in dependants:
        click.echo(f"  no longer valid: paper code {paper.serial} (holder {paper.holder_id})")


@keys_cli.command("list")
def keys_list() -> None:
    """List the signing keys and their state."""
    from .models import SigningKey

    for key in db.session.scalars(db.select(SigningKey).order_by(SigningKey.created_at)):
        state = "retired" if key.retired_at else ("signing" if key.signing else "verifying")
        click.echo(f"{key.kid}  {state:9}  created {key.created_at:%Y-%m-%d %H:%M}")


point_cli = AppGroup("point", help="Information points.")
gantong_cli.add_command(point_cli)


@point_cli.command("add")
@click.argument("name")
@click.option("--district", required=True, help="Six-digit Jiangxi district code, e.g. 360102.")
@click.option("--address", default="")
@click.option("--lat", type=float, default=None)
@click.option("--lon", type=float, default=None)
def point_add(name, district, address, lat, lon) -> None:
    """Add an information point."""
    from . import divisions

    if district not in divisions.jiangxi_district_codes():
        raise click.BadParameter("not a Jiangxi district code", param_hint="--district")
    point = points.add_point(name=name, district_code=district, address=address, latitude=lat, longitude=lon)
    click.echo(f"point {point.id}: {point.name}")


@point_cli.command("token")
@click.argument("point_id", type=int)
@click.option("--label", default="")
def point_token(point_id, label) -> None:
    """Make a per-point API token for /api/v1/verify; it is shown once, stored hashed."""
    token = points.new_api_token(point_id, label)
    click.echo(token)


staff_cli = AppGroup("staff", help="Checkpoint staff accounts.")
gantong_cli.add_command(staff_cli)


@staff_cli.command("add")
@click.argument("phone")
@click.option("--point", "point_id", type=int, required=True)
@click.password_option()
def staff_add(phone, point_id, password) -> None:
    """Create a staff account bound to one information point."""
    from . import identity
    from .models import InformationPoint

    if db.session.get(InformationPoint, point_id) is None:
        raise click.BadParameter("no such point", param_hint="--point")
    user = accounts.register(identity.normalise_phone(phone), password, role="staff", point_id=point_id)
    click.echo(f"staff {user.phone} at point {point_id}")


audit_cli = AppGroup("audit", help="The audit trail.")
gantong_cli.add_command(audit_cli)


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; name the first broken event and print the head hash."""
    from . import audit

    check = audit.verify_chain()
    if check.ok:
        click.echo(f"ok: {check.count} events; head hash {check.head_hash}")
        click.echo("Keep the head hash somewhere else: deleting the newest events shows only against it.")
    else:
        click.echo(f"BROKEN at event {check.first_broken}: {check.problem}")
        click.echo(f"{check.count} events verified before it; last good hash {check.head_hash}")
        raise SystemExit(1)
