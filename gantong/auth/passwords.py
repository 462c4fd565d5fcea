"""Password hashes with the method the config names (PASSWORD_HASH_METHOD: scrypt in production)."""

from __future__ import annotations

from functools import cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash


def hash_password(password: str) -> str:
    """Return the salted hash of a password, by the configured method."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password(stored_hash: str, password: str) -> bool:
    """Say whether a password matches its stored hash (the hash names its own method)."""
    return check_password_hash(stored_hash, password)


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not a password", method=method)


def check_absent(password: str) -> None:
    """Check a password against a dummy hash, as long as a real check, so timing tells nothing."""
    check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
