from flask import Blueprint

bp = Blueprint("checkpoint", __name__, url_prefix="/checkpoint")

from . import views  # noqa: E402,F401
