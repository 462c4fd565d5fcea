"""Every translated label: stored keys turned into words in the user's language, for pages,
forms and messages alike (one module, so that no service needs a template helper)."""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

from babel import Locale
from flask import Flask
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from pypinyin import Style, lazy_pinyin

from gantong.core import identity, rules
from gantong.models import today
from gantong.web.assets import inline_css

SYMPTOM_LABELS = {
    "fever": _l("Fever"),
    "dry_cough": _l("Dry cough"),
    "fatigue": _l("Fatigue"),
    "sore_throat": _l("Sore throat"),
    "short_breath": _l("Shortness of breath"),
    "taste_smell_loss": _l("Loss of taste or smell"),
}

COLOUR_WORDS = {
    rules.GREEN: _l("Green code"),
    rules.YELLOW: _l("Yellow code"),
    rules.RED: _l("Red code"),
}

DOCUMENT_LABELS = {
    identity.DOC_RESIDENT_ID: _l("Resident identity card"),
    identity.DOC_PASSPORT: _l("Passport"),
    identity.DOC_PERMIT: _l("Hong Kong/Macao/Taiwan permit"),
}


# How a holder is related to the account's owner; the keys are registry.RELATIONS.
RELATION_LABELS = {
    "self": _l("Me"),
    "child": _l("Child"),
    "parent": _l("Parent"),
    "spouse": _l("Spouse"),
    "other": _l("Other relative"),
}


def relation_label(relation: str) -> str:
    return str(RELATION_LABELS.get(relation, relation))


def holder_label(holder) -> str:
    """The full name and the relation, for the account's owner: 张伟 (Child)."""
    return _("%(name)s (%(relation)s)", name=holder.name, relation=relation_label(holder.relation))


def family_relation_choices():
    return [(key, label) for key, label in RELATION_LABELS.items() if key != "self"]


def symptom_choices():
    return [(key, SYMPTOM_LABELS[key]) for key in rules.SYMPTOMS]


def document_types():
    return list(DOCUMENT_LABELS.items())


# Babel lists regions and groupings too (001, EU, UN...): keep two-letter country codes.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


# As a PRC government service names them (国务院客户端, 移民局): parts of China, not countries.
_CHINESE_NAMES = {"TW": "中国台湾", "HK": "中国香港", "MO": "中国澳门"}
_ENGLISH_NAMES = {"TW": "Taiwan, China", "HK": "Hong Kong, China", "MO": "Macao, China"}
# The commonest choices first (mainland, the three regions, then the commonest origins of
# travellers to Jiangxi); then every other country alphabetically (by pinyin in Chinese).
COMMONEST_COUNTRIES = ("CN", "HK", "MO", "TW", "US", "JP", "KR", "GB", "SG", "MY", "TH", "AU", "CA",
                       "DE", "FR", "RU")


def _sort_key(name: str, language: str) -> str:
    if language == "zh":
        return " ".join(lazy_pinyin(name, style=Style.TONE3))
    # "Åland Islands" with the A's, "Côte d’Ivoire" with the C's.
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=4)
def countries(language: str) -> list[tuple[str, str]]:
    """Return (ISO code, name) for every country: the commonest first, then by name (pinyin)."""
    names = dict(Locale.parse("zh_Hans_CN" if language == "zh" else "en").territories)
    names.update(_CHINESE_NAMES if language == "zh" else _ENGLISH_NAMES)
    codes = [c for c in names if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES]
    rest = sorted((c for c in codes if c not in COMMONEST_COUNTRIES), key=lambda c: _sort_key(names[c], language))
    return [(c, names[c]) for c in COMMONEST_COUNTRIES] + [(c, names[c]) for c in rest]


def country_name(code: str, language: str) -> str:
    return dict(countries(language)).get(code, code)


# Never colour alone: each colour has its own shape too.
SHAPES = {
    "green": '<svg class="shape" viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="9"/></svg>',
    "yellow": '<svg class="shape" viewBox="0 0 20 20" aria-hidden="true"><path d="M10 1 19 18H1z"/></svg>',
    "red": '<svg class="shape" viewBox="0 0 20 20" aria-hidden="true"><rect x="2" y="2" width="16" height="16"/></svg>',
}

