from flask import Blueprint

bp = Blueprint("entry", __name__, url_prefix="/entry")

from . import cli, views  # noqa: E402,F401
