"""Accounts an administrator makes: staff, officers and admins, each with a one-time password.

Accounts are never deleted, only deactivated; a deactivated account's sessions end at once
because the user loader refuses it on its next request.
"""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from gantong import audit
from gantong.auth.accounts import PhoneTaken, find_by_phone
from gantong.extensions import db
from gantong.models import User
from gantong.web.paging import Page, page_of

MANAGED_ROLES = ("staff", "officer", "admin")
# No 0/o, 1/l/i: the password is read aloud or copied from a screen.
PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
PASSWORD_LENGTH = 12
PAGE_SIZE = 50


class OwnAccount(Exception):
    """An administrator may not deactivate their own account."""


@dataclass(frozen=True)
class Binding:
    """Where an account works: a point for staff, a district and badge for officers."""

    point_id: int | None = None
    district_code: str | None = None
    badge_number: str | None = None
    department: str | None = None

    def for_role(self, role: str) -> Binding:
        """Keep only what the role uses, so an admin is never left bound to a point."""
        if role == "staff":
            return Binding(point_id=self.point_id)
        if role == "officer":
            return Binding(district_code=self.district_code, badge_number=self.badge_number,
                           department=self.department)
        return Binding()


def one_time_password() -> str:
    """A random password to hand over once; the account must change it at first login."""
    text = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
    return "-".join(text[i:i + 4] for i in range(0, PASSWORD_LENGTH, 4))


def _binding_of(user: User) -> dict:
    return {"point_id": user.point_id, "district_code": user.district_code,
            "badge_number": user.badge_number, "department": user.department}


def create_account(role: str, phone: str, binding: Binding, actor: User) -> tuple[User, str]:
    """Create a staff, officer or admin account and its one-time password; PhoneTaken if the number has one."""
    if role not in MANAGED_ROLES:
        raise ValueError(role)
    if find_by_phone(phone) is not None:
        raise PhoneTaken()
    password = one_time_password()
    binding = binding.for_role(role)
    user = User(phone=phone, password_hash=generate_password_hash(password), role=role,
                must_change_password=True, active=True, **asdict(binding))
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as error:  # the same number created at the same moment
        db.session.rollback()
        raise PhoneTaken() from error
    audit.append("account.create", "user", user.id, actor=actor,
                 after={"role": role, **_binding_of(user)})
    db.session.commit()
    return user, password


def update_binding(user: User, binding: Binding, actor: User) -> None:
    """Move an account to another point or district, or change the officer's badge."""
    before = _binding_of(user)
    for name, value in asdict(binding.for_role(user.role)).items():
        setattr(user, name, value)
    after = _binding_of(user)
    if after != before:
        audit.append("account.update", "user", user.id, actor=actor, before=before, after=after)
    db.session.commit()


def set_active(user: User, active: bool, actor: User, reason: str) -> None:
    """Deactivate (its sessions end at once) or reactivate an account; raise OwnAccount for oneself."""
    if user.id == actor.id and not active:
        raise OwnAccount()
    audit.switch_active(user, "account", "user", active, actor, reason)


def reset_password(user: User, actor: User) -> str:
    """Give the account a new one-time password (it must be changed at the next login)."""
    password = one_time_password()
    user.password_hash = generate_password_hash(password)
    user.must_change_password = True
    audit.append("account.password_reset", "user", user.id, actor=actor)
    db.session.commit()
    return password


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
