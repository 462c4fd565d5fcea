"""Administrators: districts, points, accounts, risk areas, issuers, statistics, audit."""
from flask import abort, render_template
from flask_login import current_user, login_required

from . import bp


@bp.before_request
@login_required
def require_admin():
    """Admins only."""
    if current_user.role != "admin":
        abort(403)


@bp.get("/")
def index():
    """The admin home."""
    return render_template("admin/index.html")
