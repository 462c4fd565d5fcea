"""Accounts an administrator makes: staff, officers and admins, each with a one-time password.

Accounts are never deleted, only deactivated; a deactivated account's sessions end at once
because the user loader refuses it on its next request.

Nobody alone can make a code red: an administrator never sees or sets another
account's credential — every one-time password goes by text message to the account's own
number — and what could give one person a second officer (creating an officer or an
administrator, moving an officer to another district, a new password for either, reactivating
either) takes effect only when a second, different administrator confirms it. "Different" counts
people, not accounts: an administrator account asked for by the requester (or by an account the
requester's own account was asked for by, however far up or down that chain) does not confirm
the requester's changes, since its phone may be the requester's own.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from gantong import audit
from gantong.auth.accounts import PhoneTaken, find_by_phone
from gantong.auth.passwords import hash_password
from gantong.extensions import db
from gantong.holders import sms
from gantong.models import AccountChange, User, utcnow
from gantong.web.paging import Page, page_of

MANAGED_ROLES = ("staff", "officer", "admin", "lab")
# No 0/o, 1/l/i: the password is read aloud or copied from a screen.
PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
PASSWORD_LENGTH = 12
PAGE_SIZE = 50


# The roles whose accounts can put a code in force or make such accounts; a lab account's
# positive result is the first of the two parties a red code needs (docs/colour-rules.md).
CONFIRMED_ROLES = ("officer", "admin", "lab")
PENDING, DONE, REJECTED = "pending", "done", "rejected"


class OwnAccount(Exception):
    """An administrator may not deactivate their own account."""


class OwnRequest(Exception):
    """The administrator who asked for a change may not confirm it; a second one must."""


class Related(OwnRequest):
    """The confirming administrator's account and the requester's were asked for one by the
    other (directly or down a chain): they may be one person."""


class NotPending(Exception):
    """The change was confirmed or rejected already."""


@dataclass(frozen=True)
class Binding:
    """Where an account works: a point for staff, a district and badge for officers."""

    point_id: int | None = None
    district_code: str | None = None
    badge_number: str | None = None
    department: str | None = None
    lab_id: int | None = None

    def for_role(self, role: str) -> Binding:
        """Keep only what the role uses, so an admin is never left bound to a point."""
        if role == "staff":
            return Binding(point_id=self.point_id)
        if role == "officer":
            return Binding(
                district_code=self.district_code,
                badge_number=self.badge_number,
                department=self.department,
            )
        if role == "lab":
            return Binding(lab_id=self.lab_id)
        return Binding()


def one_time_password() -> str:
    """A random password to hand over once; the account must change it at first login."""
    text = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
    return "-".join(text[i : i + 4] for i in range(0, PASSWORD_LENGTH, 4))


def _binding_of(user: User) -> dict:
    return {
        "point_id": user.point_id,
        "district_code": user.district_code,
        "badge_number": user.badge_number,
        "department": user.department,
        "lab_id": user.lab_id,
    }


def needs_second_admin(
    kind: str, role: str, before: dict | None = None, after: dict | None = None
) -> bool:
    """Whether a change waits for a second administrator (see the module's docstring)."""
    if role not in CONFIRMED_ROLES:
        return False
    if kind == "rebind":
        # An officer's badge or department is paperwork; the district is who they can act on,
        # and a lab account's lab is whose results it posts.
        return any(
            (before or {}).get(name) != (after or {}).get(name)
            for name in ("district_code", "lab_id")
        )
    return True


def _send_password(user: User, password: str) -> None:
    sms.send(
        user.phone,
        f"【赣通码】Gantong Code: {password} (one-time password for your work account, "
        "change it at first login / 工作账号一次性密码，首次登录须修改)",
    )


def _create_now(role: str, phone: str, binding: Binding) -> User:
    password = one_time_password()
    user = User(
        phone=phone,
        password_hash=hash_password(password),
        role=role,
        must_change_password=True,
        active=True,
        **asdict(binding.for_role(role)),
    )
    try:
        with db.session.begin_nested():  # only this insert is undone if it collides
            db.session.add(user)
    except IntegrityError as error:  # the same number created at the same moment
        raise PhoneTaken() from error
    _send_password(user, password)
    return user


def _request(
    kind: str, user: User | None, details: dict, actor: User, now: datetime
) -> AccountChange:
    change = AccountChange(
        kind=kind,
        user_id=user.id if user else None,
        details=json.dumps(details),
        requested_by=actor.id,
        requested_at=now,
        state=PENDING,
    )
    db.session.add(change)
    db.session.flush()
    audit.append(
        f"account.{kind}_request",
        "account_change",
        change.id,
        actor=actor,
        after={"user_id": change.user_id, **{k: v for k, v in details.items() if k != "phone"}},
        at=now,
    )
    return change


def create_account(
    role: str, phone: str, binding: Binding, actor: User, now: datetime | None = None
) -> User | AccountChange:
    """Create a staff account at once, or ask for an officer or admin account (a second
    administrator confirms it); the one-time password goes by SMS to `phone`.

    Returns the account, or the pending change. PhoneTaken if the number has an account.
    """
    if role not in MANAGED_ROLES:
        raise ValueError(role)
    if find_by_phone(phone) is not None:
        raise PhoneTaken()
    moment = now or utcnow()
    if needs_second_admin("create", role):
        change = _request(
            "create",
            None,
            {"role": role, "phone": phone, **asdict(binding.for_role(role))},
            actor,
            moment,
        )
        db.session.flush()
        return change
    user = _create_now(role, phone, binding)
    audit.append(
        "account.create",
        "user",
        user.id,
        actor=actor,
        after={"role": role, **_binding_of(user)},
        at=moment,
    )
    db.session.flush()
    return user


def update_binding(
    user: User, binding: Binding, actor: User, now: datetime | None = None
) -> AccountChange | None:
    """Move an account to another point or district, or change the officer's badge.

    Moving an officer to another district waits for a second administrator: the pending
    change is returned; anything else is saved at once (None).
    """
    moment = now or utcnow()
    before = _binding_of(user)
    after = {**before, **asdict(binding.for_role(user.role))}
    if after == before:
        return None
    if needs_second_admin("rebind", user.role, before, after):
        change = _request("rebind", user, after, actor, moment)
        db.session.flush()
        return change
    _apply_binding(user, after)
    audit.append(
        "account.update", "user", user.id, actor=actor, before=before, after=after, at=moment
    )
    db.session.flush()
    return None


def _apply_binding(user: User, binding: dict) -> None:
    for name in ("point_id", "district_code", "badge_number", "department", "lab_id"):
        setattr(user, name, binding.get(name))


def set_active(
    user: User, active: bool, actor: User, reason: str, now: datetime | None = None
) -> AccountChange | None:
    """Deactivate an account (its sessions end at once), or reactivate it; raise OwnAccount for
    oneself.

    Deactivating takes one administrator (it only takes power away). Reactivating an officer or
    an administrator gives it back, so it waits for a second administrator like creating one:
    the pending change is returned. Either way the account's old sessions stay ended.
    """
    if user.id == actor.id and not active:
        raise OwnAccount()
    if active and not user.active and needs_second_admin("reactivate", user.role):
        change = _request("reactivate", user, {"reason": reason}, actor, now or utcnow())
        db.session.flush()
        return change
    audit.switch_active(user, "account", "user", active, actor, reason)
    return None


def reset_password(user: User, actor: User, now: datetime | None = None) -> AccountChange | None:
    """A new one-time password, by SMS to the account's own number (changed at the next login).

    For an officer or an administrator it waits for a second administrator: the pending change
    is returned; for staff it is sent at once (None).
    """
    moment = now or utcnow()
    if needs_second_admin("password", user.role):
        change = _request("password", user, {}, actor, moment)
        db.session.flush()
        return change
    _new_password(user)
    audit.append(
        "account.password_reset", "user", user.id, actor=actor, after={"by": "sms"}, at=moment
    )
    db.session.flush()
    return None


def _new_password(user: User) -> None:
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    _send_password(user, password)


def pending_changes() -> list[AccountChange]:
    """The changes waiting for a second administrator, oldest first."""
    query = (
        db.select(AccountChange).where(AccountChange.state == PENDING).order_by(AccountChange.id)
    )
    return list(db.session.scalars(query))


def change_details(change: AccountChange) -> dict:
    return json.loads(change.details or "{}")


def _lock_pending(change: AccountChange) -> None:
    # Two administrators confirming at once: the row lock (on SQLite the write lock) makes the
    # second one read the state the first one wrote.
    query = (
        db.select(AccountChange)
        .where(AccountChange.id == change.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    db.session.scalars(query).one()
    if change.state != PENDING:
        raise NotPending()


def asked_for_by(user_id: int) -> list[AccountChange]:
    """The confirmed creations up the chain from an account: the change that created it, the one
    that created its requester's account, and so on (empty for an account made otherwise)."""
    chain: list[AccountChange] = []
    seen = {user_id}
    while True:
        query = db.select(AccountChange).where(
            AccountChange.kind == "create",
            AccountChange.user_id == user_id,
            AccountChange.state == DONE,
        )
        created = db.session.scalar(query.limit(1))
        if created is None or created.requested_by in seen:
            return chain
        chain.append(created)
        user_id = created.requested_by
        seen.add(user_id)


def related(first_id: int, second_id: int) -> bool:
    """Whether one of two accounts was asked for by the other, directly or down a chain."""
    return any(link.requested_by == second_id for link in asked_for_by(first_id)) or any(
        link.requested_by == first_id for link in asked_for_by(second_id)
    )


def check_can_confirm(change: AccountChange, admin: User) -> None:
    """:raise OwnRequest: unless `admin` may confirm `change` (see the module's docstring)."""
    if admin.role != "admin" or not admin.active:
        raise OwnRequest()
    if change.requested_by == admin.id or (
        change.user_id is not None and change.user_id == admin.id
    ):
        raise OwnRequest()
    if related(change.requested_by, admin.id):
        raise Related()


def can_confirm(change: AccountChange, admin: User) -> bool:
    try:
        check_can_confirm(change, admin)
    except OwnRequest:
        return False
    return True


def confirm(change: AccountChange, admin: User, now: datetime | None = None) -> User:
    """A second administrator confirms a change: it takes effect, a password goes by SMS.

    :raise OwnRequest: if `admin` asked for it, or it concerns `admin`'s own account.
    :raise Related: if `admin`'s account and the requester's were asked for one by the other.
    :raise NotPending: if it was decided already.
    :raise PhoneTaken: if the number got an account meanwhile (the change stays pending).
    """
    moment = now or utcnow()
    check_can_confirm(change, admin)
    _lock_pending(change)
    details = change_details(change)
    if change.kind == "create":
        if find_by_phone(details["phone"]) is not None:
            raise PhoneTaken()
        user = _create_now(
            details["role"],
            details["phone"],
            Binding(
                point_id=details.get("point_id"),
                district_code=details.get("district_code"),
                badge_number=details.get("badge_number"),
                department=details.get("department"),
                lab_id=details.get("lab_id"),
            ),
        )
        change.user_id = user.id
        audit.append(
            "account.create",
            "user",
            user.id,
            actor=admin,
            after={
                "role": user.role,
                **_binding_of(user),
                "change": change.id,
                "requested_by": change.requested_by,
            },
            at=moment,
        )
    else:
        user = db.session.get(User, change.user_id)
        if change.kind == "rebind":
            before = _binding_of(user)
            _apply_binding(user, details)
            audit.append(
                "account.update",
                "user",
                user.id,
                actor=admin,
                before=before,
                after={
                    **_binding_of(user),
                    "change": change.id,
                    "requested_by": change.requested_by,
                },
                at=moment,
            )
        elif change.kind == "reactivate":
            # Its sessions ended when it was deactivated and stay ended (User.session_generation).
            audit.switch_active(user, "account", "user", True, admin, details.get("reason", ""))
        else:
            _new_password(user)
            audit.append(
                "account.password_reset",
                "user",
                user.id,
                actor=admin,
                after={"by": "sms", "change": change.id, "requested_by": change.requested_by},
                at=moment,
            )
    change.state, change.decided_by, change.decided_at = DONE, admin.id, moment
    audit.append(
        "account.change_confirm",
        "account_change",
        change.id,
        actor=admin,
        before={"state": PENDING},
        after={"state": DONE},
        at=moment,
    )
    db.session.flush()
    return user


def reject(change: AccountChange, admin: User, now: datetime | None = None) -> None:
    """Refuse a change (any administrator, its requester too: withdrawing a mistake)."""
    moment = now or utcnow()
    _lock_pending(change)
    change.state, change.decided_by, change.decided_at = REJECTED, admin.id, moment
    audit.append(
        "account.change_reject",
        "account_change",
        change.id,
        actor=admin,
        before={"state": PENDING},
        after={"state": REJECTED},
        at=moment,
    )
    db.session.flush()


def set_up_by(user_ids) -> dict[int, AccountChange]:
    """For each account among `user_ids`, the latest confirmed change that set it up: who asked
    (requested_by) and who confirmed (decided_by). Accounts made before (or by the command line)
    have none."""
    return {
        user_id: change
        for user_id in {u for u in user_ids if u is not None}
        if (change := last_change(user_id)) is not None
    }


def last_change(user_id: int) -> AccountChange | None:
    """The latest confirmed change that set up this account (creation, district, password)."""
    query = (
        db.select(AccountChange)
        .where(AccountChange.user_id == user_id, AccountChange.state == DONE)
        .order_by(AccountChange.decided_at.desc(), AccountChange.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def list_accounts(role: str = "", phone: str = "", page: int = 1) -> Page:
    """Staff, officers and admins, newest first, filtered by role and by part of the number."""
    query = db.select(User).where(User.role.in_(MANAGED_ROLES))
    if role in MANAGED_ROLES:
        query = query.where(User.role == role)
    if phone:
        query = query.where(User.phone.contains(phone, autoescape=True))
    return page_of(query.order_by(User.id.desc()), page, PAGE_SIZE)


def managed_account(user_id: int) -> User | None:
    """The staff, officer or admin account with this id, or None (residents are not managed here)."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.role in MANAGED_ROLES else None
