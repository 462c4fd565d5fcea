"""Labs: POST /api/v1/lab-results (docs/openapi.yaml) and the lab account's own page."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, abort, current_app, flash, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from gantong.extensions import csrf, limiter
from gantong.labs import results
from gantong.web.guards import require_role

bp = Blueprint("labs", __name__)


def _rate_key() -> str:
    header = request.headers.get("Authorization", "")
    return "lab-token:" + hashlib.sha256(header.encode()).hexdigest()[:24]


@bp.post("/api/v1/lab-results")
@csrf.exempt
@limiter.limit(lambda: current_app.config["LAB_POST_LIMIT"], key_func=_rate_key)
def post_results():
    """Store a lab's batch of results: each good one once, each bad one refused with why."""
    header = request.headers.get("Authorization", "")
    caller = (
        results.caller_for_token(header.removeprefix("Bearer ").strip())
        if header.startswith("Bearer ")
        else None
    )
    if caller is None:
        return jsonify(error="unauthorised", message="Send a live lab API token."), 401
    lab, account = caller
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError):
        body = None
    items = body.get("results") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return jsonify(error="malformed", message='Send a JSON object {"results": [...]}.'), 400
    try:
        outcome = results.post_batch(lab, account, items)
    except results.TooMany:
        limit = current_app.config["LAB_BATCH_LIMIT"]
        return jsonify(
            error="too_many", message=f"At most {limit} results per request.", limit=limit
        ), 413
    return jsonify(
        lab={"id": lab.id, "name": lab.name},
        stored=len(outcome.stored),
        already_stored=len(outcome.already),
        refused=outcome.refused,
        matched=outcome.matched,
        positives=outcome.positives,
        already_stored_sample_ids=outcome.already,
    ), 200


class TokenForm(FlaskForm):
    label = StringField(_l("Label"), validators=[Optional(), Length(max=100)])


@bp.route("/lab", methods=["GET", "POST"])
@login_required
def home():
    """The lab account's page: its lab's latest results and API tokens, a new token."""
    require_role("lab")
    lab = current_user.lab
    if lab is None:
        abort(403)
    form = TokenForm()
    token = None
    if form.validate_on_submit():
        token = results.new_api_token(current_user._get_current_object(), form.label.data or "")
        flash(_("Token made. Copy it now: it is shown only once."))
    return render_template(
        "labs/home.html",
        lab=lab,
        form=form,
        token=token,
        tokens=results.api_tokens(lab),
        latest=results.for_lab(lab),
    )
