"""An optional photo on a tick: checked by content, stored privately, served only to those who may see it."""
from io import BytesIO

from PIL import Image
from sqlalchemy import func, select

from gridapp import uploads
from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionRound, DisinfectionSlot
from gridapp.extensions import db
from gridapp.timeutil import town_today
from tests.disinfection.factories import ALL_DAY, make_point
from tests.exports import personal


def _as(make_client, username):
    c = make_client()
    c.login(username)
    return c


def _jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (104.0, 4.0, 0.0)}  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    out = BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _rounds(point_id):
    db.session.expire_all()
    return db.session.scalars(select(DisinfectionRound).where(DisinfectionRound.point_id == point_id)).all()


def _slot_status(point_id):
    db.session.expire_all()
    return db.session.scalars(select(DisinfectionSlot.status).where(
        DisinfectionSlot.point_id == point_id, DisinfectionSlot.day == town_today())).all()


def _stored_files():
    return sorted(p.name for p in uploads.upload_dir().iterdir())


def _tick(client, point_id, photo=None, **fields):
    data = {"token": "tok", "view": "point", **fields}
    if photo is not None:
        data["photo"] = photo
    return client.post(f"/disinfection/points/{point_id}/tick", data, content_type="multipart/form-data")


def test_a_tick_with_a_photo_keeps_it_cleaned_and_shows_a_thumbnail(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    c = _as(make_client, "pm1")
    assert 'enctype="multipart/form-data"' in c.get(f"/disinfection/points/{p.id}").get_data(as_text=True)
    resp = _tick(c, p.id, (BytesIO(_jpeg_with_gps()), "elevator.jpg"), disinfectant="84消毒液")
    assert resp.status_code == 303
    (r,) = _rounds(p.id)
    assert r.photo.endswith(".jpg") and _slot_status(p.id) == ["done"]
    assert r.photo in _stored_files()
    page = c.get(f"/disinfection/points/{p.id}").get_data(as_text=True)
    assert f'data-round-photo="{r.id}"' in page and f'src="/disinfection/rounds/{r.id}/photo"' in page
    got = c.get(f"/disinfection/rounds/{r.id}/photo")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert b"PhoneMaker" not in got.data and got.headers["Cache-Control"] == "private, no-store"
    assert Image.open(BytesIO(got.data)).getexif().get(0x8825) is None  # no GPS position left


def test_a_tick_without_a_photo_still_works_from_today_by_htmx(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    c = _as(make_client, "pm1")
    today = c.get("/disinfection/").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in today and 'class="tick-photo"' in today
    resp = c.htmx_post(f"/disinfection/points/{p.id}/tick", {"token": "h", "view": "today"},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and 'data-status="done"' in resp.get_data(as_text=True)
    (r,) = _rounds(p.id)
    assert r.photo == ""


def test_a_text_file_named_jpg_is_refused_and_nothing_is_recorded(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    services.ensure_slots([town_today()], [p.id])
    db.session.commit()
    before = _stored_files()
    c = _as(make_client, "pm1")
    resp = _tick(c, p.id, (BytesIO(b"this is not a picture\n" * 20), "photo.jpg"))
    assert resp.status_code == 422
    assert 'id="tick-photo-error"' in resp.get_data(as_text=True)
    assert _rounds(p.id) == [] and _slot_status(p.id) == ["pending"]
    assert _stored_files() == before
    # By htmx from "today": the row again with the message, a toast, still nothing recorded.
    slot_id = db.session.scalar(select(DisinfectionSlot.id).where(DisinfectionSlot.point_id == p.id))
    resp = c.htmx_post(f"/disinfection/points/{p.id}/tick",
                       {"token": "h", "view": "today", "slot": str(slot_id),
                        "photo": (BytesIO(b"GIF89a fake"), "x.jpg")}, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and html.strip().startswith(f'<li id="slot-{slot_id}" data-status="due"')
    assert 'id="tick-photo-error"' in html and '"level": "error"' in resp.headers["HX-Trigger"]
    assert _rounds(p.id) == [] and _slot_status(p.id) == ["pending"]


def test_an_oversize_photo_is_refused_and_nothing_is_recorded(make_client, world, app):
    p = make_point(world.k1, windows=ALL_DAY)
    big = _jpeg_with_gps() + b"\0" * (uploads.MAX_BYTES + 10)  # under the request limit, over the photo limit
    assert len(big) < app.config["MAX_CONTENT_LENGTH"]
    resp = _tick(_as(make_client, "pm1"), p.id, (BytesIO(big), "big.jpg"))
    assert resp.status_code == 422 and 'id="tick-photo-error"' in resp.get_data(as_text=True)
    assert _rounds(p.id) == []
    assert db.session.scalar(select(func.count()).select_from(DisinfectionSlot)
                             .where(DisinfectionSlot.status == "done")) == 0


def test_the_photo_is_served_only_to_the_responsible_and_staff_over_the_place(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)  # 红嘴鸥's compound in community 1
    _tick(_as(make_client, "pm1"), p.id, (BytesIO(_jpeg_with_gps()), "a.jpg"))
    (r,) = _rounds(p.id)
    url = f"/disinfection/rounds/{r.id}/photo"
    for username, expected in [("pm1", 200), ("secretary1", 200), ("leader", 200), ("admin", 200),
                               ("head1", 200), ("gridder1", 200), ("gridder3", 403), ("pm2", 403),
                               ("secretary2", 403), ("vol1", 403), ("nobody", 403), ("unit1", 403)]:
        assert _as(make_client, username).get(url).status_code == expected, username
    # pm2 does not even get the thumbnail on a page it may not see; a round without a photo is a 404.
    assert _as(make_client, "pm2").get(f"/disinfection/points/{p.id}").status_code == 403
    other = make_point(world.k1, windows=ALL_DAY)
    _tick(_as(make_client, "pm1"), other.id, token="t2")
    (bare,) = _rounds(other.id)
    assert _as(make_client, "pm1").get(f"/disinfection/rounds/{bare.id}/photo").status_code == 404
    assert _as(make_client, "pm1").get("/disinfection/rounds/999999/photo").status_code == 404
    assert make_client().get(url).status_code in (302, 401)  # not logged in: to the login page


def test_a_double_tap_with_a_photo_records_one_round_and_keeps_one_file(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    before = _stored_files()
    c = _as(make_client, "pm1")
    first = _tick(c, p.id, (BytesIO(_jpeg_with_gps()), "a.jpg"), token="same")
    again = _tick(c, p.id, (BytesIO(_jpeg_with_gps()), "a.jpg"), token="same")
    assert first.status_code == again.status_code == 303
    (r,) = _rounds(p.id)
    # The resent photo was not kept: only the recorded round's file is new.
    assert sorted(set(_stored_files()) - set(before)) == [r.photo]
    # Another person's tap for the same (done) slot keeps no file either.
    _tick(c, p.id, (BytesIO(_jpeg_with_gps()), "b.jpg"), token="other")
    assert sorted(set(_stored_files()) - set(before)) == [r.photo]


def test_the_export_links_each_photo_through_the_checked_route(make_client, world):
    from openpyxl import load_workbook

    p = make_point(world.k1, windows=ALL_DAY)
    c = _as(make_client, "pm1")
    _tick(c, p.id, (BytesIO(_jpeg_with_gps()), "a.jpg"))
    (r,) = _rounds(p.id)
    today = town_today().isoformat()
    c.confirm_password()  # an export asks for it
    wb = load_workbook(BytesIO(c.get(personal(f"/disinfection/rounds.xlsx?start={today}&end={today}")).data))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3 and len(rows[1]) == 14
    assert rows[2][13].endswith(f"/disinfection/rounds/{r.id}/photo")
