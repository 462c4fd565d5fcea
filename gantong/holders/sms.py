"""Text messages through a pluggable backend; the default writes each message to the log.

SMS_BACKEND names the backend: "log" (default), "memory" (keeps messages on the app, for tests
and demos), or "package.module:factory" for a real gateway, whose factory returns an object
with a send(phone, text) method.
"""

from __future__ import annotations

import logging
from importlib import import_module

from flask import current_app

log = logging.getLogger("gantong.sms")


class LogBackend:
    """Write the message to the log: enough for development and small pilots."""

    def send(self, phone: str, text: str) -> None:
        # WARNING, not INFO: Python's default logging shows nothing below it.
        log.warning("SMS to %s: %s", phone, text)


class MemoryBackend:
    """Keep the messages in the app's outbox, so tests can read what would have been sent."""

    def send(self, phone: str, text: str) -> None:
        outbox(current_app).append((phone, text))


BACKENDS = {"log": LogBackend, "memory": MemoryBackend}

# A Chinese SMS is UCS-2: 70 characters fit one message; a longer one is split into parts of 67
# (each part carries the header that joins them). We keep every message within two parts.
SINGLE_SEGMENT = 70
SEGMENT_PART = 67
MAX_SEGMENTS = 2
MAX_CHARS = MAX_SEGMENTS * SEGMENT_PART


def segments(text: str) -> int:
    """How many SMS segments the text takes (UCS-2, as every message with Chinese in it is)."""
    if len(text) <= SINGLE_SEGMENT:
        return 1
    return -(-len(text) // SEGMENT_PART)


def fit(message: str, tail: str, limit: int = MAX_CHARS) -> str:
    """Return message + tail within `limit` characters, shortening the message with an ellipsis."""
    room = limit - len(tail)
    if len(message) > room:
        message = message[: max(room - 1, 0)] + "…"
    return message + tail


def outbox(app) -> list[tuple[str, str]]:
    """Return the messages the memory backend kept for this app."""
    return app.extensions.setdefault("gantong_sms_outbox", [])


def backend():
    """Return the configured backend."""
    name = current_app.config.get("SMS_BACKEND") or "log"
    if name in BACKENDS:
        return BACKENDS[name]()
    module_name, _, factory = name.partition(":")
    return getattr(import_module(module_name), factory)()


def send(phone: str, text: str) -> None:
    """Send one message now."""
    backend().send(phone, text)
