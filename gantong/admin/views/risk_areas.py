"""Key areas and their quarantine days."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.admin import risk_areas
from gantong.extensions import db
from gantong.models import RiskArea

from ..forms import RiskAreaForm
from .blueprint import bp


def _area_saved(area: RiskArea, changed: int):
    flash(
        _(
            "Key area saved: %(name)s. Stored colours changed: %(count)s.",
            name=area.name,
            count=changed,
        )
    )
    return redirect(url_for(".risk_areas_list"), code=303)


@bp.get("/risk-areas")
def risk_areas_list():
    """List the key areas and their quarantine days."""
    return render_template("admin/risk_areas.html", areas=risk_areas.list_areas())


@bp.route("/risk-areas/new", methods=["GET", "POST"])
def new_risk_area():
    """Add a key area."""
    form = RiskAreaForm()
    if form.validate_on_submit():
        return _area_saved(*risk_areas.save_area(None, form.details(), actor=current_user))
    return render_template("admin/risk_area.html", form=form, area=None)


@bp.route("/risk-areas/<int:area_id>", methods=["GET", "POST"])
def risk_area(area_id: int):
    """Change a key area: its code, days, dates, or whether it is in force."""
    area = db.get_or_404(RiskArea, area_id)
    form = RiskAreaForm(obj=area if request.method == "GET" else None)
    if form.validate_on_submit():
        return _area_saved(*risk_areas.save_area(area, form.details(), actor=current_user))
    return render_template("admin/risk_area.html", form=form, area=area)
