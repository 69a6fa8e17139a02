"""The errand pages: the board, filing with the picker, the errand page and its actions (htmx and
plain), privacy (who sees the address, the record of views, photos), refusals, staff pages."""
import json
import re
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from gridapp.errands import services
from gridapp.errands.models import ContactView, Errand, UrgentOptIn
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.timeutil import to_local, utcnow
from tests.errands.factories import H, add_volunteers, claimed, delivered, make_errand
from tests.errands.helpers import bulk_errands, logged_in, png_with_gps
from tests.exports import personal


@pytest.fixture
def w(world):
    return add_volunteers(world)


ADDRESS = "城关镇建设路1号"  # k1's address; h1 is 1-1-101, 张三, 13900000101


def private_bits(html):
    return [s for s in (ADDRESS, "13900000101", "张三", "1-1-101") if s in html]


def fresh(errand_id):
    db.session.expire_all()
    return db.session.get(Errand, errand_id)


def local_input(moment):
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


# --- the board ----------------------------------------------------------------------------------

def test_board_lists_open_errands_of_my_community_urgent_first_without_the_address(make_client, w):
    later = make_errand(w, needed_in=5 * H, items="大米 10斤")
    sooner = make_errand(w, needed_in=2 * H, items="酱油 1瓶")
    urgent = make_errand(w, needed_in=6 * H, urgent=True, items="胰岛素 1盒")
    make_errand(w, by=w.sec2, household=w.h4, items="东城的菜")  # another community
    taken = claimed(w, w.vol2, items="已被领走")
    html = logged_in(make_client, "vol1").get("/errands/").get_data(as_text=True)
    board = html.split('id="board"', 1)[1]
    order = [int(m) for m in re.findall(r'id="errand-card-(\d+)"', board)]
    assert order == [urgent.id, sooner.id, later.id]
    assert "阳光小区" in board and "东城的菜" not in html and f"errand-card-{taken.id}" not in html
    assert private_bits(html) == []


def test_board_filters(make_client, w):
    med = make_errand(w, category="medicine")
    daily = make_errand(w, category="daily", urgent=True)
    vol = logged_in(make_client, "vol1")
    html = vol.get("/errands/?category=daily").get_data(as_text=True)
    assert f"errand-card-{daily.id}" in html and f"errand-card-{med.id}" not in html
    html = vol.get("/errands/?urgency=normal").get_data(as_text=True)
    assert f"errand-card-{med.id}" in html and f"errand-card-{daily.id}" not in html
    assert vol.get("/errands/?category=<script>&urgency=x").status_code == 200


def test_board_queries_do_not_grow_with_the_errands(make_client, w, count_queries):
    vol = logged_in(make_client, "vol1")
    claimed(w, w.vol1)
    bulk_errands(w, 10, w.head1)
    vol.get("/errands/")  # warm up
    with count_queries() as small:
        assert vol.get("/errands/").status_code == 200
    bulk_errands(w, 10_000 - 10, w.head1)
    with count_queries() as large:
        html = vol.get("/errands/").get_data(as_text=True)
    assert "10000" in html  # the count says 10,000 open errands
    assert large["n"] == small["n"], (small["sql"], large["sql"])


def test_people_without_an_errand_role_are_refused(make_client, w):
    for name in ("pm1", "sup1", "nobody"):
        assert logged_in(make_client, name).get("/errands/").status_code == 403, name
    # Staff without a volunteer role are taken to their lists.
    resp = logged_in(make_client, "head1").get("/errands/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/errands/staff")


# --- claiming -----------------------------------------------------------------------------------

