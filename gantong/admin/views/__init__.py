"""Administrators' pages, one module an area, all on the one blueprint `bp` (blueprint.py).

Importing the areas' modules registers their routes on bp; create_app registers bp."""

from __future__ import annotations

from . import (  # each registers its routes on bp
    accounts,
    audit_trail,
    certificates,
    districts,
    exports,
    hotlines,
    issuers,
    labs,
    points,
    retention,
    risk_areas,
)
from .blueprint import bp

__all__ = [
    "bp",
    "accounts",
    "audit_trail",
    "certificates",
    "districts",
    "exports",
    "hotlines",
    "issuers",
    "labs",
    "points",
    "retention",
    "risk_areas",
]
