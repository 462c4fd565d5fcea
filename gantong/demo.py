"""Demo data: the accounts, holders, point and key of the README (idempotent)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from gantong.auth import accounts
from gantong.checkpoint import points
from gantong.codes import keys
from gantong.core import rules
from gantong.extensions import db
from gantong.holders import registry
from gantong.labs import results as lab_results
from gantong.models import Lab, RiskArea, utcnow

DEMO_PASSWORD = "gantong-demo"
DEMO_DISTRICT = "360102"  # 东湖区, 南昌市

# (phone, role, extra account fields, holder identity or None, declaration or None)
DEMO_ACCOUNTS = [
    ("13900000001", "resident", {}, ("张三", "360102199001011234"), "none"),
    ("13900000005", "resident", {}, ("李小红", "360102198505052345"), "fever"),
    ("13900000006", "resident", {}, ("王五", "360102197707073456"), "close_contact"),
    ("13900000002", "staff", {"point": "demo"}, None, None),
    (
        "13900000003",
        "officer",
        {"district_code": DEMO_DISTRICT, "badge_number": "DH-0301", "department": "东湖区疾控中心"},
        None,
        None,
    ),
    (
        "13900000007",
        "officer",
        {"district_code": DEMO_DISTRICT, "badge_number": "DH-0307", "department": "东湖区疾控中心"},
        None,
        None,
    ),
    ("13900000004", "admin", {}, None, None),
    # A second administrator: creating an officer, moving one or resetting one's password
    # needs two (nobody alone makes a code red).
    ("13900000008", "admin", {}, None, None),
    # A lab account of the demo lab (issue 22): it posts results with its API token.
    ("13900000009", "lab", {"lab": "demo"}, None, None),
]

DEMO_LAB = {"name": "南昌市第一医院检验科", "district_code": DEMO_DISTRICT}
# The demo lab's results: (resident's number, sample id, hours since sampling), all negative.
DEMO_RESULTS = [("13900000001", "DEMO-0001", 31), ("13900000005", "DEMO-0002", 20)]

SEED_RISK_AREAS = [("42", "湖北省", 14)]
DEMO_POINT = {
    "name": "南昌站北广场",
    "district_code": DEMO_DISTRICT,
    "address": "南昌市东湖区二七北路 1 号",
    "latitude": 28.6654,
    "longitude": 115.9096,
}


def seed_risk_areas() -> None:
    """Add the seeded key areas (Hubei) unless an area with that code exists."""
    for code, name, days in SEED_RISK_AREAS:
        if db.session.scalar(db.select(RiskArea).where(RiskArea.code == code)) is None:
            db.session.add(RiskArea(code=code, name=name, days=days))
    db.session.flush()


def _with_check_digit(first17: str) -> str:
    from gantong.core.identity import check_digit

    return first17 + check_digit(first17)


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create the demo accounts and holders (idempotent) and print the logins."""
    seed_risk_areas()
    keys.signing_key()
    point = points.find_by_name(DEMO_POINT["name"]) or points.add_point(**DEMO_POINT)
    lab = db.session.scalar(db.select(Lab).where(Lab.name == DEMO_LAB["name"]))
    lab = lab or lab_results.add_lab(**DEMO_LAB)
    rows = []
    for phone, role, fields, person, declaration in DEMO_ACCOUNTS:
        e164 = "+86" + phone
        fields = dict(fields)
        if fields.pop("point", None):
            fields["point_id"] = point.id
        if fields.pop("lab", None):
            fields["lab_id"] = lab.id
        user = accounts.find_by_phone(e164) or accounts.register(
            e164, DEMO_PASSWORD, role=role, **fields
        )
        if person and not user.holders:
            name, number = person
            number = _with_check_digit(number[:17])
            holder = registry.add_holder(
                user,
                registry.Identity(
                    name=name,
                    doc_type="resident_id",
                    doc_number=number,
                    doc_country="",
                    nationality="CN",
                    district_code=DEMO_DISTRICT,
                    address="南昌市东湖区八一大道 1 号",
                ),
                is_self=True,
            )
            today = rules.local_date(utcnow())
            facts = registry.DeclarationFacts(symptoms=[], close_contact=False, contact_date=None)
            if declaration == "fever":
                facts.symptoms = ["fever", "dry_cough"]
            elif declaration == "close_contact":
                facts.close_contact = True
                facts.contact_date = today - timedelta(days=3)
            registry.declare(holder, facts, author=user)
        rows.append((phone, role, DEMO_NOTES[declaration or role]))
    _post_demo_results(lab)
    click.echo(login_table(rows))


def _post_demo_results(lab: Lab) -> None:
    """The demo lab posts its results as a lab does (stored once: the demo runs again)."""
    account = accounts.find_by_phone("+86" + DEMO_ACCOUNTS[-1][0])
    if not lab_results.api_tokens(lab):
        lab_results.new_api_token(account, "demo")
    now = utcnow()
    batch = []
    for phone, sample_id, hours in DEMO_RESULTS:
        holder = accounts.find_by_phone("+86" + phone).holders[0]
        sampled = now - timedelta(hours=hours)
        batch.append(
            {
                "doc_type": holder.doc_type,
                "doc_number": holder.doc_number,
                "sample_id": sample_id,
                "sampled_at": sampled.isoformat(),
                "resulted_at": (sampled + timedelta(hours=6)).isoformat(),
                "test_type": "pcr",
                "result": "negative",
            }
        )
    lab_results.post_batch(lab, account, batch, now)


# What the login table says of each account.
DEMO_NOTES = {
    "none": "green code",
    "fever": "yellow code: fever declared",
    "close_contact": "red code: close contact",
    "staff": f"checkpoint {DEMO_POINT['name']}",
    "officer": f"district {DEMO_DISTRICT} 东湖区",
    "admin": "administrator",
    "lab": f"lab {DEMO_LAB['name']}",
}


def login_table(rows: list[tuple[str, str, str]]) -> str:
    """The demo logins as one aligned table: every role logs in at /login."""
    header = (
        "mobile number",
        "role",
        "what",
    )
    lines = [f"Demo logins (password {DEMO_PASSWORD}); every role logs in at /login:", ""]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(2)]
    for phone, role, note in [header, *rows]:
        lines.append(f"  {phone:<{widths[0]}}  {role:<{widths[1]}}  {note}")
    return "\n".join(lines)