def test_htmx_claim_swaps_the_card_and_the_next_one_is_told_who_has_it(make_client, w):
    errand = make_errand(w)
    resp = logged_in(make_client, "vol2").htmx_post(f"/errands/{errand.id}/claim", {"from": "board"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<li id="errand-card-{errand.id}"') and "Open it" in html
    assert "HX-Request" in resp.headers["Vary"]
    assert json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]["level"] == "success"
    assert private_bits(html) == []
    assert fresh(errand.id).claimant_id == w.vol2.id

    late = logged_in(make_client, "vol3").htmx_post(f"/errands/{errand.id}/claim", {"from": "board"})
    toast = json.loads(late.headers["HX-Trigger"])["gridapp:toast"]
    assert toast == {"message": "Already taken by 志愿者二.", "level": "error"}
    assert "Already taken by 志愿者二." in late.get_data(as_text=True)
    assert fresh(errand.id).claimant_id == w.vol2.id


def test_plain_claim_redirects_to_the_errand_page_and_a_refusal_back_to_the_board(make_client, w):
    errand = make_errand(w)
    resp = logged_in(make_client, "vol1").post(f"/errands/{errand.id}/claim")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/errands/{errand.id}")
    vol3 = logged_in(make_client, "vol3")
    resp = vol3.post(f"/errands/{errand.id}/claim")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/errands/")
    assert "Already taken by" in vol3.get("/errands/").get_data(as_text=True)


def test_claim_outside_my_community_is_refused_with_a_message(make_client, w):
    errand = make_errand(w, by=w.sec2, household=w.h4)
    vol = logged_in(make_client, "vol1")
    assert vol.get(f"/errands/{errand.id}").status_code == 403
    resp = vol.htmx_post(f"/errands/{errand.id}/claim", {"from": "board"})
    assert json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]["message"] == "This errand is not in your community."
    assert fresh(errand.id).status == "open"


def test_claim_needs_csrf_and_a_volunteer(make_client, w):
    errand = make_errand(w)
    vol = logged_in(make_client, "vol1")
    assert vol.post(f"/errands/{errand.id}/claim", csrf=False).status_code == 400
    assert logged_in(make_client, "head1").post(f"/errands/{errand.id}/claim").status_code == 403
    assert fresh(errand.id).status == "open"


# --- privacy ------------------------------------------------------------------------------------

def test_only_the_claimant_sees_the_address_and_each_view_is_recorded(make_client, w):
    errand = make_errand(w)
    vol2, vol3 = logged_in(make_client, "vol2"), logged_in(make_client, "vol3")
    before = vol3.get(f"/errands/{errand.id}").get_data(as_text=True)
    assert private_bits(before) == []  # open: any volunteer of the community sees the errand, not the address
    vol2.post(f"/errands/{errand.id}/claim")
    page = vol2.get(f"/errands/{errand.id}")
    html = page.get_data(as_text=True)
    assert ADDRESS in html and 'href="tel:13900000101"' in html and "张三" in html
    assert page.headers["Cache-Control"] == "no-store" and 'hx-history="false"' in html
    assert "Who saw" not in html and 'id="timeline"' not in html  # staff only
    assert vol3.get(f"/errands/{errand.id}").status_code == 403
    views = db.session.scalars(select(ContactView)).all()
    assert [(v.user_id, v.household_id, v.errand_id) for v in views] == [(w.vol2.id, w.h1.id, errand.id)]
    # Staff in charge see it too, unrecorded; and they see who saw it.
    staff = logged_in(make_client, "head1").get(f"/errands/{errand.id}").get_data(as_text=True)
    assert ADDRESS in staff and "志愿者二" in staff.split('id="contact-views"', 1)[1]
    assert db.session.scalar(select(func.count(ContactView.id))) == 1
    for outsider in ("secretary2", "gridder3", "pm1"):
        assert logged_in(make_client, outsider).get(f"/errands/{errand.id}").status_code == 403


def test_seven_days_after_confirmation_the_volunteer_no_longer_sees_the_details(make_client, w):
    errand = delivered(w, w.vol1)
    services.confirm(errand, w.head1, money_settled=True)
    db.session.commit()
    vol = logged_in(make_client, "vol1")
    assert ADDRESS in vol.get(f"/errands/{errand.id}").get_data(as_text=True)
    db.session.execute(update(Errand).where(Errand.id == errand.id)
                       .values(confirmed_at=utcnow() - timedelta(days=7, minutes=1)))
    db.session.commit()
    html = vol.get(f"/errands/{errand.id}").get_data(as_text=True)
    assert private_bits(html) == [] and "more than 7 days ago" in html
    assert ADDRESS in logged_in(make_client, "head1").get(f"/errands/{errand.id}").get_data(as_text=True)


