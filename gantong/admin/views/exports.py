"""Verification records or applications as CSV."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from gantong import unit_of_work
from gantong.admin import exports
from gantong.models import today
from gantong.stats import figures
from gantong.web.i18n import current_language

from ..forms import ExportForm
from .blueprint import bp


@bp.route("/exports", methods=["GET", "POST"])
@unit_of_work.reads  # the rows stream after the audit event's commit, without SQLite's write lock
def export():
    """Download verification records or applications as CSV, by district and days."""
    form = ExportForm()
    if not form.is_submitted():
        form.start.data, form.end.data = figures.default_range(today(), days=28)
    if form.validate_on_submit():
        selection = form.selection()
        # ?columns=codes (or the form's choice) keeps the stable codes; else the page's language.
        language = (
            ""
            if (request.args.get("columns") or form.columns.data) == "codes"
            else current_language()
        )
        header, rows = exports.start_export(
            form.kind.data, selection, actor=current_user, language=language
        )
        response = Response(
            stream_with_context(exports.csv_chunks(header, rows)), mimetype="text/csv"
        )
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{exports.filename(form.kind.data, selection)}"'
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template("admin/export.html", form=form)