RULE_NAMES = {
    "case": _l("official case record"),
    "close_contact": _l("close contact"),
    "symptoms": _l("symptoms declared"),
    "checkpoint_fever": _l("fever at a checkpoint"),
    "risk_area": _l("stay in a key area"),
    "overseas_entry": _l("entry from overseas"),
}

CASE_STATUSES = {
    "confirmed": _l("confirmed case"),
    "suspected": _l("suspected case"),
    "close_contact": _l("close contact"),
    "cleared": _l("cleared"),
}


def colour_word(colour: str) -> str:
    return str(COLOUR_WORDS.get(colour, colour))


def shape(colour: str) -> Markup:
    return Markup(SHAPES[colour])


def document_label(doc_type: str) -> str:
    return str(DOCUMENT_LABELS.get(doc_type, doc_type))


def symptom_names(keys) -> str:
    # Chinese lists take the enumeration comma.
    separator = "、" if str(get_locale() or "zh").startswith("zh") else ", "
    return separator.join(str(SYMPTOM_LABELS.get(key, key)) for key in keys)


def case_status(status: str) -> str:
    return str(CASE_STATUSES.get(status, status))


def change_reason(change) -> str:
    if not change.rules:
        return str(_l("no active reasons")) if change.before else str(_l("code created"))
    return ", ".join(str(RULE_NAMES.get(rule, rule)) for rule in change.rules.split(","))


def moment_seconds(value) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        colour_word=colour_word, shape=shape, document_label=document_label,
        symptom_names=symptom_names, case_status=case_status, change_reason=change_reason,
        inline_css=inline_css, decision_label=decision_label, refusal_title=refusal_title,
        refusal_advice=refusal_advice,
    )
    app.jinja_env.filters.update(mask_name=identity.mask_name, moment_seconds=moment_seconds)
    init_review_helpers(app)
    init_staff_helpers(app)


DECISION_LABELS = {
    "pass": _l("Pass"),
    "refer": _l("Refer to medical staff"),
    "deny": _l("Deny entry"),
}

# What each refusal means, and what the volunteer should do about it.
REFUSALS = {
    "expired": (
        _l("Expired code"),
        _l("The code is older than its time to live: it may be a screenshot. Ask the person to refresh the code page and scan again."),
    ),
    "bad_signature": (
        _l("Forged or altered code"),
        _l("The signature does not match: this code was not issued as shown. Do not accept it; check the person's document in the no-code lane and tell the officer on duty."),
    ),
    "unknown_key": (
        _l("Code from an unknown issuer"),
        _l("The code was signed by a key we do not trust. Ask for their Gantong code, or check their document in the no-code lane."),
    ),
    "not_yet_valid": (
        _l("Code from the future"),
        _l("The code's time is ahead of ours: the phone's clock may be wrong. Ask the person to correct the clock and refresh the code."),
    ),
    "malformed": (
        _l("Unreadable code"),
        _l("This is not a health code we can read. Scan again, type the 8-digit number, or check the document in the no-code lane."),
    ),
    "unknown_holder": (
        _l("Code no longer in use"),
        _l("The code is genuine but has been replaced. Ask the person to open their current code."),
    ),
    "photo_unreadable": (
        _l("Not a picture"),
        _l("The file could not be opened as a picture. Take the photo again."),
    ),
    "photo_no_code": (
        _l("No code in the photo"),
        _l("No QR code was found in the photo. Take it again closer and sharper, or type the number."),
    ),
    "number_format": (
        _l("Not an 8-digit number"),
        _l("The number under the code has 8 digits. Type it again."),
    ),
    "number_unknown": (
        _l("Number not found"),
        _l("No code shows this number now. Check the digits: the number changes every minute."),
    ),
    "number_ambiguous": (
        _l("Number shown by more than one code"),
        _l("This number is on two codes this minute. Scan the QR instead, or wait a minute for a new number."),
    ),
    "no_code": (
        _l("No code yet"),
        _l("This person has registered but has not made a health declaration, so there is no code. Ask them to declare on their phone first."),
    ),
    "no_match": (
        _l("No holder found"),
        _l("No holder has this document number with this name. Check both; the person may need to register."),
    ),
    "key_retired": (
        _l("Code signed by a retired key"),
        _l("This code was signed by a key that is no longer in use. Ask the person to refresh their code; a paper code must be printed again."),
    ),
    "paper_revoked": (
        _l("Paper code reported lost"),
        _l("This paper code was reported lost and replaced by a new one. Do not accept it: ask for the current code, or check the document in the no-code lane."),
    ),
    "paper_unknown": (
        _l("Unknown paper code"),
        _l("No paper code with this serial was issued here. Ask for the current code, or check the document in the no-code lane."),
    ),
    "issuer_inactive": (
        _l("Issuer no longer recognised"),
        _l("This code comes from an issuer that is no longer on our trust list. Ask for a Gantong code, or check the document in the no-code lane."),
    ),
    "issuer_expired": (
        _l("Issuer's recognition has ended"),
        _l("This code comes from an issuer whose recognition period has ended. Ask for a Gantong code, or check the document in the no-code lane."),
    ),
    "issuer_not_yet_valid": (
        _l("Issuer not recognised yet"),
        _l("This code comes from an issuer whose recognition has not started yet. Ask for a Gantong code, or check the document in the no-code lane."),
    ),
    "over_partner_cap": (
        _l("Partner code too old"),
        _l("Codes of other issuers are accepted for a short time only after they are made: this one is older. Ask the person to refresh their code."),
    ),
    "bundle_stale": (
        _l("Verifier keys too old"),
        _l("This phone's copy of the keys is more than a day old, so it cannot check codes on its own. Connect to the network to refresh it, or use the typed number when the server is back."),
    ),
    "needs_server": (
        _l("Needs the server"),
        _l("The typed number and the no-code lane need the server, which cannot be reached now. Scan the QR code instead."),
    ),
    "partner_paper": (
        _l("Paper code of another issuer"),
        _l("A paper code from another issuer carries no colour, and we hold no record of its holder. Ask for their electronic code or a Gantong code."),
    ),
}


