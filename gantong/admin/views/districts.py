"""Jiangxi's districts with their points and holders."""

from __future__ import annotations

from flask import render_template

from gantong.stats import figures

from .blueprint import bp


@bp.get("/districts")
def districts():
    """List Jiangxi's districts with their points and holders."""
    return render_template("admin/districts.html", rows=figures.districts_overview())