def test_photos_are_served_only_to_the_claimant_and_staff(make_client, w):
    errand = claimed(w, w.vol2)
    vol2 = logged_in(make_client, "vol2")
    resp = vol2.post(f"/errands/{errand.id}/purchase", {
        "actual_cost": "12.50", "receipt": (BytesIO(png_with_gps()), "receipt.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 303
    row = fresh(errand.id)
    assert row.status == "purchased" and row.actual_cost_cents == 1250 and row.receipt_photo.endswith(".png")
    url = f"/errands/{errand.id}/photos/receipt"
    got = vol2.get(url)
    assert got.status_code == 200 and got.mimetype == "image/png" and b"PhoneMaker" not in got.data
    assert b"GPS" not in got.data and "张三".encode() not in got.data
    assert got.headers["Cache-Control"] == "private, no-store"
    assert logged_in(make_client, "head1").get(url).status_code == 200
    for other in ("vol3", "vol1", "secretary2", "pm1"):
        assert logged_in(make_client, other).get(url).status_code == 403, other
    assert vol2.get(f"/errands/{errand.id}/photos/delivery").status_code == 404
    assert vol2.get(f"/errands/{errand.id}/photos/../../secret_key").status_code == 404


def test_a_file_that_is_not_an_image_is_refused_and_nothing_changes(make_client, w):
    errand = claimed(w, w.vol2)
    resp = logged_in(make_client, "vol2").post(f"/errands/{errand.id}/purchase", {
        "actual_cost": "12", "receipt": (BytesIO(b"%PDF-1.4 not an image"), "receipt.jpg")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "Only photos (JPEG, PNG or WebP)" in resp.get_data(as_text=True)
    row = fresh(errand.id)
    assert (row.status, row.actual_cost_cents, row.receipt_photo) == ("claimed", None, None)


# --- the claimant's and the staff's steps ----------------------------------------------------------

def test_negative_cost_is_refused_with_the_form_again(make_client, w):
    errand = claimed(w, w.vol2)
    resp = logged_in(make_client, "vol2").htmx_post(f"/errands/{errand.id}/purchase", {"actual_cost": "-5"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "An amount cannot be negative." in html and 'value="-5"' in html
    assert fresh(errand.id).status == "claimed"


def test_release_deliver_confirm_cancel_through_htmx(make_client, w):
    errand = claimed(w, w.vol2)
    vol2 = logged_in(make_client, "vol2")
    resp = vol2.htmx_post(f"/errands/{errand.id}/release", {"reason": ""})
    assert "This field is required." in resp.get_data(as_text=True) and fresh(errand.id).status == "claimed"
    resp = vol2.htmx_post(f"/errands/{errand.id}/release", {"reason": "家里有事"})
    assert resp.get_data(as_text=True).lstrip().startswith(f'<section class="card" id="errand-{errand.id}"')
    assert fresh(errand.id).status == "open"

    vol2.post(f"/errands/{errand.id}/claim")
    vol2.htmx_post(f"/errands/{errand.id}/purchase", {"actual_cost": "20"})
    resp = vol2.htmx_post(f"/errands/{errand.id}/deliver", {"note": "放在门口"})
    assert "Delivered" in resp.get_data(as_text=True) and fresh(errand.id).status == "delivered"

    head = logged_in(make_client, "head1")
    resp = head.htmx_post(f"/errands/{errand.id}/confirm", {})
    assert "Tick that the money was settled" in resp.get_data(as_text=True)
    assert fresh(errand.id).status == "delivered"
    resp = head.htmx_post(f"/errands/{errand.id}/confirm", {"money_settled": "y"})
    assert json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]["level"] == "success"
    assert fresh(errand.id).status == "confirmed"
    assert 'id="timeline"' in resp.get_data(as_text=True)

    other = claimed(w, w.vol3)
    assert logged_in(make_client, "vol3").post(f"/errands/{other.id}/cancel", {"reason": "x"}).status_code == 403
    head.htmx_post(f"/errands/{other.id}/cancel", {"reason": "家属送到了"})
    assert fresh(other.id).status == "cancelled"
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == w.vol3.id, Notification.dedupe_key == f"errand-cancelled:{other.id}")) == 1


def test_a_stale_action_says_what_happened(make_client, w):
    errand = claimed(w, w.vol2)
    head = logged_in(make_client, "head1")
    head.post(f"/errands/{errand.id}/cancel", {"reason": "不需要了"})
    resp = logged_in(make_client, "vol2").htmx_post(f"/errands/{errand.id}/purchase", {"actual_cost": "3"})
    toast = json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]
    assert toast["level"] == "error" and "cancelled by Head1: 不需要了" in toast["message"]
    assert fresh(errand.id).status == "cancelled"


# --- filing --------------------------------------------------------------------------------------

def good_form(w, **over):
    form = {"household_id": str(w.h1.id), "category": "medicine", "items": "布洛芬 1盒\n体温计 1支",
            "estimated_cost": "40", "needed_by_at": local_input(utcnow() + 3 * H), "urgent": "y",
            "pay_on_delivery": "y", "notes": "敲门三下"}
    form.update(over)
    return form


def test_filing_through_the_form(make_client, w):
    head = logged_in(make_client, "head1")
    page = head.get("/errands/new").get_data(as_text=True)
    assert f'value="{w.h1.id}"' in page and f'value="{w.h3.id}"' not in page  # only k1's households
    resp = head.post("/errands/new", good_form(w))
    errand = db.session.scalars(select(Errand)).one()
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/errands/{errand.id}")
    assert (errand.urgent, errand.estimated_cost_cents, errand.items) == (True, 4000, "布洛芬 1盒\n体温计 1支")


@pytest.mark.parametrize("over,message", [
    ({"needed_by_at": "2020-01-01T08:00"}, "The needed-by time must be in the future."),
    ({"estimated_cost": "-3"}, "An amount cannot be negative."),
    ({"household_id": "0"}, "Choose a household"),
])
def test_filing_refuses_bad_input_and_keeps_what_was_typed(make_client, w, over, message):
    resp = logged_in(make_client, "head1").post("/errands/new", good_form(w, **over))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in html and "敲门三下" in html
    assert db.session.scalar(select(func.count(Errand.id))) == 0


def test_filing_for_a_household_outside_my_area_is_refused(make_client, w):
    resp = logged_in(make_client, "head1").post("/errands/new", good_form(w, household_id=str(w.h3.id)))
    assert "Choose a household in your own area." in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Errand.id))) == 0
    assert logged_in(make_client, "vol1").get("/errands/new").status_code == 403


