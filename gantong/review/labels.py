"""What the review shows in words: grounds, the states of applications, claims and official
records, the queue's kinds, and what an accepted claim corrected."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from gantong.core.kinds import ApplicationState, ClaimState, OfficialRecordState

GROUNDS_LABELS = {
    "isolation_completed": _l("Isolation completed"),
    "negative_test": _l("Negative nucleic-acid test"),
    "other": _l("Other"),
}

QUEUE_KINDS = {
    "application": _l("Transcoding application"),
    "claim": _l("Claim"),
    "official": _l("Official record"),
}

# Applications, claims and official records share "pending" and "rejected": one label each.
REQUEST_STATES = {
    **ApplicationState.labels(),
    **ClaimState.labels(),
    **OfficialRecordState.labels(),
}


def grounds_label(grounds: str) -> str:
    return str(GROUNDS_LABELS.get(grounds, grounds))


def state_label(state: str | None) -> str:
    """Return the state of an application, a claim or an official record in the user's language."""
    label = REQUEST_STATES.get(state)
    return _(label) if label else state or ""


def queue_kind(kind: str) -> str:
    return str(QUEUE_KINDS.get(kind, kind))


def correction_label(correction: str) -> str:
    """Say what an accepted claim wrote, from its "kind:id" reference."""
    kind, _sep, number = correction.partition(":")
    labels = {
        "declaration": _l(
            "a new declaration (no. %(number)s) without the wrong fact", number=number
        ),
        "official": _l('an official record "cleared" (no. %(number)s)', number=number),
        "clearance": _l("the fact was cleared"),
    }
    return str(labels.get(kind, correction))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        grounds_label=grounds_label,
        state_label=state_label,
        queue_kind=queue_kind,
        correction_label=correction_label,
        ApplicationState=ApplicationState,
        ClaimState=ClaimState,
        OfficialRecordState=OfficialRecordState,
    )
