"""The resident's code: what the code page shows, computed and committed before it is drawn."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gantong.codes import keys
from gantong.core import rules, tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder
from gantong.review import applications, claims


@dataclass(frozen=True)
class ScreenCode:
    result: rules.Result
    token: tokens.Token
    text: str  # the token as the QR carries it
    number: str  # the dynamic number under the QR
    expires_at: datetime  # when the token or the number stops being accepted, whichever is first


def screen_code(holder: Holder, now: datetime) -> ScreenCode | None:
    """Refresh the holder's colour, sign a screen token and the dynamic number, and commit.

    None while the holder has no code yet (no declaration): nothing is signed.
    """
    result = registry.refresh_colour(holder, now)
    if not registry.has_code(holder):
        db.session.commit()
        return None
    token, text = keys.signed_screen_token(holder, now)
    number = registry.dynamic_number(holder, now)
    expires_at = min(datetime.fromtimestamp(token.issued_at + token.ttl, now.tzinfo),
                     registry.number_valid_until(now))
    # Drawing the QR is the slow part (segno's mask search): end the transaction first, so
    # that no lock is held while it draws.
    db.session.commit()
    return ScreenCode(result, token, text, number, expires_at)


def can_apply(holder: Holder, result: rules.Result) -> bool:
    """Whether a transcoding application could change the colour: a hit it may clear, not pending."""
    pending = applications.pending_keys(holder)
    return any(applications.clearable(hit) and hit.key not in pending for hit in result.hits)


def can_claim(holder: Holder, result: rules.Result) -> bool:
    """Whether a claim could change the colour: a fact behind it that no pending claim names."""
    pending = claims.pending_keys(holder)
    return any(hit.key not in pending for hit in result.hits)
