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
    _counted, wait = _spend(_budgets(staff_id, point_id), 1)
    return wait


def _budgets(staff_id: int | None, point_id: int) -> list[tuple[str, str]]:
    budgets = [(current_app.config["RECORD_LIMIT_PER_POINT"], f"point:{point_id}")]
    if staff_id is not None:
        budgets.append((current_app.config["RECORD_LIMIT_PER_STAFF"], f"staff:{staff_id}"))
    return budgets


def _spend(budgets: list[tuple[str, str]], wanted: int) -> tuple[int, float]:
    # Every window of both budgets read at once and counted in one upsert (a batch's records
    # too): two statements, not two or three per window.
    counted = rate_limits.spend_up_to(budgets, SCOPE, wanted)
    if counted == wanted:
        return counted, 0.0
    wait = max(rate_limits.wait_for(limits, key, SCOPE) for limits, key in budgets)
    return counted, max(wait, 1.0)


def spend_many(staff_id: int, point_id: int, wanted: int) -> tuple[int, float]:
    """Count up to `wanted` records for the account and the point at once: how many were
    counted (the first ones of a batch) and, when not all, the seconds to wait for the rest."""
    return _spend(_budgets(staff_id, point_id), wanted)
