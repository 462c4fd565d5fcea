"""A token of our key stamped before the key could sign was back-dated: the server refuses it,
as the bundle verifiers do (docs/token-format.md, key_not_yet_signing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.codes import keys
from gantong.core import tokens
from gantong.extensions import db
from gantong.models import Holder, SigningKey
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


@pytest.fixture
def staff(client, make_staff):
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})


def token_stamped(app, holder_id, seconds_before_key: int) -> str:
    with app.app_context():
        kid, private = keys.signing_key()
        created = db.session.get(SigningKey, kid).created_at
        holder = db.session.get(Holder, holder_id)
        token = tokens.Token(
            type=tokens.SCREEN,
            kid=kid,
            subject=holder.code_id,
            colour=holder.colour,
            issued_at=int((created - timedelta(seconds=seconds_before_key)).timestamp()),
            ttl=86400,
            **keys.identity_fields(holder),
        )
        return tokens.sign(token, private)


def test_a_token_stamped_before_its_key_is_refused_at_the_checkpoint(
    client, app, staff, make_holder
):
    holder_id = make_holder()
    text = token_stamped(app, holder_id, tokens.MAX_CLOCK_SKEW + 60)
    response = client.post("/checkpoint/verify/token", data={"token": text}, headers=EN)
    assert "Code dated before its key" in response.get_data(as_text=True)


def test_within_the_clock_skew_it_verifies(client, app, staff, make_holder):
    holder_id = make_holder()
    text = token_stamped(app, holder_id, tokens.MAX_CLOCK_SKEW - 60)
    response = client.post("/checkpoint/verify/token", data={"token": text}, headers=EN)
    assert response.status_code == 303 and "/checkpoint/records/" in response.headers["Location"]
