"""Telling holders what happened to their code: an in-app list, and SMS to the account's phone.

A notification is added to the transaction that made the change; its SMS leaves only once that
transaction commits, so a rolled-back decision never sends a message.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from gantong.config import public_url
from gantong.core import identity
from gantong.extensions import db
from gantong.holders import sms
from gantong.holders.labels import notification_text
from gantong.models import Holder, Notification, User, utcnow

log = logging.getLogger(__name__)

COLOUR_CHANGE = "colour_change"
APPLICATION_DECIDED = "application_decided"
CLAIM_DECIDED = "claim_decided"
OFFICIAL_RECORD = "official_record"

_OUTBOX = "gantong_sms_pending"


def notify(holder: Holder, kind: str, at: datetime | None = None, **params) -> Notification:
    """Add a notification for the holder's account and queue its SMS until the commit."""
    params = {"person": identity.mask_name(holder.name), **params}
    notification = Notification(
        holder_id=holder.id,
        account_id=holder.account_id,
        kind=kind,
        params=json.dumps(params, ensure_ascii=False, sort_keys=True, default=str),
        at=at or utcnow(),
    )
    db.session.add(notification)
    account = db.session.get(User, holder.account_id) if holder.account_id else None
    if account is not None and account.phone:
        db.session.flush()  # the notification's id, for the link
        db.session.info.setdefault(_OUTBOX, []).append(
            (account.phone, sms_text(notification, account.language))
        )
    return notification


def link(notification: Notification) -> str:
    """The in-app notification, which carries the whole of it (the officer's reason too)."""
    # Empty only in a flask CLI command started without it: public_url refuses here, naming it.
    base = current_app.config["PUBLIC_URL"] or public_url("", development=False)
    return f"{base}/me/notifications#n{notification.id}"


def sms_text(notification: Notification, language: str | None = None) -> str:
    """The SMS in the account's language: what happened, without the officer's reason, and the
    link to the notification; within two segments however long the reason or the names are."""
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        message = _(
            "Gantong Code: %(message)s", message=notification_text(notification, with_reason=False)
        )
        tail = _(" Details: %(link)s", link=link(notification))
    return sms.fit(message, tail)


def colour_changed(
    holder: Holder, before: str, after: str, reason: str, at: datetime
) -> Notification:
    return notify(holder, COLOUR_CHANGE, at=at, before=before, after=after, reason=reason)


def for_account(account: User, limit: int = 100) -> list[Notification]:
    """Return the account's latest notifications, newest first."""
    query = (
        db.select(Notification)
        .where(Notification.account_id == account.id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def unread_count(account: User) -> int:
    query = (
        db.select(db.func.count())
        .select_from(Notification)
        .where(Notification.account_id == account.id, Notification.read_at.is_(None))
    )
    return db.session.scalar(query) or 0


def mark_read(account: User, now: datetime | None = None) -> None:
    """Mark every notification of the account read."""
    db.session.execute(
        db.update(Notification)
        .where(Notification.account_id == account.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
    db.session.flush()


@event.listens_for(Session, "after_commit")
def _send_queued(session: Session) -> None:
    for phone, text in session.info.pop(_OUTBOX, []):
        try:
            sms.send(phone, text)
        except Exception:  # a gateway failure must not undo a committed decision
            log.exception("SMS to %s failed", phone)


@event.listens_for(Session, "after_transaction_end")
def _drop_unsent(session: Session, transaction) -> None:
    # Whatever is still queued when the outer transaction ends was never committed.
    if transaction.parent is None:
        session.info.pop(_OUTBOX, None)
