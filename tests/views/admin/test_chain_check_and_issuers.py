"""The chain check against a kept head reads only a hash or a signed head, and speaks the user's
language throughout; the new-issuer key errors are one translated sentence each."""

from __future__ import annotations

import json
import re

import pytest

from gantong import audit
from gantong.extensions import db
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def admin(client, make_user):
    _, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return client


@pytest.fixture
def events(app):
    with app.app_context():
        for number in range(1, 6):
            audit.append("application.approve", "application", number, reason=f"理由 {number}")
        db.session.commit()


def main_text(html: str) -> str:
    """The words a reader sees in the page's main part (no tags, no attribute values)."""
    main = re.search(r"<main.*?</main>", html, re.S).group(0)
    main = re.sub(r"<code.*?</code>", " ", main, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def english_in(text: str) -> list[str]:
    """Runs of three or more English words: a sentence left untranslated."""
    return re.findall(r"[A-Za-z]+(?:[ ,:'’]+[A-Za-z]+){2,}", text)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (ZH, "请粘贴链头哈希（64位，0–9、a–f）或签名链头的JSON。"),
        (EN, "Paste a head hash (64 characters, 0–9 and a–f) or the signed head's JSON."),
    ],
)
@pytest.mark.parametrize("pasted", ["hello world", "12345", "z" * 64, "0" * 63])
def test_text_that_is_no_hash_is_refused_next_to_the_field_not_called_tampered(
    admin, events, headers, message, pasted
):
    response = admin.post("/admin/audit/check", data={"kept": pasted}, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(r'<p class="error" id="kept-error">(.*?)</p>', html, re.S)
    assert error is not None and error.group(1) == message
    assert "Tampered" not in html and "篡改" not in html
    assert 'aria-invalid="true"' in html and pasted in html  # what was typed stays


def test_a_copied_hash_with_spaces_and_capitals_is_read_as_the_hash(admin, events):
    head = json.loads(admin.get("/audit/head.json").get_data(as_text=True))["head_hash"]
    pasted = f" {head[:16].upper()} {head[16:40]}\n{head[40:]} "
    html = admin.post("/admin/audit/check", data={"kept": pasted}, headers=EN).text
    assert "The chain still holds the kept head." in html


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (ZH, "这不是本系统签名的链头：它既不是链头哈希，也不是签名链头的JSON"),
        (EN, "This is not a signed head of ours: it is neither a head hash nor the JSON"),
    ],
)
def test_broken_json_is_refused_next_to_the_field_in_the_user_s_language(
    admin, events, headers, message
):
    html = admin.post("/admin/audit/check", data={"kept": "{not json"}, headers=headers).text
    error = re.search(r'<p class="error" id="kept-error">(.*?)</p>', html, re.S).group(1)
    assert error.startswith(message) and "Tampered" not in html and "篡改" not in html


def test_a_hash_not_in_the_chain_is_named_in_chinese_on_the_chinese_page(admin, events):
    html = admin.post("/admin/audit/check", data={"kept": "ab" * 32}, headers=ZH).text
    assert "篡改" in html and english_in(main_text(html)) == []
    en = admin.post("/admin/audit/check", data={"kept": "AB" * 32}, headers=EN).text
    assert "is not the hash of any event" in en


def test_a_kept_head_the_chain_lost_is_named_in_chinese(app, admin, events):
    kept = admin.get("/audit/head.json").get_data(as_text=True)
    with app.app_context():
        db.session.execute(db.text("DELETE FROM audit_event WHERE seq > 3"))
        db.session.commit()
    html = admin.post("/admin/audit/check", data={"kept": kept}, headers=ZH).text
    assert "第 5 条事件" in html and english_in(main_text(html)) == []
    en = admin.post("/admin/audit/check", data={"kept": kept}, headers=EN).text
    assert "is not the hash of event 5" in en


def test_a_broken_chain_checked_against_a_head_is_named_in_chinese(app, admin, events):
    with app.app_context():
        db.session.execute(db.text("UPDATE audit_event SET reason = 'x' WHERE seq = 2"))
        db.session.commit()
    html = admin.post("/admin/audit/check", data={"kept": "ab" * 32}, headers=ZH).text
    assert "第 2 条" in html and english_in(main_text(html)) == []


def test_a_forged_signed_head_is_refused_in_chinese(admin, events):
    head = json.loads(admin.get("/audit/head.json").get_data(as_text=True))
    for forged in (
        {**head, "kid": "deadbeef"},
        {**head, "seq": head["seq"] + 1},
        {"seq": 1},
    ):
        html = admin.post("/admin/audit/check", data={"kept": json.dumps(forged)}, headers=ZH).text
        assert 'id="kept-error"' in html, forged
        assert english_in(main_text(html)) == [], (forged, english_in(main_text(html)))


def test_the_chain_check_page_has_no_english_sentence_in_chinese(admin, events):
    assert english_in(main_text(admin.get("/admin/audit/check", headers=ZH).text)) == []


@pytest.mark.parametrize(
    ("jwk", "zh", "en"),
    [
        (
            '{"kty": "RSA"}',
            "公钥必须是JWK格式的Ed25519密钥",
            "The public key must be an Ed25519 key in JWK form",
        ),
        ("{", "公钥不是有效的JSON。", "The public key is not valid JSON."),
    ],
)
def test_a_bad_issuer_key_is_one_translated_sentence(admin, jwk, zh, en):
    data = {"name": "湖南省卫健委", "region": "湖南省", "valid_from": "2026-01-01", "jwk": jwk}
    html = admin.post("/admin/issuers/new", data=data, headers=ZH).text
    error = re.search(r'<p class="error" id="jwk-error">(.*?)</p>', html, re.S).group(1)
    assert error.startswith(zh) and "尚未赋码" not in html
    html = admin.post("/admin/issuers/new", data=data, headers=EN).text
    error = re.search(r'<p class="error" id="jwk-error">(.*?)</p>', html, re.S).group(1)
    assert error.startswith(en)
