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
        inline_css=inline_css,
    )
    app.jinja_env.filters.update(mask_name=identity.mask_name, moment_seconds=moment_seconds)
