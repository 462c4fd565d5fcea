"""Information points: their details and position, use, API tokens and staff."""

from __future__ import annotations

from functools import partial

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.checkpoint import points
from gantong.extensions import db
from gantong.models import InformationPoint, PointApiToken
from gantong.web.fragments import page_or_fragment
from gantong.web.paging import page_number

from ..forms import ActiveForm, ConfirmForm, DistrictFilterForm, PointForm, TokenForm
from .blueprint import bp, toggle_active


def _shown_once(html: str):
    """A page carrying a secret shown once: no cache may keep it."""
    response = Response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


def _point_or_404(point_id: int) -> InformationPoint:
    """Return the point.

    :raise 404: if there is none with this id.
    """
    return db.get_or_404(InformationPoint, point_id)


@bp.get("/points")
def list_points():
    """List information points, filtered by district."""
    district = request.args.get("district", "")
    listing = points.list_points(district, page_number())
    return page_or_fragment(
        "admin/points.html",
        "admin/_points.html",
        "results",
        rows=listing.rows,
        has_next=listing.has_next,
        page=listing.number,
        district=district,
        filter_form=DistrictFilterForm(request.args),
    )


@bp.route("/points/new", methods=["GET", "POST"])
def new_point():
    """Add an information point."""
    form = PointForm()
    if form.validate_on_submit():
        details = form.details()
        point = points.add_point(
            details.name,
            details.district_code,
            details.address,
            details.latitude,
            details.longitude,
            actor=current_user,
            mode=details.mode,
            keeps_records=details.keeps_records,
        )
        flash(_("Point added: %(name)s.", name=point.name))
        return redirect(url_for(".point", point_id=point.id), code=303)
    return render_template("admin/point_new.html", form=form)


def _render_point(
    point: InformationPoint,
    form: PointForm | None = None,
    new_token: str | None = None,
    token_form: TokenForm | None = None,
    active_form: ActiveForm | None = None,
):
    return render_template(
        "admin/point.html",
        point=point,
        form=form or PointForm.for_point(point),
        tokens=points.api_tokens(point),
        staff=points.staff_at(point),
        new_token=new_token,
        token_form=token_form or TokenForm(),
        active_form=active_form or ActiveForm(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/points/<int:point_id>", methods=["GET", "POST"])
def point(point_id: int):
    """Show a point: edit its details and position, its API tokens, its staff."""
    point = _point_or_404(point_id)
    form = PointForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        points.update_point(point, form.details(), actor=current_user)
        flash(_("Point saved."))
        return redirect(url_for(".point", point_id=point.id), code=303)
    return _render_point(point, form)


@bp.post("/points/<int:point_id>/active")
def point_active(point_id: int):
    """Take a point out of use, or back into use, with a reason."""
    point = _point_or_404(point_id)
    said = (
        _("Point back in use."),
        _("Point out of use: its staff and API tokens can no longer verify."),
    )
    return toggle_active(
        point,
        partial(points.set_point_active, point, actor=current_user),
        partial(_render_point, point),
        url_for(".point", point_id=point.id),
        said,
    )


@bp.post("/points/<int:point_id>/tokens")
def new_token(point_id: int):
    """Make an API token for the point and show it once."""
    point = _point_or_404(point_id)
    form = TokenForm()
    if not form.validate_on_submit():
        return _render_point(point, token_form=form)
    token = points.new_api_token(point.id, form.label_text(), actor=current_user)
    # Shown in this answer only, never carried to a next page in the session: Flask's session
    # cookie is signed, not encrypted, so anyone holding a copy could read it. (Sending the form
    # again makes a second token; the list shows both, and either can be revoked.)
    return _shown_once(_render_point(point, new_token=token))


@bp.post("/points/<int:point_id>/tokens/<int:token_id>/revoke")
def revoke_token(point_id: int, token_id: int):
    """Revoke one of the point's API tokens."""
    point = _point_or_404(point_id)
    token = db.session.get(PointApiToken, token_id)
    if token is None or token.point_id != point.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        points.revoke_api_token(token.id, actor=current_user)
        flash(_("Token revoked."))
    return redirect(url_for(".point", point_id=point.id), code=303)
