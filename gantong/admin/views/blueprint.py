"""The administrators' blueprint `bp`: admins only; and what the areas' pages share."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint, flash, redirect, render_template
from flask_login import login_required

from gantong.web.guards import require_role

from ..forms import ROLE_LABELS, ActiveForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    """Admins only."""
    require_role("admin")


@bp.context_processor
def labels():
    return {"role_labels": ROLE_LABELS}


@bp.get("/")
def index():
    """The admin home."""
    return render_template("admin/index.html")


def toggle_active(
    thing,
    switch: Callable[..., object],
    render: Callable,
    back_to: str,
    said: tuple[str, str],
    refusals: Mapping[type[Exception], str] | None = None,
):
    """Take a point, account or issuer out of use or back into use, with a reason.

    `switch(active, reason=…)` makes the change; `render(active_form=…)` shows the page again
    with the form's errors, also for an exception named in `refusals` (with its message); `said`
    is what to flash once it is back in use, and once it is out of use.
    """
    form = ActiveForm()
    if not form.validate_on_submit():
        return render(active_form=form)
    try:
        switch(not thing.active, reason=form.reason_text())
    except tuple(refusals or ()) as refusal:
        form.reason.errors.append(refusals[type(refusal)])
        return render(active_form=form)
    back_in_use, out_of_use = said
    flash(back_in_use if thing.active else out_of_use)
    return redirect(back_to, code=303)
