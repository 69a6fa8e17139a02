"""The calendar feed: standard iCalendar whatever the checkpoint's text holds."""
import re

import pytest
from icalendar import Calendar
from sqlalchemy import select

from gridapp.duty import services
from gridapp.duty.models import Shift
from gridapp.extensions import db
from gridapp.timeutil import utcnow
from tests.duty.factories import T0, make_checkpoint, shift_of

EVENT_PROPERTIES = {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION"}


def _feed(world, *, name="东门检查点", location="东门") -> tuple[bytes, Calendar]:
    cp = make_checkpoint(world.c1, name=name)
    cp.location = location
    db.session.commit()
    services.sign_up(shift_of(cp), world.vol1, now=T0)
    db.session.commit()
    raw = services.ics_feed(world.vol1, "grid.example", now=T0).encode("utf-8")
    return raw, Calendar.from_ical(raw)


def _lines(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\r\n")
    return raw[:-2].split(b"\r\n")


def _assert_well_formed(raw: bytes) -> None:
    for line in _lines(raw):
        assert len(line) <= 75, line  # octets, folded by RFC 5545 §3.1
        line.decode("utf-8")  # a fold never splits a character
        assert b"\r" not in line and b"\n" not in line, line


@pytest.mark.parametrize("location, shown", [
    ("东门\rX-EVIL:1", "东门\nX-EVIL:1"),
    ("东门\nATTENDEE:mailto:evil@example.com", "东门\nATTENDEE:mailto:evil@example.com"),
    ("东门\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:假的", "东门\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:假的"),
    ("东门\rBEGIN:VALARM\rACTION:AUDIO\rEND:VALARM", "东门\nBEGIN:VALARM\nACTION:AUDIO\nEND:VALARM"),
    ("a;b,c\\d:e", "a;b,c\\d:e"),
    ("东门\x01\x1b\x7f口", "东门口"),
])
def test_a_location_cannot_inject_properties_or_components(world, location, shown):
    raw, cal = _feed(world, location=location)
    _assert_well_formed(raw)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    (event,) = events
    assert set(event.keys()) == EVENT_PROPERTIES and event.subcomponents == []
    assert str(event["LOCATION"]) == shown
    assert set(cal.keys()) == {"VERSION", "PRODID", "CALSCALE", "X-WR-CALNAME"}
    # No line of the file starts what the location smuggled in.
    names = [re.split(rb"[:;]", line, maxsplit=1)[0] for line in _lines(raw) if not line.startswith(b" ")]
    assert not {b"X-EVIL", b"ATTENDEE", b"BEGIN:VALARM", b"ACTION"} & set(names)
    assert names.count(b"BEGIN") == 2 and names.count(b"SUMMARY") == 1


def test_long_chinese_names_are_folded_and_read_back_whole(world):
    name = "城关镇城关社区第一网格阳光小区北门党员先锋岗卡口检查点"
    location = "城关镇建设路1号阳光小区北门东侧五十米处临时搭建的防疫帐篷内"
    raw, cal = _feed(world, name=name, location=location)
    _assert_well_formed(raw)
    assert any(line.startswith(b" ") for line in _lines(raw))  # some line was folded
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == f"Duty: {name}" and str(event["LOCATION"]) == location


def test_the_feed_url_answers_a_calendar_of_my_shifts(world, client):
    cp = make_checkpoint(world.c1, name="东门检查点", now=utcnow())  # the view reads the real clock
    shift = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.starts_at > utcnow())
                               .order_by(Shift.starts_at)).first()
    signup = services.sign_up(shift, world.vol1)
    token = services.feed_token(world.vol1)
    db.session.commit()
    resp = client.raw.get(f"/duty/feed/{token}.ics")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    _assert_well_formed(resp.data)
    (event,) = Calendar.from_ical(resp.data).walk("VEVENT")
    assert str(event["UID"]) == f"duty-signup-{signup.id}@localhost"
    assert event.decoded("DTSTART") == shift.starts_at and event.decoded("DTEND") == shift.ends_at
    assert str(event["SUMMARY"]) == "Duty: 东门检查点" and str(event["LOCATION"]) == "东门"
    assert str(Calendar.from_ical(resp.data)["X-WR-CALNAME"]) == "My duty shifts"
