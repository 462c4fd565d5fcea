"""Role and district guards shared by the blueprints (who may see a page, and whose data)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user


def require_role(*roles: str) -> None:
    """Let through only a logged-in account with one of `roles`.

    :raise 403: for any other role.
    """
    if current_user.role not in roles:
        abort(403)


def require_district_officer() -> None:
    """Let through only an officer bound to a district.

    :raise 403: for other roles, and for an officer without a district.
    """
    if current_user.role != "officer" or not current_user.district_code:
        abort(403)


def in_officer_district(item, district_code: str | None):
    """Return `item` if it exists and belongs to `district_code`.

    :raise 404: if it does not exist or belongs to another district (never 403: the officer
        learns nothing about other districts).
    """
    if item is None or district_code is None or item.district_code != district_code:
        abort(404)
    return item
