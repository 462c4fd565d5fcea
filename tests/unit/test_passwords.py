"""Production hashes passwords with scrypt; the tests' cheap method is the tests' alone."""

from __future__ import annotations

import pytest

from gantong import create_app
from gantong.auth.passwords import check_password, hash_password
from gantong.config import Config


@pytest.mark.nodb
def test_production_hashes_with_scrypt():
    app = create_app(
        {"SECRET_KEY": "p", "SQLALCHEMY_DATABASE_URI": "sqlite://", "PUBLIC_URL": "https://x.cn"}
    )
    assert Config.PASSWORD_HASH_METHOD == app.config["PASSWORD_HASH_METHOD"] == "scrypt"
    with app.app_context():
        stored = hash_password("correct horse")
    assert stored.startswith("scrypt:") and check_password(stored, "correct horse")
    assert not check_password(stored, "wrong horse")


def test_tests_use_the_cheap_method(app):
    with app.app_context():
        stored = hash_password("correct horse")
    assert stored.startswith("pbkdf2:sha256:1$") and check_password(stored, "correct horse")
