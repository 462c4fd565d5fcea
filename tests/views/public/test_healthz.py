"""The load balancer's health check: 200 while the database answers, 503 when it does not."""

from __future__ import annotations

from gantong import create_app


def test_healthz_answers_ok_without_a_session_or_a_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert "Set-Cookie" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]


def test_healthz_is_503_not_500_when_the_database_does_not_answer(tmp_path):
    unreachable = tmp_path / "no-such-folder" / "gantong.sqlite"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "h",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{unreachable}",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "database unavailable\n"
