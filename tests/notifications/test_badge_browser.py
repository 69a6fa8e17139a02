"""The unread count in the top bar is readable: its text against its own background at 4.5:1 at least
(WCAG AA), on a phone."""
import re

import pytest

from gridapp.extensions import db
from gridapp.notifications.services import notify
from tests.browser import login
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _luminance(css: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_formula():
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    assert contrast("rgb(255, 255, 255)", "rgb(238, 241, 244)") < 1.2  # the old white on #eef1f4


def test_the_unread_badge_reads_against_its_background(world, live_server, phone):
    notify([world.vol1], "system", "测试通知", dedupe_key="badge-test")
    db.session.commit()
    login(phone, live_server.url, "vol1", DEFAULT_PASSWORD)
    badge = phone.locator("#unread-badge .badge")
    assert badge.inner_text().strip() == "1"
    fg, bg = badge.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    assert contrast(fg, bg) >= 4.5, (fg, bg)
