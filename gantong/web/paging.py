"""Paging for lists: the page number from the query string, and one page of a query."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from gantong.extensions import db

# Far beyond any real list; a bigger ?page= is refused as page 1 rather than an OFFSET overflow.
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    has_next: bool


def page_number() -> int:
    """Return the ?page= number asked for (1 when missing, bad or out of range)."""
    number = request.args.get("page", 1, type=int) or 1
    return number if 1 <= number <= MAX_PAGE else 1


def page_of(query, number: int, size: int) -> Page:
    """Return page `number` of `query` (ordered by the caller) with `size` rows at most."""
    # Flask-SQLAlchemy counts the whole selection too: fine for the short lists paged this
    # way (keyset paging serves the long ones: the audit trail, the review queue, exports).
    pagination = db.paginate(query, page=number, per_page=size, max_per_page=size, error_out=False)
    return Page(list(pagination.items), number, pagination.has_next)
