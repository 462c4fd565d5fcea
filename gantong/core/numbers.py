"""The 8-digit dynamic number for the typed lane, derived instead of registered.

Each 10-minute slot has its own keyed permutation of 0..99,999,999 (a Feistel network over two
4-digit halves, rounds keyed by HMAC-SHA256 with a server secret): the number is the holder's
database id permuted, and the server inverts the permutation to find the holder. No number is
ever written down, two holders never share a number in the same slot, and without the secret
a number says nothing about whose it is or which comes next. Pure: no Flask, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

DIGITS = 8
SPACE = 10**DIGITS  # holder ids must stay below this
_HALF = 10**4
_ROUNDS = 8


def _round(key: bytes, slot: int, index: int, half: int) -> int:
    digest = hmac.new(key, struct.pack(">QBI", slot, index, half), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % _HALF


def number(key: bytes, holder_id: int, slot: int) -> str:
    """Return the holder's number for the slot (8 digits)."""
    if not 0 <= holder_id < SPACE:
        raise ValueError("a dynamic number needs a holder id below 10^8")
    left, right = divmod(holder_id, _HALF)
    for index in range(_ROUNDS):
        left, right = right, (left + _round(key, slot, index, right)) % _HALF
    return f"{left * _HALF + right:0{DIGITS}d}"


def holder_id(key: bytes, typed: str, slot: int) -> int | None:
    """Return the holder id whose number in the slot is `typed`; None unless 8 digits."""
    if not isinstance(typed, str) or len(typed) != DIGITS or not typed.isascii():
        return None
    if not typed.isdigit():
        return None
    left, right = divmod(int(typed), _HALF)
    for index in reversed(range(_ROUNDS)):
        left, right = (right - _round(key, slot, index, left)) % _HALF, left
    return left * _HALF + right


def slot_of(at: int, step: int) -> int:
    """Return the slot holding the Unix second `at`."""
    return at // step
