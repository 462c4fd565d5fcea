"""This feature's `flask gantong ...` commands (registered on the shared group)."""
from ..cli import gantong_cli  # noqa: F401
