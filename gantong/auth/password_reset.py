"""Password reset by a one-time SMS code.

The code is derived, not stored: an HMAC of the account's current password hash and a
ten-minute window. It dies when the password changes (so it works once) or when the window
after next begins; nothing to clean up, and no table to leak.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.security import generate_password_hash

from gantong import audit
from gantong.auth.accounts import find_by_phone
from gantong.extensions import db
from gantong.holders import sms
from gantong.models import User, utcnow

WINDOW = 600  # seconds


def _code(user: User, window: int) -> str:
    key = hashlib.sha256(("password-reset:" + current_app.config["SECRET_KEY"]).encode()).digest()
    message = f"{user.id}:{user.password_hash}:{window}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def send_code(phone: str, now: datetime | None = None) -> None:
    """Text a reset code to the number if it has an active account; say nothing either way."""
    user = find_by_phone(phone)
    if user is None or not user.active:
        return
    window = int((now or utcnow()).timestamp()) // WINDOW
    sms.send(user.phone, reset_text(_code(user, window)))


def reset_text(code: str) -> str:
    """The reset SMS: in Chinese first (the default language), then in English; both from the
    catalogue, within two segments."""
    parts = []
    for language in dict.fromkeys([current_app.config["BABEL_DEFAULT_LOCALE"], "en"]):
        with force_locale(language):
            parts.append(_("Gantong Code: %(message)s",
                           message=_("password reset code %(code)s, valid for 10 minutes.", code=code)))
    return " ".join(parts)


def reset(phone: str, code: str, new_password: str, now: datetime | None = None) -> bool:
    """Set a new password if the code is right for this or the previous window."""
    user = find_by_phone(phone)
    if user is None or not user.active:
        return False
    window = int((now or utcnow()).timestamp()) // WINDOW
    typed = "".join(ch for ch in code if ch.isdigit())
    if not any(hmac.compare_digest(typed, _code(user, w)) for w in (window, window - 1)):
        return False
    user.password_hash = generate_password_hash(new_password)
    audit.append("account.password_reset", "user", user.id, actor=user, after={"by": "sms"})
    db.session.commit()
    return True
