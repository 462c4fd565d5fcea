"""How many records a staff account and a point may store (RECORD_LIMIT_PER_STAFF and
RECORD_LIMIT_PER_POINT, see gantong/config.py): one session stored 293 a second without them.

Both endpoints take one record a request, so a request is a record. The record page's
submission may arrive without a session (a queue sent after logout): it counts for the staff
account and the point its signed reference names.
"""

from __future__ import annotations

from flask import current_app

from gantong.web import rate_limits

SCOPE = "checkpoint.records"


def spend(staff_id: int | None, point_id: int) -> float:
    """Count one record for the account and the point: 0.0 if counted, else the seconds to
    wait (and nothing counted for either)."""
    budgets = [(current_app.config["RECORD_LIMIT_PER_POINT"], f"point:{point_id}")]
    if staff_id is not None:
        budgets.append((current_app.config["RECORD_LIMIT_PER_STAFF"], f"staff:{staff_id}"))
    wait = max(rate_limits.wait_for(limits, key, SCOPE) for limits, key in budgets)
    if wait:
        return wait
    for limits, key in budgets:
        wait = rate_limits.spend(limits, key, SCOPE)
        if wait:  # another worker took the last one meanwhile
            return wait
    return 0.0
