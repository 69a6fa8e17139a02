"""bench/phone.py, the load time on a phone: its measurement works — one page of the small test
world, opened in Chromium emulating the phone with the benchmark's throttling, on a first visit
(empty cache) and a repeat visit. Figures are plausible, never timed against a target."""
import pytest

from bench.phone import NETWORK, measure_page, password_login
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_a_first_and_a_repeat_visit_are_measured_on_a_throttled_phone(world, live_server, chromium):
    result = measure_page(chromium, live_server.url, password_login("vol1", DEFAULT_PASSWORD), "/errands/")

    first, repeat = result["first"], result["repeat"]
    for visit in (first, repeat):
        # Every page crosses the throttled network at least once: no visit beats its latency.
        assert NETWORK["latency"] / 1000 <= visit["dcl_s"] < 60
        assert 0 < visit["tap_s"] < 60
        assert visit["usable_s"] == max(visit["dcl_s"], visit["tap_s"])
        assert 0 < visit["fcp_s"] < 60
        assert visit["tap_target"].split()[0] in {"a", "button", "input", "summary", "label"}
        assert visit["bytes"] > 1000
    # The first visit fetches the page, its stylesheet and its scripts; the repeat visit the page
    # alone (the static files are cached as immutable under their hashed names).
    assert first["requests"] >= 4
    assert repeat["requests"] == 1
    assert repeat["bytes"] < first["bytes"]