def decision_label(decision: str | None) -> str:
    return str(DECISION_LABELS.get(decision, decision or ""))


def refusal_title(reason: str) -> str:
    return str(REFUSALS.get(reason, REFUSALS["malformed"])[0])


def refusal_advice(reason: str) -> str:
    return str(REFUSALS.get(reason, REFUSALS["malformed"])[1])


# Transparency and review: who changed a code, and the states of applications, claims and records.

GROUNDS_LABELS = {
    "isolation_completed": _l("Isolation completed"),
    "negative_test": _l("Negative nucleic-acid test"),
    "other": _l("Other"),
}

REQUEST_STATES = {
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
    "in_force": _l("In force"),
}

QUEUE_KINDS = {
    "application": _l("Transcoding application"),
    "claim": _l("Claim"),
    "official": _l("Official record"),
}


def officer_label(user) -> str:
    """Return an officer's department and badge number, as the holder sees them."""
    if user is None:
        return ""
    return str(_l("%(department)s, badge %(badge)s", department=user.department or "",
                  badge=user.badge_number or ""))


def change_by(change) -> str:
    """Say who made a colour change: an officer's department and badge, or where it came from."""
    actor = change.actor
    if actor is None:
        return str(_l("automatic")) if change.before else ""
    if actor.role == "officer":
        return officer_label(actor)
    if actor.role == "staff":
        return str(_l("checkpoint"))
    return str(_l("own declaration"))


def change_why(change) -> str:
    """Return the rules behind a colour change, and the deciding officer's words if any."""
    why = change_reason(change)
    return str(_l("%(rules)s: %(reason)s", rules=why, reason=change.reason)) if change.reason else why


def hit_rule(key: str) -> str:
    """Name the rule of a hit from its key (for hits that are no longer active)."""
    rule = key.split(":", 1)[0]
    return str(RULE_NAMES.get(rule, rule)) if key else str(_l("something else"))


def grounds_label(grounds: str) -> str:
    return str(GROUNDS_LABELS.get(grounds, grounds))


def state_label(state: str) -> str:
    return str(REQUEST_STATES.get(state, state))


def queue_kind(kind: str) -> str:
    return str(QUEUE_KINDS.get(kind, kind))


def correction_label(correction: str) -> str:
    """Say what an accepted claim wrote, from its "kind:id" reference."""
    kind, _sep, number = correction.partition(":")
    labels = {
        "declaration": _l("a new declaration (no. %(number)s) without the wrong fact", number=number),
        "official": _l("an official record \"cleared\" (no. %(number)s)", number=number),
        "clearance": _l("the fact was cleared"),
    }
    return str(labels.get(kind, correction))