def test_the_household_picker_searches_within_scope(make_client, w):
    sec = logged_in(make_client, "secretary1")
    html = sec.htmx_get("/errands/new/households?q=王五").get_data(as_text=True)
    assert f'value="{w.h3.id}"' in html and f'value="{w.h1.id}"' not in html and "<html" not in html
    assert f'value="{w.h4.id}"' not in sec.htmx_get("/errands/new/households?q=赵六").get_data(as_text=True)
    plain = sec.get("/errands/new?q=李四").get_data(as_text=True)
    assert f'value="{w.h2.id}"' in plain and f'value="{w.h3.id}"' not in plain


def test_opting_in_to_urgent_errands(make_client, w):
    vol = logged_in(make_client, "vol1")
    vol.post("/errands/alerts", {"on": "1"})
    assert db.session.get(UrgentOptIn, w.vol1.id) is not None
    vol.post("/errands/alerts", {"on": "0"})
    db.session.expire_all()
    assert db.session.get(UrgentOptIn, w.vol1.id) is None


# --- staff pages -----------------------------------------------------------------------------------

def test_staff_lists_in_scope(make_client, w):
    now = utcnow()
    open_ = make_errand(w)
    late = make_errand(w, now=now - 5 * H, needed_in=H)
    done = delivered(w, w.vol1)
    theirs = make_errand(w, by=w.sec2, household=w.h4)
    head = logged_in(make_client, "head1")

    def listed(which):
        html = head.get(f"/errands/staff?list={which}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'id="staff-errand-(\d+)"', html)}

    assert listed("open") == {open_.id, late.id}
    assert listed("overdue") == {late.id}
    assert listed("awaiting") == {done.id}
    assert theirs.id not in listed("all")
    sec2 = logged_in(make_client, "secretary2").get("/errands/staff?list=all").get_data(as_text=True)
    assert f"staff-errand-{theirs.id}" in sec2 and f"staff-errand-{open_.id}" not in sec2


def test_statistics_and_export(make_client, w, clock):
    # A Wednesday morning in the town: two hours ago is today and this week whenever the suite runs.
    now = clock.town("2026-11-25 10:00")
    errand = make_errand(w, now=now - 2 * H)
    services.claim(errand, w.vol1, now=now - H)
    services.purchase(errand, w.vol1, "9.90", now=now - H)
    services.deliver(errand, w.vol1, now=now - H / 2)
    make_errand(w, by=w.sec2, household=w.h4)
    db.session.commit()
    sec1 = logged_in(make_client, "secretary1")
    html = sec1.get("/errands/stats").get_data(as_text=True)
    row = html.split(f'id="stats-{w.c1.id}"', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[1:4] == ["1 / 1", "1 / 1", "1 / 1"] and cells[4:] == ["60 min", "90 min"]
    assert f'id="stats-{w.c2.id}"' not in html  # another community's secretary's business
    assert logged_in(make_client, "vol1").get("/errands/stats").status_code == 403

    sec1.confirm_password()  # an export asks for it
    resp = sec1.get(personal("/errands/export.xlsx"))
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[2][0] == errand.id and rows[2][14] == 9.9  # title, header, the errand
    flat = " ".join(str(c) for r in rows for c in r if c is not None)
    assert private_bits(flat) == []


@pytest.mark.parametrize("town_time,proposed", [
    ("2026-12-01 00:20", "2026-12-01 09:00"),  # 03:20 would be the night: the first morning hour
    ("2026-12-01 10:00", "2026-12-01 13:00"),
    ("2026-12-01 10:05", "2026-12-01 14:00"),  # at a whole hour, never earlier than three hours
    ("2026-12-01 17:00", "2026-12-01 20:00"),
    ("2026-12-01 18:00", "2026-12-02 09:00"),  # 21:00 is already evening
    ("2026-12-01 19:30", "2026-12-02 09:00"),  # 22:30: tomorrow morning
])
def test_the_proposed_needed_by_time_is_three_hours_ahead_in_daytime(world, client, clock, town_time, proposed):
    clock.town(town_time)
    client.login("head1")
    html = client.get("/errands/new").get_data(as_text=True)
    assert f'value="{proposed.replace(" ", "T")}"' in html


def test_the_household_picker_says_who_is_housebound_or_alone(world, client):
    world.h2.living_alone = True
    db.session.commit()
    client.login("head1")
    html = client.get("/errands/new?q=").get_data(as_text=True)
    assert "阳光小区 1-1-101 · 张三 · Housebound</option>" in html
    assert "阳光小区 1-1-102 · 李四 · Living alone</option>" in html


def test_who_saw_the_details_is_one_line_per_person_and_hour(make_client, w, clock):
    clock.town("2026-12-01 10:00")
    errand = make_errand(w)
    vol2 = logged_in(make_client, "vol2")
    vol2.post(f"/errands/{errand.id}/claim")
    for minute in (1, 2, 3, 4):  # four looks within a few minutes: one line, ×4
        clock.town(f"2026-12-01 10:0{minute}")
        vol2.get(f"/errands/{errand.id}")
    clock.town("2026-12-01 11:30")
    vol2.get(f"/errands/{errand.id}")  # the next hour: a line of its own
    staff = logged_in(make_client, "head1").get(f"/errands/{errand.id}").get_data(as_text=True)
    lines = re.findall(r"<li>(.*?)</li>", staff.split('id="contact-views"', 1)[1].split("</ul>", 1)[0])
    assert len(lines) == 2
    assert "11:30" in lines[0] and "×" not in lines[0]
    assert "10:01–10:04" in lines[1] and "×4" in lines[1]
