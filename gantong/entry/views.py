"""Pre-entry registration and paper codes."""
from . import bp  # noqa: F401