def notification_text(notification, with_reason: bool = True) -> str:
    """Return the notification's text in the current language (kinds: holders/notifications.py);
    the SMS leaves the officer's reason out and links to the notification instead."""
    params = json.loads(notification.params or "{}")
    person = params.get("person", "")
    reason = params.get("reason") or ""
    if notification.kind == "colour_change":
        text = _("The code of %(person)s changed from %(before)s to %(after)s.", person=person,
                 before=_colour_word(params.get("before")), after=_colour_word(params.get("after")))
    elif notification.kind == "application_decided":
        if params.get("status") == "approved":
            text = _("Transcoding application no. %(number)s for %(person)s was approved.",
                     number=params.get("number"), person=person)
        else:
            text = _("Transcoding application no. %(number)s for %(person)s was rejected.",
                     number=params.get("number"), person=person)
    elif notification.kind == "claim_decided":
        if params.get("status") == "accepted":
            text = _("Claim no. %(number)s for %(person)s was accepted.", number=params.get("number"),
                     person=person)
        else:
            text = _("Claim no. %(number)s for %(person)s was rejected.", number=params.get("number"),
                     person=person)
    elif notification.kind == "official_record":
        text = _("An official record about %(person)s is in force: %(status)s, legal basis %(basis)s "
                 "(%(department)s, badge %(badge)s).", person=person,
                 status=case_status(params.get("status", "")), basis=params.get("basis", ""),
                 department=params.get("department", ""), badge=params.get("badge", ""))
    else:
        text = notification.kind
    if reason and with_reason:
        text = _("%(message)s Reason: %(reason)s", message=text, reason=reason)
    return text


def _colour_word(colour: str | None) -> str:
    return str(COLOUR_WORDS.get(colour, colour or ""))


def init_review_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        officer_label=officer_label, change_by=change_by, change_why=change_why, hit_rule=hit_rule,
        grounds_label=grounds_label, state_label=state_label, queue_kind=queue_kind,
        notification_text=notification_text, correction_label=correction_label,
        local_today=today, relation_label=relation_label, holder_label=holder_label,
    )


# The audit trail in words: stored action codes, subject types and account roles; the codes stay
# the stable ids for filters and exports.
ACCOUNT_ROLES = {
    "resident": _l("Resident"),
    "staff": _l("Checkpoint staff"),
    "officer": _l("District officer"),
    "admin": _l("Administrator"),
}

AUDIT_ACTIONS = {
    "account.create": _l("account created"),
    "account.update": _l("account changed"),
    "account.deactivate": _l("account deactivated"),
    "account.reactivate": _l("account reactivated"),
    "account.password_change": _l("password changed"),
    "account.password_reset": _l("password reset"),
    "account.password_reset_blocked": _l("password reset blocked after wrong codes"),
    "account.change_confirm": _l("account change confirmed by a second administrator"),
    "account.change_reject": _l("account change rejected by a second administrator"),
    "code.issue": _l("code issued"),
    "hotline.set": _l("district hotline set"),
    "application.create": _l("application filed"),
    "application.withdraw": _l("application withdrawn"),
    "application.approve": _l("application approved"),
    "application.reject": _l("application rejected"),
    "claim.create": _l("claim filed"),
    "claim.withdraw": _l("claim withdrawn"),
    "claim.accept": _l("claim accepted"),
    "claim.reject": _l("claim rejected"),
    "checkpoint.void": _l("checkpoint record voided"),
    "checkpoint.no_code_lookup": _l("looked up a person without a code"),
    "colour.change": _l("code colour changed"),
    "export.verification_records": _l("verification records exported"),
    "export.applications": _l("applications exported"),
    "holder.create": _l("person added"),
    "issuer.add": _l("trusted issuer added"),
    "issuer.update": _l("trusted issuer changed"),
    "issuer.activate": _l("trusted issuer put back in use"),
    "issuer.deactivate": _l("trusted issuer taken out of use"),
    "key.rotate": _l("signing key rotated"),
    "key.prepare": _l("next signing key published"),
    "key.retire": _l("signing key retired"),
    "official.record": _l("official record entered"),
    "official.approve": _l("official record approved"),
    "official.reject": _l("official record rejected"),
    "paper.issue": _l("paper code issued"),
    "paper.revoke": _l("paper code revoked"),
    "point.create": _l("information point added"),
    "point.update": _l("information point changed"),
    "point.deactivate": _l("information point taken out of use"),
    "point.reactivate": _l("information point put back in use"),
    "point.api_token.create": _l("API token made"),
    "point.api_token.revoke": _l("API token revoked"),
    "preentry.register": _l("pre-entry registration"),
    "preentry.arrival": _l("arrival noted"),
    "retention.purge": _l("expired records purged"),
    "risk_area.create": _l("key area added"),
    "risk_area.update": _l("key area changed"),
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
    "signing_key": _l("signing key"),
    "account_change": _l("account change awaiting a second administrator"),
    "district": _l("district"),
}

