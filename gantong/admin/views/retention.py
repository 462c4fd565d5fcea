"""Retention: the setting, what is kept, and the purge of expired verification records."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.admin import retention

from ..forms import RetentionForm
from .blueprint import bp


@bp.route("/retention", methods=["GET", "POST"])
def retention_page():
    """The retention setting, what is kept, and the purge: one batch per request, with progress."""
    days = retention.retention_days()
    form = RetentionForm()
    if request.method == "POST" and form.validate_on_submit():
        total = form.total.data if form.total.data is not None else retention.status(days).to_purge
        result = retention.purge_one_batch(
            days,
            current_user,
            batch=current_app.config.get("RETENTION_BATCH_SIZE", retention.BATCH_SIZE),
        )
        deleted = (form.deleted.data or 0) + result.deleted
        left = retention.status(days).to_purge
        if result.deleted and left:
            total = max(total, deleted + left)
            progress = RetentionForm(
                formdata=None, data={"confirm": True, "total": total, "deleted": deleted}
            )
            return render_template(
                "admin/retention_progress.html",
                form=progress,
                deleted=deleted,
                total=total,
                left=left,
            )
        flash(_("%(count)s expired verification records deleted.", count=deleted))
        return redirect(url_for(".retention_page"), code=303)
    return render_template("admin/retention.html", status=retention.status(days), form=form)
