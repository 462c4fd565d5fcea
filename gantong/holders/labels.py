"""What a holder's pages show in words: relations, case statuses, who changed a code and why,
and the notifications."""

from __future__ import annotations

import json

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from gantong.core import identity
from gantong.core.kinds import ApplicationState, ClaimState
from gantong.web.labels import colour_word

# How a holder is related to the account's owner; the keys are registry.RELATIONS.
RELATION_LABELS = {
    "self": _l("Me"),
    "child": _l("Child"),
    "parent": _l("Parent"),
    "spouse": _l("Spouse"),
    "other": _l("Other relative"),
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


TEST_TYPES = {"pcr": _l("PCR"), "antigen": _l("Antigen")}
TEST_RESULTS = {"negative": _l("negative"), "positive": _l("positive")}
RESULT_SOURCES = {"lab": _l("lab"), "certificate": _l("verified certificate")}


def test_label(test_type: str, result: str) -> str:
    """The test and its result as the peers' code pages say it: 核酸 阴性 / PCR negative."""
    return _(
        "%(test)s %(result)s",
        test=TEST_TYPES.get(test_type, test_type),
        result=TEST_RESULTS.get(result, result),
    )


def sample_age(sampled_at, now) -> str:
    """How long ago the sample was taken: 采样 31 小时前 / sampled 31 h ago."""
    minutes = max(0, int((now - sampled_at).total_seconds() // 60))
    if minutes < 60:
        return _("sampled %(minutes)s min ago", minutes=minutes)
    if minutes < 72 * 60:
        return _("sampled %(hours)s h ago", hours=minutes // 60)
    return _("sampled %(days)s days ago", days=minutes // (24 * 60))


def latest_test_line(test, now) -> str:
    """The code page's line: 核酸 阴性 · 采样 31 小时前 / PCR negative · sampled 31 h ago."""
    return _(
        "%(test)s · %(age)s",
        test=test_label(test.test_type, test.result),
        age=sample_age(test.sampled_at, now),
    )


def result_source(source: str) -> str:
    return str(RESULT_SOURCES.get(source, source))


def relation_label(relation: str) -> str:
    return str(RELATION_LABELS.get(relation, relation))


def holder_label(holder) -> str:
    """The full name and the relation, for the account's owner: 张伟 (Child)."""
    return _("%(name)s (%(relation)s)", name=holder.name, relation=relation_label(holder.relation))


def family_relation_choices():
    return [(key, label) for key, label in RELATION_LABELS.items() if key != "self"]


def case_status(status: str) -> str:
    return str(CASE_STATUSES.get(status, status))


def change_reason(change) -> str:
    if not change.rules:
        return str(_l("no active reasons")) if change.before else str(_l("code created"))
    return ", ".join(str(RULE_NAMES.get(rule, rule)) for rule in change.rules.split(","))


def officer_label(user) -> str:
    """Return an officer's department and badge number, as the holder sees them."""
    if user is None:
        return ""
    if user.role == "lab" and user.lab is not None:
        return _("lab %(lab)s", lab=user.lab.name)
    return str(
        _l(
            "%(department)s, badge %(badge)s",
            department=user.department or "",
            badge=user.badge_number or "",
        )
    )


def declared_by(author, holder) -> str:
    """Say which account made a declaration: the holder's own, or another (its number masked),
    so a person sees what someone else declared for them."""
    if author is None or author.role == "officer":
        return ""
    phone = identity.mask_phone(author.phone)
    if author.id == holder.account_id:
        return str(_l("declared by the account holding the code (%(phone)s)", phone=phone))
    return str(_l("declared by account %(phone)s", phone=phone))


def change_by(change) -> str:
    """Say who made a colour change: an officer's department and badge, or where it came from."""
    actor = change.actor
    if actor is None:
        return str(_l("automatic")) if change.before else ""
    if actor.role == "officer":
        return officer_label(actor)
    if actor.role == "staff":
        return str(_l("checkpoint"))
    # A declaration by an account that no longer holds the person (moved away after an identity
    # check in person) was not their own: say whose, masked.
    if all(holder.id != change.holder_id for holder in actor.holders):
        return str(_l("declared by account %(phone)s", phone=identity.mask_phone(actor.phone)))
    return str(_l("own declaration"))


def change_why(change) -> str:
    """Return the rules behind a colour change, and the deciding officer's words if any."""
    why = change_reason(change)
    return (
        str(_l("%(rules)s: %(reason)s", rules=why, reason=change.reason)) if change.reason else why
    )


def hit_rule(key: str) -> str:
    """Name the rule of a hit from its key (for hits that are no longer active)."""
    rule = key.split(":", 1)[0]
    return str(RULE_NAMES.get(rule, rule)) if key else str(_l("something else"))


def notification_text(notification, with_reason: bool = True) -> str:
    """Return the notification's text in the current language (kinds: holders/notifications.py);
    the SMS leaves the officer's reason out and links to the notification instead."""
    params = json.loads(notification.params or "{}")
    person = params.get("person", "")
    reason = params.get("reason") or ""
    if notification.kind == "colour_change":
        text = _(
            "The code of %(person)s changed from %(before)s to %(after)s.",
            person=person,
            before=colour_word(params.get("before")),
            after=colour_word(params.get("after")),
        )
    elif notification.kind == "application_decided":
        if params.get("status") == ApplicationState.APPROVED:
            text = _(
                "Transcoding application no. %(number)s for %(person)s was approved.",
                number=params.get("number"),
                person=person,
            )
        else:
            text = _(
                "Transcoding application no. %(number)s for %(person)s was rejected.",
                number=params.get("number"),
                person=person,
            )
    elif notification.kind == "claim_decided":
        if params.get("status") == ClaimState.ACCEPTED:
            text = _(
                "Claim no. %(number)s for %(person)s was accepted.",
                number=params.get("number"),
                person=person,
            )
        else:
            text = _(
                "Claim no. %(number)s for %(person)s was rejected.",
                number=params.get("number"),
                person=person,
            )
    elif notification.kind == "official_record":
        text = _(
            "An official record about %(person)s is in force: %(status)s, legal basis %(basis)s "
            "(%(department)s, badge %(badge)s).",
            person=person,
            status=case_status(params.get("status", "")),
            basis=params.get("basis", ""),
            department=params.get("department", ""),
            badge=params.get("badge", ""),
        )
    else:
        text = notification.kind
    if reason and with_reason:
        text = _("%(message)s Reason: %(reason)s", message=text, reason=reason)
    return text


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        case_status=case_status,
        change_reason=change_reason,
        officer_label=officer_label,
        declared_by=declared_by,
        change_by=change_by,
        change_why=change_why,
        hit_rule=hit_rule,
        notification_text=notification_text,
        relation_label=relation_label,
        holder_label=holder_label,
        test_label=test_label,
        sample_age=sample_age,
        latest_test_line=latest_test_line,
        result_source=result_source,
    )