# The chain check names its problem in English (the CLI prints it as is): the page shows it in
# the user's language.
CHAIN_PROBLEMS = {
    "does not follow the event before it": _l("it does not follow the event before it"),
    "its content was changed": _l("its content was changed"),
}


def account_role(role: str) -> str:
    return str(ACCOUNT_ROLES.get(role, role))


def audit_action(action: str) -> str:
    return str(AUDIT_ACTIONS.get(action, action))


def audit_subject(subject_type: str) -> str:
    return str(AUDIT_SUBJECTS.get(subject_type, subject_type))


def chain_problem(problem: str) -> str:
    missing = re.fullmatch(r"expected event (\d+), found (\d+) \(deleted or reordered\)", problem)
    if missing:
        return _("event %(expected)s was expected, event %(found)s was found (deleted or reordered)",
                 expected=missing.group(1), found=missing.group(2))
    return str(CHAIN_PROBLEMS.get(problem, problem))


def nationality(code: str) -> str:
    """The country's name in the user's language (the stored value is its ISO code)."""
    language = "zh" if str(get_locale() or "zh").startswith("zh") else "en"
    return country_name(code, language) if code else ""


def init_staff_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(account_role=account_role, audit_action=audit_action,
                                 audit_subject=audit_subject, chain_problem=chain_problem)
    app.jinja_env.filters.update(nationality=nationality)


# CSV exports in the user's language: column names, and the stored codes of enumerated cells.
EXPORT_COLUMNS = {
    "record_id": _l("Record"), "verified_at": _l("Verified at"), "point_id": _l("Point no."),
    "point_name": _l("Point"), "point_district_code": _l("Point's district code"),
    "point_district": _l("Point's district"), "holder_id": _l("Person no."), "method": _l("Method"),
    "colour": _l("Colour"), "token_colour": _l("Colour the code showed"), "recorded_at": _l("Recorded at"),
    "temperature": _l("Temperature (°C)"), "decision": _l("Decision"), "note": _l("Note"),
    "position_source": _l("Position from"), "latitude": _l("Latitude"), "longitude": _l("Longitude"),
    "voided_at": _l("Voided at"), "void_reason": _l("Reason for voiding"), "paper_serial": _l("Paper code"),
    "issuer_id": _l("Issuer no."), "partner_code_id": _l("Partner's code"),
    "application_id": _l("Application no."), "created_at": _l("Filed at"),
    "holder_district_code": _l("Person's district code"), "holder_district": _l("Person's district"),
    "grounds": _l("Grounds"), "hit_keys": _l("Reasons to clear"), "test_date": _l("Test date"),
    "institution": _l("Institution"), "report_number": _l("Report number"),
    "isolation_end": _l("End of isolation"), "status": _l("State"), "decided_at": _l("Decided at"),
    "decided_by": _l("Decided by (account no.)"), "decision_reason": _l("Reason for the decision"),
}
CHECK_METHODS = {
    "camera": _l("camera"), "photo": _l("photo"), "number": _l("dynamic number"),
    "no_code": _l("document, no code"), "api": _l("checkpoint device (API)"), "paper": _l("paper code"),
}
POSITION_SOURCES = {"gps": _l("the phone's GPS"), "point": _l("the point's own position")}


def export_header(columns) -> list[str]:
    return [str(EXPORT_COLUMNS.get(column, column)) for column in columns]


def export_cell(column: str, value):
    """The cell in the user's language; a code that has no label stays as it is."""
    if value in (None, ""):
        return value
    table = {"method": CHECK_METHODS, "colour": COLOUR_WORDS, "token_colour": COLOUR_WORDS,
             "decision": DECISION_LABELS, "position_source": POSITION_SOURCES, "status": REQUEST_STATES,
             "grounds": GROUNDS_LABELS}.get(column)
    return str(table.get(value, value)) if table is not None else value
