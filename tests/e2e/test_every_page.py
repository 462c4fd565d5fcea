"""Every page of every role, in both languages, in Chromium at 360x640: no page is wider than its
viewport, no control marked hidden shows, and axe-core finds no serious or critical violation;
in standard and in large text (长辈模式).

One app, seeded once, serves the module (the crawls only read); each role and language is
crawled once, with every check on every page, and the tests read their part of that crawl.
GANTONG_SCREENSHOTS=<folder> also saves a screenshot of every page there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import TEST_CONFIG, close_app, open_app
from tests.e2e.conftest import PHONE, serving
from tests.e2e.site import AXE_JS, LOGINS, crawl, log_in, pattern, seed

# The routes each role must reach in the crawl (GET pages; the rest of the url map is files or
# other roles' pages, refused to this role by the role checks the view tests cover).
MUST_REACH = {
    "anonymous": {
        "/",
        "/login",
        "/register",
        "/account/password/forgot",
        "/account/password/reset",
        "/entry/",
        "/entry/register",
    },
    "resident": {
        "/me",
        "/me/notifications",
        "/account/password",
        "/me/people/N",
        "/me/people/N/declare",
        "/me/people/N/history",
        "/me/people/N/checks",
        "/me/people/N/tests",
        "/me/people/N/requests",
        "/me/people/N/apply",
        "/me/people/N/claim",
        "/me/applications/N",
        "/me/people/new",
    },
    "staff": {"/checkpoint/", "/checkpoint/scan", "/checkpoint/records/N"},
    "officer": {
        "/review/",
        "/review/people",
        "/review/people/N",
        "/review/applications/N",
        "/review/claims/N",
        "/review/identity",
        "/review/people/N/identity",
        "/review/identity/N",
        "/entry/arrivals",
        "/entry/holders",
        "/entry/holders/new",
        "/entry/people/N/paper",
        "/stats/",
    },
    "admin": {
        "/admin/",
        "/admin/accounts",
        "/admin/accounts/N",
        "/admin/accounts/new",
        "/admin/audit",
        "/admin/districts",
        "/admin/exports",
        "/admin/issuers",
        "/admin/issuers/new",
        "/admin/labs",
        "/admin/labs/N",
        "/admin/points",
        "/admin/points/N",
        "/admin/points/new",
        "/admin/risk-areas",
        "/admin/risk-areas/N",
        "/admin/risk-areas/new",
        "/admin/retention",
        "/stats/",
    },
    "lab": {"/lab", "/account/password"},
}
# A control the page marks hidden and the stylesheet shows anyway.
SHOWN_HIDDEN = """() => [...document.querySelectorAll('[hidden]')]
  .filter(el => getComputedStyle(el).display !== 'none').map(el => el.outerHTML.slice(0, 120))"""
OVERFLOW = "() => document.documentElement.scrollWidth"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
}"""


def _reached(found):
    """The routes the crawl opened: the pages it checked and those that sent it on to one."""
    return {pattern(path.split("?")[0]) for path in found.pages} | {
        pattern(path.split("?")[0]) for path, status in found.statuses.items() if status < 400
    }


SCREENSHOTS = os.environ.get("GANTONG_SCREENSHOTS")
# Under xdist (--dist loadgroup) the module stays on one worker, which seeds and crawls once.
pytestmark = pytest.mark.xdist_group("every_page")


@pytest.fixture(scope="module")
def served_site(_schema, tmp_path_factory):
    """One app for the module, seeded once, and its live server: (base URL, the seed's pages)."""
    app = open_app({**TEST_CONFIG, "WTF_CSRF_ENABLED": True}, tmp_path_factory.mktemp("every_page"))
    try:
        with serving(app) as base:
            yield base, seed(app)
    finally:
        close_app(app)


@pytest.fixture
def live_server(served_site):
    return served_site[0]


@pytest.fixture
def site(served_site):
    return served_site[1]


def _layout_problems(page):
    width = page.evaluate(OVERFLOW)
    shown = page.evaluate(SHOWN_HIDDEN)
    return {"width": width, "shown_hidden": shown} if width > PHONE["width"] or shown else None


def _axe_problems(page, axe):
    page.evaluate(axe)  # through the devtools protocol: the page's CSP does not apply
    return page.evaluate(AXE_RUN) or None


def _walk(browser, live_server, site, role, language, text_size):
    """Crawl a role's pages once: (the crawl, layout problems by path, axe problems by path)."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    axe = AXE_JS.read_text()
    layout: dict[str, object] = {}
    accessibility: dict[str, object] = {}

    def visit(page, path):
        if found := _layout_problems(page):
            layout[path] = found
        if text_size == "large" and page.locator("html.large").count() != 1:
            layout[path] = "not in large text"
        if found := _axe_problems(page, axe):
            accessibility[path] = found
        if SCREENSHOTS:
            name = pattern(path.split("?")[0]).strip("/").replace("/", "_") or "home"
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(Path(SCREENSHOTS) / f"{role}-{language}-{text_size}-{name}.png"),
                full_page=True,
            )

    try:
        found = crawl(page, live_server, role, language, site[role], visit, text_size=text_size)
    finally:
        context.close()
    return found, layout, accessibility


# Each role, language and text size is crawled once a process, whichever of its two tests asks first: the
# results outlive the module's fixtures (a worker may run other tests between the two).
_CRAWLS: dict[tuple[str, str, str], tuple] = {}


@pytest.fixture
def crawls(request):
    """The crawl of a role in a language and text size, made the first time a test asks for it."""

    def crawl_of(role, language, text_size):
        if (role, language, text_size) not in _CRAWLS:
            browser = request.getfixturevalue("browser")
            _CRAWLS[role, language, text_size] = _walk(
                browser, *request.getfixturevalue("served_site"), role, language, text_size
            )
        return _CRAWLS[role, language, text_size]

    return crawl_of


@pytest.mark.parametrize("text_size", ["standard", "large"])
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", list(LOGINS))
def test_no_page_is_wider_than_a_phone_and_no_hidden_control_shows(
    crawls, role, language, text_size
):
    found, layout, _ = crawls(role, language, text_size)
    print(f"{role}/{language}/{text_size}: {len(found.pages)} pages")
    reached = _reached(found)
    assert MUST_REACH[role] - reached == set(), found.statuses
    assert layout == {}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_declaration_page_is_no_wider_than_a_phone(browser, live_server, site, language):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, live_server, "resident")
        page.goto(f"{live_server}/language/{language}?next=/me")
        declare = page.locator("a[href$='/declare']").first.get_attribute("href")
        page.goto(live_server + declare)
        assert page.evaluate(OVERFLOW) <= PHONE["width"]
    finally:
        context.close()


@pytest.mark.parametrize("text_size", ["standard", "large"])
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", list(LOGINS))
def test_axe_finds_no_serious_or_critical_violation_on_any_page(crawls, role, language, text_size):
    found, _, accessibility = crawls(role, language, text_size)
    reached = _reached(found)
    assert MUST_REACH[role] - reached == set(), found.statuses
    assert accessibility == {}, json.dumps(accessibility, ensure_ascii=False, indent=1)


def test_the_axe_check_finds_a_serious_violation_when_there_is_one(page, live_server):
    """The harness itself: an image without a text alternative is a critical violation."""
    page.goto(live_server + "/login")
    page.evaluate(AXE_JS.read_text())
    assert page.evaluate(AXE_RUN) == []
    page.evaluate(
        "() => document.querySelector('main').append(Object.assign(document.createElement('img'), {src: '/x.png'}))"
    )
    assert [violation["id"] for violation in page.evaluate(AXE_RUN)] == ["image-alt"]
