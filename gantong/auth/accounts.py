"""Accounts: registration, password checks and the account's own password change."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from gantong import audit
from gantong.auth.passwords import check_absent, check_password, hash_password
from gantong.extensions import db
from gantong.models import User


class SamePassword(Exception):
    """The new password is the one-time password again."""


class WrongPassword(Exception):
    """The current password given is not the account's."""


class PhoneTaken(Exception):
    """An account with this phone number exists already."""


def find_by_phone(phone: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.phone == phone))


def register(phone: str, password: str, role: str = "resident", **fields) -> User:
    """Create an account; raise PhoneTaken if the number has one."""
    if find_by_phone(phone) is not None:
        raise PhoneTaken()
    user = User(phone=phone, password_hash=hash_password(password), role=role, **fields)
    try:
        with db.session.begin_nested():  # only this insert is undone if it collides
            db.session.add(user)
    except IntegrityError as error:  # the same number registered at the same moment
        raise PhoneTaken() from error
    return user


def authenticate(phone: str, password: str) -> User | None:
    """Return the active account if the password is right, else None."""
    user = find_by_phone(phone)
    if user is None:
        check_absent(password)
        return None
    if not check_password(user.password_hash, password) or not user.active:
        return None
    return user


def change_own_password(user: User, current: str, new: str) -> None:
    """Replace the one-time (or current) password with the user's own choice."""
    if not check_password(user.password_hash, current):
        raise WrongPassword()
    if current == new:
        raise SamePassword()
    user.password_hash = hash_password(new)
    user.must_change_password = False
    audit.append("account.password_change", "user", user.id, actor=user)
    db.session.flush()


NOTICE_EVERY = 15 * 60  # seconds between two "someone is trying your password" messages


def tell_owner_of_failed_logins(phone: str) -> None:
    """Text the account's owner that its logins are held back by failed attempts.

    At most once per NOTICE_EVERY, counted in the rate-limit storage that every worker shares;
    nothing for a number without an account.
    """
    from gantong.extensions import limiter
    from gantong.holders import sms

    user = find_by_phone(phone)
    if user is None or not user.active:
        return
    if limiter.storage.incr(f"login-notice:{user.id}", NOTICE_EVERY) != 1:
        return
    sms.send(
        user.phone,
        "【赣通码】Gantong Code: many wrong passwords were tried on your account; logins wait "
        "a few minutes and resume once it stops. / 您的账号多次输错密码，登录将暂缓几分钟，"
        "停止后即恢复。",
    )
