import pytest
from tests.system.test_postgres_round_trips import wire, round_trips, open_code_page  # noqa

pytestmark = pytest.mark.postgres_only(reason="probe")


def test_probe(app, client, open_code_page):
    with wire(app) as seen:
        assert client.get(open_code_page).status_code == 200
    print("\nROUND TRIPS", round_trips(seen["trace"]))
    for s in seen["statements"]:
        print("STMT", s[:300])
