"""A live server in a thread and Debian's Chromium driven by Playwright.

In CI (CI=true) a missing Chromium fails the run; elsewhere the browser tests are skipped.
On PostgreSQL only the `smoke` test runs: the rest prove pages, which the SQLite pass proves,
and what the database does behind them is proven by the view tests on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 640}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in str(item.fspath) and item.get_closest_marker("smoke") is None:
            item.add_marker(
                pytest.mark.sqlite_only(
                    reason="a page in the browser: proven on SQLite; on PostgreSQL the smoke test runs"
                )
            )
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"Chromium not found at {CHROMIUM}: CI needs the browser tests")
    skip = pytest.mark.skip(reason="Chromium is not installed (scripts/test.sh installs it)")
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture
def app_config(app_config):
    # The browser posts real forms: CSRF on, as in production.
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROME_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE, "locale": "zh-CN"}


@contextmanager
def serving(app):
    """Serve the app on a free port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def live_server(app):
    with serving(app) as base:
        yield base


class RequestLog:
    """Every request the page makes, and every CSP violation it reports."""

    def __init__(self, page):
        self.urls: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("console", lambda message: self.console.append(message.text))

    def foreign_hosts(self, base: str) -> set[str]:
        ours = urlparse(base).netloc
        return {
            urlparse(url).netloc
            for url in self.urls
            if urlparse(url).scheme in ("http", "https") and urlparse(url).netloc != ours
        }

    def csp_violations(self) -> list[str]:
        return [text for text in self.console if "Content Security Policy" in text]


@pytest.fixture
def request_log(page):
    return RequestLog(page)
