"""Role and district guards shared by the blueprints (who may see a page, and whose data)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user


def require_role(*roles: str) -> None:
    """Let through only an account with one of `roles`; an officer also needs a district.

    :raise 403: for any other account.
    """
    if current_user.role not in roles or (
        current_user.role == "officer" and not current_user.district_code
    ):
        abort(403)


def in_district(item, district_code: str | None):
    """Return `item` if it exists and its district is `district_code`.

    :raise 404: if it does not exist or belongs to another district (never 403: an officer
        learns nothing about other districts).
    """
    if item is None or district_code is None or item.district_code != district_code:
        abort(404)
    return item
