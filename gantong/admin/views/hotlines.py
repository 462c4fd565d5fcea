"""Each district's hotline."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.holders import hotlines

from ..forms import HotlineForm
from .blueprint import bp


@bp.route("/hotlines", methods=["GET", "POST"])
def hotlines_page():
    """Each district's hotline, shown beside "what you can do" on its residents' code pages."""
    form = HotlineForm()
    if form.validate_on_submit():
        hotlines.set_hotline(**form.details(), actor=current_user)
        flash(_("Hotline saved."))
        return redirect(url_for(".hotlines_page"), code=303)
    return render_template(
        "admin/hotlines.html", form=form, rows=hotlines.all_set(), default=hotlines.DEFAULT_HOTLINE
    )
