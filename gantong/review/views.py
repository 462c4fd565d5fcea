"""District officers: review queues, decisions, official records."""
from flask import abort, render_template
from flask_login import current_user, login_required

from . import bp


@bp.before_request
@login_required
def require_officer():
    """Officers only, each scoped to their own district."""
    if current_user.role != "officer" or not current_user.district_code:
        abort(403)


@bp.get("/")
def queue():
    """The officer's home."""
    return render_template("review/queue.html")
