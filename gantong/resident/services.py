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
    """The holder's colour of now (stored if it changed), a signed screen token, the number.

    The code page's views read first (transactions.reads_first): the colour and the number
    take the write lock only when they change, and commit at once, before anything is drawn.
    """
    result = registry.current_colour(holder, now)
    if db.session.new or db.session.dirty:
        db.session.commit()
    number = registry.dynamic_number(holder, now)
    token, text = keys.signed_screen_token(holder, now)
    return ScreenCode(result, token, text, number)
