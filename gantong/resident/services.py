"""The resident's code: what the code page shows, computed and committed before it is drawn."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gantong.codes import keys
from gantong.core import rules, tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder


@dataclass(frozen=True)
class ScreenCode:
    result: rules.Result
    token: tokens.Token
    text: str  # the token as the QR carries it
    number: str  # the dynamic number under the QR


def screen_code(holder: Holder, now: datetime) -> ScreenCode:
    """Refresh the holder's colour, sign a screen token and the dynamic number, and commit."""
    result = registry.refresh_colour(holder, now)
    token, text = keys.signed_screen_token(holder, now)
    number = registry.dynamic_number(holder, now)
    # Drawing the QR is the slow part (segno's mask search): end the transaction first, so
    # that no lock is held while it draws.
    db.session.commit()
    return ScreenCode(result, token, text, number)
