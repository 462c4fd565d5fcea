"""The resident's code: what the code page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from sqlalchemy import Integer, String, bindparam, func, literal_column, select
from sqlalchemy.orm import make_transient_to_detached

from gantong.codes import keys
from gantong.core import rules, tokens
from gantong.extensions import db
from gantong.holders import hotlines, registry
from gantong.models import (
    Application,
    Claim,
    ColourChange,
    DistrictHotline,
    Holder,
    Notification,
    SigningKey,
    User,
)
from gantong.review import applications, claims

RECENT_CHANGES = 3  # colour changes the code page shows; the history page has them all


@dataclass(frozen=True)
class ScreenCode:
    result: rules.Result
    token: tokens.Token
    text: str  # the token as the QR carries it
    number: str  # the dynamic number under the QR
    expires_at: datetime  # when the token or the number stops being accepted, whichever is first
    recent_changes: list[
        ColourChange
    ]  # the latest colour changes, newest first (the first is the code's issue)


@dataclass
class PageReads:
    """What the code page reads about the holder and the account, in one query (page_reads)."""

    rows: dict = field(repr=False)  # registry's fact rows, for the colour
    recent_changes: list[ColourChange]  # newest first
    unread: int
    pending_applications: set[str]
    approved: dict[str, datetime]
    pending_claims: set[str]
    hotline: str
    signing_rows: list  # the signing and prepared keys, newest first (keys.signing_key)


@cache
def _page_branches() -> dict:
    """The code page's own rows beside the colour's facts (registry.fact_rows_with)."""
    holder_id = bindparam("holder_id", type_=Integer)
    account_id = bindparam("account_id", type_=Integer)
    district = bindparam("district", type_=String)
    recent = (
        select(ColourChange.id)
        .where(ColourChange.holder_id == holder_id)
        .order_by(ColourChange.id.desc())
        .limit(RECENT_CHANGES)
    )
    no_id = literal_column("0", Integer)
    return {
        "change": (
            ColourChange.id,
            {
                "at": ColourChange.at,
                "before": ColourChange.before,
                "after": ColourChange.after,
                "rules": ColourChange.rules,
                "actor_id": ColourChange.actor_id,
                "reason": ColourChange.reason,
            },
            lambda query: query.where(ColourChange.id.in_(recent)),
        ),
        "unread": (
            func.count(Notification.id),
            {},
            lambda query: query.where(
                Notification.account_id == account_id, Notification.read_at.is_(None)
            ),
        ),
        "application": (
            Application.id,
            {
                "hit_keys": Application.hit_keys,
                "status": Application.status,
                "decided_at": Application.decided_at,
            },
            lambda query: query.where(
                Application.holder_id == holder_id,
                Application.status.in_((applications.PENDING, applications.APPROVED)),
            ),
        ),
        "claim": (
            Claim.id,
            {"hit_key": Claim.hit_key},
            lambda query: query.where(Claim.holder_id == holder_id, Claim.status == claims.PENDING),
        ),
        "hotline": (
            no_id,
            {"phone": DistrictHotline.phone},
            lambda query: query.where(DistrictHotline.district_code == district),
        ),
        "key": (
            no_id,
            {
                "kid": SigningKey.kid,
                "private_key": SigningKey.private_key,
                "signing": SigningKey.signing,
                "signs_from": SigningKey.signs_from,
                "created_at": SigningKey.created_at,
            },
            lambda query: query.where(keys.SIGNING_OR_PREPARED),
        ),
    }


def page_reads(holder: Holder, account: User) -> PageReads:
    """Read everything the code page shows beside the account's people in one statement: the
    colour's facts, the latest colour changes, unread notifications, pending and approved
    applications, pending claims, the district's hotline and the signing keys."""
    rows = registry.fact_rows_with(
        "code_page",
        _page_branches,
        {"holder_id": holder.id, "account_id": account.id, "district": holder.district_code},
    )
    changes = []
    for row in reversed(rows["change"]):
        change = ColourChange(
            id=row.id,
            holder_id=holder.id,
            at=row.at,
            before=row.before,
            after=row.after,
            rules=row.rules,
            actor_id=row.actor_id,
            reason=row.reason,
        )
        # A row read, not a new one: into the session as it is stored (change.actor loads from
        # the session's identity map, or its own query for an officer).
        make_transient_to_detached(change)
        changes.append(db.session.merge(change, load=False))
    approved = {}
    pending = set()
    for row in rows["application"]:
        row_keys = [key for key in row.hit_keys.split(",") if key]
        if row.status == applications.PENDING:
            pending.update(row_keys)
        else:
            approved.update({key: row.decided_at for key in row_keys})
    hotline_rows = rows["hotline"]
    return PageReads(
        rows=rows,
        recent_changes=changes,
        unread=rows["unread"][0].id if rows["unread"] else 0,
        pending_applications=pending,
        approved=approved,
        pending_claims={row.hit_key for row in rows["claim"] if row.hit_key},
        hotline=hotline_rows[0].phone if hotline_rows else hotlines.DEFAULT_HOTLINE,
        signing_rows=sorted(rows["key"], key=lambda row: row.created_at, reverse=True),
    )


