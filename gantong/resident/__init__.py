from flask import Blueprint

bp = Blueprint("resident", __name__, url_prefix="/me")

from . import views  # noqa: E402,F401
