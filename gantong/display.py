"""Template helpers that turn stored keys into words in the user's language."""
from __future__ import annotations

from flask import Flask
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from . import identity
from .assets import inline_css
from .choices import COLOUR_WORDS, DOCUMENT_LABELS, SYMPTOM_LABELS

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
    return ", ".join(str(SYMPTOM_LABELS.get(key, key)) for key in keys)


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
    "no_match": (
        _l("No holder found"),
        _l("No holder has this document number with this name. Check both; the person may need to register."),
    ),
}


def decision_label(decision: str | None) -> str:
    return str(DECISION_LABELS.get(decision, decision or ""))


def refusal_title(reason: str) -> str:
    return str(REFUSALS.get(reason, REFUSALS["malformed"])[0])


def refusal_advice(reason: str) -> str:
    return str(REFUSALS.get(reason, REFUSALS["malformed"])[1])
