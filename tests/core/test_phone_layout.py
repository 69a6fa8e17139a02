"""Every page of every demo role on a 360×740 phone, in Chinese: nothing wider than the screen, every
control big enough to tap (WCAG 2.2 target size: 44×44 px, or at least 24×24 px with room around it),
and the badges and buttons readable (text contrast at least 4.5:1). The screenshots it takes are the
ones in docs/screenshots/phone-<role>-home.png."""
import os

import pytest

from gridapp.auth.passwords import DEMO_PASSWORD
from gridapp.demo import seed
from gridapp.extensions import db
from tests.browser import SCREENSHOTS, login
from tests.notifications.test_badge_browser import contrast

pytestmark = pytest.mark.browser

ROLES = ["admin", "leader", "sup1", "secretary1", "gridder1", "head1", "vol1", "pm1", "unit1"]
EXTRA_PAGES = ["/profile", "/notifications/"]

# What a page says about itself: its width, and every control with its box, spacing and colours.
MEASURE = """() => {
  const controls = [];
  const selector = ['main a[href]', 'main button', 'main select', 'main input:not([type=hidden])', 'main summary',
                    'header a[href]', 'header button', 'footer a[href]', 'footer button'].join(', ');
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    // Not shown (in a folded <details>, display:none, hidden): nothing to tap.
    const shown = el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true});
    if (r.width === 0 || r.height === 0 || !shown) continue;
    const style = getComputedStyle(el);
    // A link inside a sentence is exempt (WCAG 2.5.8 "inline"): its parent holds other text too.
    const parentText = (el.parentElement ? el.parentElement.innerText : '').trim();
    const inline = el.tagName === 'A' && style.display === 'inline'
                   && parentText.length > el.innerText.trim().length + 2;
    // A checkbox or radio is tapped through its label.
    const label = (el.type === 'checkbox' || el.type === 'radio') ? el.closest('label') : null;
    const box = label ? label.getBoundingClientRect() : r;
    controls.push({what: el.outerHTML.slice(0, 80), w: box.width, h: box.height, x: box.x, y: box.y, inline,
                   fg: style.color, bg: style.backgroundColor,
                   button: el.tagName === 'BUTTON' || el.classList.contains('button')});
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, controls};
}"""


def _small(c, controls) -> bool:
    if c["inline"] or (c["w"] >= 44 and c["h"] >= 44):
        return False
    if c["w"] < 24 or c["h"] < 24:
        return True
    # 24 px with spacing: a 24 px circle on its centre must not touch another control's box.
    cx, cy = c["x"] + c["w"] / 2, c["y"] + c["h"] / 2
    for o in controls:
        if o is c or o["inline"]:
            continue
        nx = min(max(cx, o["x"]), o["x"] + o["w"])
        ny = min(max(cy, o["y"]), o["y"] + o["h"])
        if (nx - cx) ** 2 + (ny - cy) ** 2 < 12 ** 2:
            return True
    return False


def _nav(page) -> list[str]:
    hrefs = page.eval_on_selector_all("header nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h.startswith("/")]


def _logged_in(chromium, live_server, username, width, height):
    """A new browser context of this size, in Chinese, logged in as this demo role."""
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, username, DEMO_PASSWORD)
    return context, page


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="a page's layout is the same on either database: the SQLite pass measures it")
def test_every_page_of_every_role_fits_a_phone(app, live_server, chromium):
    seed()
    db.session.commit()
    problems, visited = [], 0
    for username in ROLES:
        context, page = _logged_in(chromium, live_server, username, 360, 740)
        paths = list(dict.fromkeys(["/", *_nav(page), *EXTRA_PAGES]))
        # The menu folded behind its button on a phone: opened, each of its entries is a full target.
        page.click("label[for=nav-toggle]")
        for c in page.evaluate(MEASURE)["controls"]:
            if c["what"].startswith(("<a", "<button")) and not c["inline"] and c["h"] < 44:
                problems.append(f"{username} menu: {c['w']:.0f}×{c['h']:.0f} px target {c['what']}")
        for path in paths:
            page.goto(live_server.url + path)
            visited += 1
            m = page.evaluate(MEASURE)
            where = f"{username} {path}"
            if m["scroll"] > m["inner"]:
                problems.append(f"{where}: {m['scroll']} px wide on a {m['inner']} px screen")
            for c in m["controls"]:
                if _small(c, m["controls"]):
                    problems.append(f"{where}: {c['w']:.0f}×{c['h']:.0f} px target {c['what']}")
                if c.get("button") and c["bg"] not in ("rgba(0, 0, 0, 0)", "transparent"):
                    ratio = contrast(c["fg"], c["bg"])
                    if ratio < 4.5:
                        problems.append(f"{where}: contrast {ratio:.1f} on {c['what']}")
            if path == "/":
                page.screenshot(path=str(SCREENSHOTS / f"phone-{username}-home.png"), full_page=True)
        context.close()
    print(f"{visited} pages of {len(ROLES)} roles")
    assert not problems, f"{len(problems)} problems on {visited} pages:\n" + "\n".join(problems)


DESKTOP_ROLES = ["admin", "leader", "sup1", "secretary1"]


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="a page's layout is the same on either database: the SQLite pass measures it")
def test_every_page_of_the_staff_fits_a_desktop(app, live_server, chromium):
    """Staff at a 1366×900 desktop: the whole menu is shown (no folded button) on one line, every
    page of it is reached from it, and nothing is wider than the window."""
    seed()
    db.session.commit()
    problems, visited = [], 0
    for username in DESKTOP_ROLES:
        context, page = _logged_in(chromium, live_server, username, 1366, 900)
        if page.is_visible("label[for=nav-toggle]"):
            problems.append(f"{username}: the menu is folded behind a button on a desktop")
        links = page.eval_on_selector_all(
            "header nav a[href]", "els => els.map(e => { const r = e.getBoundingClientRect(); "
            "return {top: r.top, visible: r.width > 0 && r.height > 0}; })")
        if not links or not all(link["visible"] for link in links):
            problems.append(f"{username}: menu entries hidden on a desktop")
        elif len({round(link["top"]) for link in links}) > 1:
            problems.append(f"{username}: the menu wraps to {len({round(x['top']) for x in links})} lines")
        for path in list(dict.fromkeys(["/", *_nav(page), *EXTRA_PAGES])):
            page.goto(live_server.url + path)
            visited += 1
            m = page.evaluate(MEASURE)
            if m["scroll"] > m["inner"]:
                problems.append(f"{username} {path}: {m['scroll']} px wide on a {m['inner']} px window")
            if path == "/":
                page.screenshot(path=str(SCREENSHOTS / f"desktop-{username}-home.png"))
        context.close()
    print(f"{visited} desktop pages of {len(DESKTOP_ROLES)} roles")
    assert not problems, f"{len(problems)} problems on {visited} pages:\n" + "\n".join(problems)