def screen_code(holder: Holder, now: datetime, page: PageReads | None = None) -> ScreenCode | None:
    """The holder's colour of now (stored if it changed), a signed screen token, the number.

    None while the holder has no code yet (no declaration): nothing is signed. The page is a
    reading request: the colour and the numbers are written (and lock) only when they change.
    `page` is what page_reads read; without it, each part is read on its own.
    """
    result = registry.colour_of(holder, now, page.rows if page else None)
    changed = result.colour != holder.colour
    if changed:  # stored only when it changed, decided again under the lock
        registry.lock(holder)
        result = registry.store_colour(holder, now)
    # The page lists the latest changes; their query also says whether a code was ever given.
    if page is not None and not changed:
        recent_changes = page.recent_changes
    else:
        recent_changes = registry.colour_history(holder, limit=RECENT_CHANGES)
    if not recent_changes:
        return None
    number = registry.dynamic_number(holder, now)
    token, text = keys.signed_screen_token(
        holder, now, page.signing_rows if page is not None else None
    )
    expires_at = min(
        datetime.fromtimestamp(token.issued_at + token.ttl, now.tzinfo),
        registry.number_valid_until(now),
    )
    return ScreenCode(result, token, text, number, expires_at, recent_changes)


@dataclass(frozen=True)
class Transcoding:
    """Where the holder's transcoding stands for the reasons behind the code of now."""

    can_apply: bool  # a reason an application may clear, that none pending or approved names
    pending: bool  # an application waits for an officer's decision on one of the reasons
    approved_on: date | None  # the latest approval of a reason still behind the code
    ends_on: date | None  # the day the approved reasons end (the latest of them)
    green_on: date | None  # the day the code turns green with nothing more to do, if it will


def transcoding(holder: Holder, result: rules.Result, page: PageReads | None = None) -> Transcoding:
    """What the code page says about transcoding: apply, waiting, or approved and when it ends."""
    if page is not None:
        pending, approved = page.pending_applications, page.approved
    else:
        pending, approved = applications.pending_keys(holder), applications.approved_on(holder)
    # An approved reason may stay until its own end (a close contact: 14 days after it).
    covered = [hit for hit in result.hits if hit.key in approved and hit.until is not None]
    ends_by_itself = all(
        (hit in covered) or (hit.until is not None and not hit.needs_transcoding)
        for hit in result.hits
    )
    return Transcoding(
        can_apply=any(
            applications.clearable(hit) and hit.key not in pending and hit.key not in approved
            for hit in result.hits
        ),
        pending=any(hit.key in pending for hit in result.hits),
        approved_on=max((rules.local_date(approved[hit.key]) for hit in covered), default=None),
        ends_on=max((hit.until for hit in covered), default=None),
        green_on=max(hit.until for hit in result.hits) if covered and ends_by_itself else None,
    )


def can_claim(holder: Holder, result: rules.Result, page: PageReads | None = None) -> bool:
    """Whether a claim could change the colour: a fact behind it that no pending claim names."""
    pending = page.pending_claims if page is not None else claims.pending_keys(holder)
    return any(hit.key not in pending for hit in result.hits)
