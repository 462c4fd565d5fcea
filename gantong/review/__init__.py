from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from . import cli, views  # noqa: E402,F401
