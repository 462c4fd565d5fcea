"""Password reset by a one-time SMS code.

Each code is random, issued only when asked for, and stored only as a keyed hash (HMAC under
SECRET_KEY: a copy of the database does not give the codes, nor does trying all million
offline). It works once, for ten minutes, and for MAX_ATTEMPTS wrong tries in all on the
account: past that every live code of the account dies and the owner is told by SMS. An
account gets at most CODES_PER_HOUR codes an hour, whoever asks; the owner is told by SMS when
the password was reset.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from gantong import audit
from gantong.auth.accounts import find_by_phone
from gantong.auth.passwords import hash_password
from gantong.extensions import db
from gantong.holders import sms
from gantong.models import PasswordResetCode, User, utcnow

WINDOW = 600  # seconds a code lives
MAX_ATTEMPTS = 5  # wrong codes per account, over its live codes, before they all die
CODES_PER_HOUR = 3


def _hash(user: User, code: str) -> str:
    key = hashlib.sha256(("password-reset:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return hmac.new(key, f"{user.id}:{code}".encode(), hashlib.sha256).hexdigest()


def _live(user: User, moment: datetime) -> list[PasswordResetCode]:
    query = (
        db.select(PasswordResetCode)
        .where(
            PasswordResetCode.user_id == user.id,
            PasswordResetCode.used_at.is_(None),
            PasswordResetCode.expires_at > moment,
        )
        .order_by(PasswordResetCode.id)
    )
    return list(db.session.scalars(query))


def send_code(phone: str, now: datetime | None = None) -> None:
    """Text a reset code to the number if it has an active account; say nothing either way."""
    moment = now or utcnow()
    user = find_by_phone(phone)
    if user is None or not user.active:
        return
    recent = db.session.scalar(
        db.select(db.func.count())
        .select_from(PasswordResetCode)
        .where(
            PasswordResetCode.user_id == user.id,
            PasswordResetCode.created_at > moment - timedelta(hours=1),
        )
    )
    if recent >= CODES_PER_HOUR:
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    db.session.add(
        PasswordResetCode(
            user_id=user.id,
            code_hash=_hash(user, code),
            created_at=moment,
            expires_at=moment + timedelta(seconds=WINDOW),
            attempts=0,
        )
    )
    db.session.flush()
    sms.send(user.phone, reset_text(code))


def reset_text(code: str) -> str:
    """The reset SMS: in Chinese first (the default language), then in English; both from the
    catalogue, within two segments."""
    parts = []
    for language in dict.fromkeys([current_app.config["BABEL_DEFAULT_LOCALE"], "en"]):
        with force_locale(language):
            parts.append(
                _(
                    "Gantong Code: %(message)s",
                    message=_("password reset code %(code)s, valid for 10 minutes.", code=code),
                )
            )
    return " ".join(parts)


def reset(phone: str, code: str, new_password: str, now: datetime | None = None) -> bool:
    """Set a new password if the code is one of the account's live codes; it is used up."""
    moment = now or utcnow()
    user = find_by_phone(phone)
    if user is None or not user.active:
        return False
    # ASCII digits only: str.isdigit() takes other scripts' digits too.
    typed = "".join(ch for ch in code if ch in "0123456789")
    live = _live(user, moment)
    if not live:
        return False
    digest = _hash(user, typed)
    match = next((entry for entry in live if hmac.compare_digest(entry.code_hash, digest)), None)
    if match is None:
        # The attempt counts on the newest live code; the account's total decides.
        live[-1].attempts += 1
        if sum(entry.attempts for entry in live) >= MAX_ATTEMPTS:
            for entry in live:
                entry.used_at = moment
            audit.append(
                "account.password_reset_blocked",
                "user",
                user.id,
                after={"attempts": MAX_ATTEMPTS},
                at=moment,
            )
            db.session.flush()
            sms.send(
                user.phone,
                "【赣通码】Gantong Code: several wrong password-reset codes were tried on "
                "your account; the code is void. / 您的账号多次输错重置验证码，验证码已作废。",
            )
            return False
        db.session.flush()
        return False
    for entry in live:
        entry.used_at = moment
    user.password_hash = hash_password(new_password)
    audit.append(
        "account.password_reset", "user", user.id, actor=user, after={"by": "sms"}, at=moment
    )
    db.session.flush()
    sms.send(
        user.phone,
        "【赣通码】Gantong Code: your password was reset. If this was not you, contact us. "
        "/ 您的密码已重置；如非本人操作，请联系我们。",
    )
    return True
