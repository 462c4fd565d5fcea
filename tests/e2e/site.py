"""Every page of every role: demo data with something in every queue, and a crawler that walks
the links a role can follow, one page per route and kind of path, in Chinese or English.

The crawl ends with a list of pages; a test checks that it reached every GET route that serves a
page to that role (tests/e2e/test_every_page.py), so a new page cannot slip past the checks."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlparse

from gantong.demo import DEMO_PASSWORD

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

LOGINS = {
    "anonymous": None,
    "resident": "13900000005",
    "staff": "13900000002",
    "officer": "13900000003",
    "admin": "13900000004",
    "lab": "13900000009",
}
HOMES = {
    "anonymous": [
        "/",
        "/login",
        "/register",
        "/account/password/forgot",
        "/account/password/reset",
        "/entry/",
        "/entry/register",
    ],
    "resident": ["/me", "/me/notifications", "/account/password"],
    "staff": ["/checkpoint/"],
    "officer": ["/review/", "/review/people", "/entry/arrivals", "/entry/holders", "/stats/"],
    "admin": ["/admin/", "/stats/"],
    "lab": ["/lab"],
}
# Not pages: files, switches, the service worker, the published keys.
SKIP = re.compile(
    r"^/(a/|static/|language/|text-size/|logout|\.well-known/|checkpoint/sw\.js|api/)|[?&](format|download)="
)


def seed(app) -> dict[str, list[str]]:
    """The demo data, plus an application, a claim, a checkpoint record, a paper code, a partner
    issuer; return the pages a role reaches only through a form (a record opens from a scan)."""
    from gantong import demo
    from gantong.checkpoint import verification
    from gantong.codes import paper
    from gantong.extensions import db
    from gantong.holders import registry
    from gantong.models import Holder, InformationPoint, User, utcnow
    from gantong.review import applications, claims, identity_checks

    result = app.test_cli_runner().invoke(demo.demo)
    assert result.exit_code == 0, result.output
    extra: dict[str, list[str]] = {role: [] for role in LOGINS}
    with app.app_context():

        def user(phone):
            return db.session.scalar(db.select(User).where(User.phone == "+86" + phone))

        fever_owner, contact_owner = user("13900000005"), user("13900000006")
        fever = fever_owner.holders[0]
        contact = contact_owner.holders[0]
        key = applications.open_hits(fever)[0].key
        applications.apply(
            fever, [key], applications.Evidence("other", note="隔离期满，居家观察结束"), fever_owner
        )
        claims.file(
            contact,
            claims.open_hits(contact)[0].key,
            "我没有去过那里",
            "我当天在南昌上班",
            "当天的行程有公司考勤记录可以证明",
            contact_owner,
        )
        officer = user("13900000003")
        # An identity check waiting for a second officer (the crawling officer is the second).
        identity_checks.record(
            contact,
            user("13900000007"),
            contact.doc_type,
            contact.doc_number,
            contact_owner.phone,
            [declaration.id for declaration in identity_checks.voidable(contact)],
        )
        elderly, _ = paper.register_for_paper(
            registry.Identity(
                name="赵老太",
                doc_type="resident_id",
                doc_number="36010219400101123" + _digit("36010219400101123"),
                doc_country="",
                nationality="CN",
                district_code="360102",
                address="南昌市东湖区八一大道 3 号",
            ),
            officer,
        )
        staff = user("13900000002")
        point = db.session.get(InformationPoint, staff.point_id)
        holder = db.session.scalar(db.select(Holder).where(Holder.name == "张三"))
        record, _ = verification.open_record(holder, point, staff, "number", None, utcnow())
        db.session.commit()
        extra["staff"].append(f"/checkpoint/records/{record.record_id}")
        done, _ = verification.open_record(elderly, point, staff, "paper", None, utcnow())
        db.session.commit()
        verification.submit_record(
            verification.reference_for(done),
            done.record_id,
            verification.RecordBody(
                temperature=38.2,
                decision="refer",
                note="体温偏高",
                latitude=None,
                longitude=None,
                accuracy=None,
            ),
        )
        extra["staff"].append(f"/checkpoint/records/{done.record_id}")
    return extra


def _digit(first17: str) -> str:
    from gantong.core.identity import check_digit

    return check_digit(first17)


def log_in(page, base: str, role: str) -> None:
    phone = LOGINS[role]
    if phone is None:
        return
    page.goto(base + "/login")
    page.fill("#phone", phone)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    if "/account/password" in page.url and role != "resident":
        raise AssertionError(f"{role} must change the password first")


def pattern(path: str) -> str:
    """/me/people/12/declare -> /me/people/N/declare: one visit per route and kind of path."""
    return re.sub(r"/[0-9a-f-]{36}|/\d+", "/N", path)


@dataclass
class Crawl:
    role: str
    language: str
    pages: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


def crawl(
    page,
    base: str,
    role: str,
    language: str,
    extra: list[str],
    visit,
    limit: int = 80,
    text_size: str = "standard",
) -> Crawl:
    """Log in, choose the language and the text size ("standard" or "large", the 长辈模式),
    then walk the links; call visit(page, path) on each page."""
    log_in(page, base, role)
    page.goto(f"{base}/language/{language}?next=/")
    page.goto(f"{base}/text-size/{text_size}?next=/")
    found = Crawl(role, language)
    queue = deque(HOMES[role] + extra)
    seen: set[str] = set()
    while queue and len(found.pages) < limit:
        path = queue.popleft()
        key = pattern(urlparse(path).path)
        if key in seen or SKIP.search(path):
            continue
        seen.add(key)
        response = page.goto(base + path)
        status = response.status if response else 0
        found.statuses[path] = status
        if status >= 400 or "text/html" not in (
            response.headers.get("content-type", "") if response else ""
        ):
            continue
        if urlparse(page.url).path != urlparse(path).path:  # redirected: count where it landed
            landed = pattern(urlparse(page.url).path)
            if landed in seen:
                continue
            seen.add(landed)
        found.pages.append(
            urlparse(page.url).path
            + (f"?{urlparse(page.url).query}" if urlparse(page.url).query else "")
        )
        visit(page, found.pages[-1])
        for href in page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.getAttribute('href'))"
        ):
            target = urlparse(urljoin(page.url, href))
            if target.netloc != urlparse(base).netloc or SKIP.search(
                target.path + "?" + target.query
            ):
                continue
            queue.append(target.path)
    return found
