"""How many records a staff account and a point may store (RECORD_LIMIT_PER_STAFF and
RECORD_LIMIT_PER_POINT, see gantong/config.py): one session stored 293 a second without them.

The record page takes one record a request; the scan page's endpoint takes a batch too, and
every record of a batch counts (`spend_many`). The record page's
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


def spend_many(staff_id: int, point_id: int, wanted: int) -> tuple[int, float]:
    """Count up to `wanted` records for the account and the point at once: how many were
    counted (the first ones of a batch) and, when not all, the seconds to wait for the rest."""
    budgets = [
        (current_app.config["RECORD_LIMIT_PER_POINT"], f"point:{point_id}"),
        (current_app.config["RECORD_LIMIT_PER_STAFF"], f"staff:{staff_id}"),
    ]
    granted = rate_limits.spend_up_to(budgets, SCOPE, wanted)
    if granted == wanted:
        return granted, 0.0
    wait = max(rate_limits.wait_for(limits, key, SCOPE) for limits, key in budgets)
    return granted, max(wait, 1.0)
