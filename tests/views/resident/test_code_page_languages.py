"""The code page without JavaScript, in Chinese (the default) and in English: the card, the
reasons (macros imported from another template), the hotline line with its variable, the switch."""

from __future__ import annotations

import re

from tests.views.resident.test_code_page import RED_DEMO, demo_login


def texts(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_code_page_speaks_chinese_by_default_and_english_after_the_switch(app, client):
    demo_login(app, client, RED_DEMO)
    chinese = client.get("/me", follow_redirects=True)
    html = chinese.get_data(as_text=True)
    assert '<html lang="zh-CN"' in html
    for text in ("红码", "已过期：点击刷新", "您可以做什么", "与病例密切接触", "健康码问题请拨打"):
        assert text in html, text
    assert "Close contact with a case on" not in html and "What you can do" not in html
    assert 'lang="en">English</a>' in html

    path = chinese.request.path
    switched = client.get(f"/language/en?next={path}")
    assert switched.status_code == 302 and switched.headers["Location"] == path
    html = client.get(path).get_data(as_text=True)
    assert '<html lang="en"' in html
    for text in (
        "Expired: tap to refresh",
        "What you can do",
        "Close contact with a case on",  # from _reasons.html's macro
        "Questions about the code: the hotline of",
        "Log out",
    ):
        assert text in html, text
    assert "已过期" not in texts(html) and "您可以做什么" not in html
    assert 'lang="zh-CN">中文</a>' in html
    # htmx's refresh of the card keeps the language.
    card = client.get(path, headers={"HX-Request": "true", "HX-Target": "code-card"})
    assert "Expired: tap to refresh" in card.get_data(as_text=True)


def test_template_strings_escape_their_variables_and_format_once(app):
    from flask import render_template_string

    with app.test_request_context(headers={"Cookie": "lang=en"}):
        html = render_template_string(
            '{{ _("Questions about the code: the hotline of %(district)s", district=d) }}'
            '|{{ _("100%% sure") if false else _("Log out") }}'
            '|{{ ngettext("%(num)s day", "%(num)s days", 3) }}',
            d="<b>",
        )
    assert html.startswith("Questions about the code: the hotline of &lt;b&gt;|Log out|3 days")
