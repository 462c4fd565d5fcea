"""What the administrator's pages show in words: account roles, the audit trail, and the
CSV exports' columns and cells."""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from gantong import audit_heads
from gantong.checkpoint.labels import POSITION_SOURCES
from gantong.core.kinds import AuditAction, CheckMethod, Colour, Decision
from gantong.review.labels import GROUNDS_LABELS, REQUEST_STATES
from gantong.web.labels import kind_label

# The audit trail in words: account roles and subject types; the action codes (AuditAction)
# stay the stable ids for filters and exports.
ACCOUNT_ROLES = {
    "resident": _l("Resident"),
    "staff": _l("Checkpoint staff"),
    "officer": _l("District officer"),
    "admin": _l("Administrator"),
}

AUDIT_SUBJECTS = {
    "holder": _l("person"),
    "user": _l("account"),
    "point": _l("information point"),
    "application": _l("application"),
    "claim": _l("claim"),
    "official_record": _l("official record"),
    "verification_record": _l("verification records"),
    "export": _l("export"),
    "risk_area": _l("key area"),
    "trusted_issuer": _l("trusted issuer"),
    "dcc_signer": _l("EU DCC signer"),
    "shc_issuer": _l("SMART Health Card issuer"),
    "signing_key": _l("signing key"),
    "account_change": _l("account change awaiting a second administrator"),
    "district": _l("district"),
    "declaration": _l("declaration"),
    "identity_check": _l("identity check in person"),
    "device": _l("phone"),
    "lab": _l("lab"),
    "venue": _l("venue"),
    "venue_code": _l("venue code"),
}

# The chain check names its problem in English (the CLI prints it as is): the page shows it in
# the user's language.
CHAIN_PROBLEMS = {
    "does not follow the event before it": _l("it does not follow the event before it"),
    "its content was changed": _l("its content was changed"),
}


# A kept head that is not ours is refused with an English reason (the CLI prints it as is).
KEPT_HEAD_REFUSALS = {
    "not a signed head": _l("it is neither a head hash nor the JSON of a signed head"),
    "signed with a key that is not ours": _l("it is signed with a key that is not ours"),
    "the signature does not verify": _l("its signature does not verify"),
}


def kept_head_refusal(refusal: str) -> str:
    return str(KEPT_HEAD_REFUSALS.get(refusal, refusal))


def kept_head_problem(result) -> str:
    """Why the chain does not hold a kept head (an audit_heads.HeadCheck), in the user's language."""
    if result.reason == audit_heads.BROKEN:
        return _(
            "the chain is broken at event %(seq)s: %(problem)s",
            seq=result.chain.first_broken,
            problem=chain_problem(result.chain.problem),
        )
    if result.reason == audit_heads.NOT_GENESIS:
        return _("the kept head of an empty trail must be the genesis hash")
    if result.reason == audit_heads.NOT_HELD and result.seq is not None:
        return _(
            "the kept head %(hash)s… is not the hash of event %(seq)s: events up to it were "
            "deleted or changed",
            hash=result.kept_hash[:16],
            seq=result.seq,
        )
    if result.reason == audit_heads.NOT_HELD:
        return _(
            "the kept head %(hash)s… is not the hash of any event: events up to it were deleted "
            "or changed",
            hash=result.kept_hash[:16],
        )
    return result.problem


def account_role(role: str) -> str:
    return str(ACCOUNT_ROLES.get(role, role))


def audit_action(action: str) -> str:
    return kind_label(AuditAction, action)


def audit_subject(subject_type: str) -> str:
    return str(AUDIT_SUBJECTS.get(subject_type, subject_type))


def chain_problem(problem: str) -> str:
    missing = re.fullmatch(r"expected event (\d+), found (\d+) \(deleted or reordered\)", problem)
    if missing:
        return _(
            "event %(expected)s was expected, event %(found)s was found (deleted or reordered)",
            expected=missing.group(1),
            found=missing.group(2),
        )
    return str(CHAIN_PROBLEMS.get(problem, problem))


# CSV exports in the user's language: column names, and the stored codes of enumerated cells.
EXPORT_COLUMNS = {
    "record_id": _l("Record"),
    "verified_at": _l("Verified at"),
    "point_id": _l("Point no."),
    "point_name": _l("Point"),
    "point_district_code": _l("Point's district code"),
    "point_district": _l("Point's district"),
    "holder_id": _l("Person no."),
    "method": _l("Method"),
    "colour": _l("Colour"),
    "token_colour": _l("Colour the code showed"),
    "recorded_at": _l("Recorded at"),
    "temperature": _l("Temperature (°C)"),
    "decision": _l("Decision"),
    "note": _l("Note"),
    "position_source": _l("Position from"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "voided_at": _l("Voided at"),
    "void_reason": _l("Reason for voiding"),
    "paper_serial": _l("Paper code"),
    "issuer_id": _l("Issuer no."),
    "partner_code_id": _l("Partner's code"),
    "application_id": _l("Application no."),
    "created_at": _l("Filed at"),
    "holder_district_code": _l("Person's district code"),
    "holder_district": _l("Person's district"),
    "grounds": _l("Grounds"),
    "hit_keys": _l("Reasons to clear"),
    "test_date": _l("Test date"),
    "institution": _l("Institution"),
    "report_number": _l("Report number"),
    "isolation_end": _l("End of isolation"),
    "status": _l("State"),
    "decided_at": _l("Decided at"),
    "decided_by": _l("Decided by (account no.)"),
    "decision_reason": _l("Reason for the decision"),
}
# The stored codes of enumerated cells, each with its untranslated label or lazy label.
_CELL_LABELS = {
    "method": CheckMethod.labels(),
    "colour": Colour.labels(),
    "token_colour": Colour.labels(),
    "decision": Decision.labels(),
    "position_source": POSITION_SOURCES,
    "status": REQUEST_STATES,
    "grounds": GROUNDS_LABELS,
}


def export_header(columns) -> list[str]:
    return [str(EXPORT_COLUMNS.get(column, column)) for column in columns]


def export_cell(column: str, value):
    """The cell in the user's language; a code that has no label stays as it is."""
    if value in (None, ""):
        return value
    table = _CELL_LABELS.get(column)
    if table is None or value not in table:
        return value
    label = table[value]
    return _(label) if isinstance(label, str) else str(label)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        account_role=account_role,
        audit_action=audit_action,
        audit_subject=audit_subject,
        chain_problem=chain_problem,
        kept_head_problem=kept_head_problem,
    )
