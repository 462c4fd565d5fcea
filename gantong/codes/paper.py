"""Paper codes: a long-lived printed token with its own serial and no colour.

The checkpoint always looks the colour up. A holder has at most one live paper code; reporting it
lost revokes its serial and issues a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from gantong import audit
from gantong.codes import keys
from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, PaperCode, SigningKey, User, utcnow


class TooManyReplacements(Exception):
    """The person replaced lost paper codes as often as the period allows; again at `again_at`."""

    def __init__(self, again_at: datetime):
        super().__init__(f"too many replacements; again at {again_at.isoformat()}")
        self.again_at = again_at


def ttl_seconds() -> int:
    """Seconds a paper code printed now lives (PAPER_TTL)."""
    return int(current_app.config["PAPER_TTL"])


def by_serial(serial: str) -> PaperCode | None:
    return db.session.scalar(db.select(PaperCode).where(PaperCode.serial == serial))


def is_live(paper: PaperCode, now: datetime | None = None) -> bool:
    """Return whether a checkpoint would accept the paper code now."""
    if paper.revoked_at is not None or paper.expires_at <= (now or utcnow()):
        return False
    key = db.session.get(SigningKey, paper.kid)
    return key is not None and key.retired_at is None


def live_paper(holder: Holder, now: datetime | None = None) -> PaperCode | None:
    """Return the holder's newest paper code that still works, or None."""
    moment = now or utcnow()
    query = (
        db.select(PaperCode)
        .where(
            PaperCode.holder_id == holder.id,
            PaperCode.revoked_at.is_(None),
            PaperCode.expires_at > moment,
        )
        .order_by(PaperCode.issued_at.desc(), PaperCode.id.desc())
    )
    return next((paper for paper in db.session.scalars(query) if is_live(paper, moment)), None)


def _token(paper: PaperCode) -> tokens.Token:
    issued_at = int(paper.issued_at.timestamp())
    return tokens.Token(
        type=tokens.PAPER,
        kid=paper.kid,
        subject=paper.serial,
        colour=None,
        issued_at=issued_at,
        ttl=int(paper.expires_at.timestamp()) - issued_at,
        **keys.identity_fields(paper.holder),
    )


def token_text(paper: PaperCode) -> str:
    """Return the paper code's signed token text, the same at every print.

    Ed25519 signatures are deterministic, so the token need not be stored: signing the same
    payload with the same key again gives the same text.
    """
    key = db.session.get(SigningKey, paper.kid)
    private = tokens.decrypt_private_key(key.private_key, current_app.config["SECRET_KEY"], key.kid)
    return tokens.sign(_token(paper), private)


def _new_paper(holder: Holder, actor: User | None, moment: datetime) -> PaperCode:
    kid, _private = keys.signing_key()
    # Whole seconds: the token carries seconds, and a reprint must sign the same payload.
    issued = moment.replace(microsecond=0)
    paper = PaperCode(
        holder_id=holder.id,
        serial=tokens.new_subject(),
        kid=kid,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=ttl_seconds()),
        printed_by=actor.id if actor else None,
    )
    db.session.add(paper)
    db.session.flush()
    audit.append(
        "paper.issue",
        "holder",
        holder.id,
        actor=actor,
        at=moment,
        after={"serial": paper.serial, "kid": kid, "expires_at": paper.expires_at.isoformat()},
    )
    return paper


def issue(holder: Holder, actor: User | None = None, now: datetime | None = None) -> PaperCode:
    """Return the holder's live paper code, issuing one (audited) if there is none."""
    moment = now or utcnow()
    keys.signing_key()  # the first key is made before the holder is locked
    # Two prints at once must not make two live paper codes.
    registry.lock(holder)
    paper = live_paper(holder, moment)
    if paper is None:
        paper = _new_paper(holder, actor, moment)
    db.session.flush()  # also ends the lock when nothing was written
    return paper


def _replacement_refused_until(holder: Holder, moment: datetime) -> datetime | None:
    """When the holder may replace a lost paper code again, or None if they may now.

    Read under the holder's lock, so two reports at once cannot both pass the limit.
    """
    config = current_app.config
    period = timedelta(seconds=int(config["PAPER_REPLACEMENT_PERIOD"]))
    recent = list(
        db.session.scalars(
            db.select(PaperCode.revoked_at)
            .where(PaperCode.holder_id == holder.id, PaperCode.revoked_at > moment - period)
            .order_by(PaperCode.revoked_at.desc())
        )
    )
    limit = int(config["PAPER_REPLACEMENTS_PER_PERIOD"])
    if len(recent) < limit:
        return None
    # The window slides: the oldest replacement that still counts leaves it first.
    return recent[limit - 1] + period


def report_lost(
    holder: Holder,
    actor: User | None = None,
    now: datetime | None = None,
    limited: bool = True,
) -> PaperCode:
    """Revoke every unrevoked paper code of the holder and issue a new one, in one transaction.

    limited: the person themselves (not an officer who sees them at a desk) may do it
    PAPER_REPLACEMENTS_PER_PERIOD times a period; beyond that TooManyReplacements.
    """
    moment = now or utcnow()
    keys.signing_key()  # the first key is made before anything is revoked
    registry.lock(holder)
    if limited and (again_at := _replacement_refused_until(holder, moment)) is not None:
        raise TooManyReplacements(again_at)
    query = db.select(PaperCode).where(
        PaperCode.holder_id == holder.id, PaperCode.revoked_at.is_(None)
    )
    for old in db.session.scalars(query):
        old.revoked_at = moment
        old.revoked_by = actor.id if actor else None
        audit.append(
            "paper.revoke",
            "holder",
            holder.id,
            actor=actor,
            at=moment,
            before={"serial": old.serial, "revoked": False},
            after={"serial": old.serial, "revoked": True},
            reason="reported lost",
        )
    paper = _new_paper(holder, actor, moment)
    db.session.flush()
    return paper


def papers_of(holder: Holder) -> list[PaperCode]:
    """Return every paper code of the holder, newest first."""
    query = (
        db.select(PaperCode).where(PaperCode.holder_id == holder.id).order_by(PaperCode.id.desc())
    )
    return list(db.session.scalars(query))


def register_for_paper(
    person: registry.Identity, officer: User, now: datetime | None = None
) -> tuple[Holder, PaperCode]:
    """An officer registers a person with no account and issues their paper code, at once.

    Raises registry.DocumentTaken (nothing written) if the document is registered already.
    """
    moment = now or utcnow()
    keys.signing_key()  # the first key is made before the holder is written
    # The officer registers the person in front of them: the paper code is their code.
    holder = registry.add_holder(None, person, actor=officer, issue_code=True)
    paper = _new_paper(holder, officer, moment)
    db.session.flush()
    return holder, paper
