"""A resident's request to delete: staff who may answer it clear everything personal held about the
household — with a reason, the room typed to confirm and the password again — photos gone from disk,
the dwelling and the errands' statistics kept, the deletion on the record and in the audit trail
without any value."""
from sqlalchemy import select

from gridapp import uploads
from gridapp.audit.models import AuditEvent
from gridapp.errands import services as errands
from gridapp.errands.models import Errand, ErrandEvent
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.people.models import Person
from gridapp.privacy.models import AccessRecord
from tests.errands.factories import delivered, make_errand
from tests.errands.helpers import png_with_gps


def _write_photo() -> str:
    import io

    from werkzeug.datastructures import FileStorage

    return uploads.save_image(FileStorage(io.BytesIO(png_with_gps()), filename="a.png", content_type="image/png"))


def _confirmed_errand_with_photos(world):
    errand = delivered(world, items="胰岛素 1盒")
    errand.receipt_photo, errand.delivery_photo = _write_photo(), _write_photo()
    errands.confirm(errand, world.head1, money_settled=True, note="已结清，老人说下次还要胰岛素")
    db.session.commit()
    return errand


def _erase(client, household, reason="居民本人书面申请删除", room=None):
    return client.post(f"/privacy/households/{household.id}/erase",
                       {"reason": reason, "confirm": household.room if room is None else room})


def test_deleting_a_households_data_clears_it_everywhere_and_keeps_the_statistics(app, make_client, world):
    errand = _confirmed_errand_with_photos(world)
    photos = [uploads.upload_dir() / errand.receipt_photo, uploads.upload_dir() / errand.delivery_photo]
    assert all(p.is_file() for p in photos)
    h1_id, errand_id, k1_id, phone = world.h1.id, errand.id, world.k1.id, world.h1.phone
    db.session.add(Person(household_id=h1_id, name="张小三", relation="child", from_outside=True, came_from="武汉市",
                          arrived_on=errand.filed_at.date()))
    db.session.commit()

    sec = make_client()
    sec.login("secretary1")
    asked = sec.get(f"/privacy/households/{h1_id}/erase")
    assert asked.status_code == 303 and asked.headers["Location"].startswith("/reauth")
    sec.confirm_password()
    assert sec.get(f"/privacy/households/{h1_id}/erase").status_code == 200

    household = db.session.get(Household, h1_id)
    wrong = _erase(sec, household, room="999")
    assert wrong.status_code == 422 and "101" in wrong.text
    assert db.session.get(Household, h1_id).head_name == "张三"  # nothing happened

    done = _erase(sec, household)
    assert done.status_code == 303
    db.session.expire_all()
    h = db.session.get(Household, h1_id)
    assert (h.head_name, h.phone, h.housebound, h.living_alone, h.observation_until, h.notes) == \
        ("", "", False, False, None, "")
    assert (h.compound_id, h.room) == (k1_id, "101")  # the dwelling stays
    e = db.session.get(Errand, errand_id)
    assert (e.items, e.notes, e.delivery_note, e.receipt_photo, e.delivery_photo) == ("", "", "", None, None)
    assert (e.status, e.category, e.compound_id) == ("confirmed", "medicine", k1_id)  # statistics
    assert all(n == "" for n in db.session.scalars(select(ErrandEvent.note).where(ErrandEvent.errand_id == errand_id)))
    assert not any(p.exists() for p in photos)
    assert db.session.scalars(select(Person).where(Person.household_id == h1_id)).all() == []

    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "household_erased")).all()
    assert event.actor_name == "secretary1" and "张三" not in event.summary + event.object_name
    (rec,) = db.session.scalars(select(AccessRecord).where(AccessRecord.what == "resident_erase")).all()
    assert rec.household_id == h1_id and rec.reason == "居民本人书面申请删除"

    page = sec.get(f"/privacy/households/{h1_id}").text  # what is left, said on the request page
    assert "胰岛素" not in page and "张三" not in page and phone not in page and "武汉" not in page


def test_an_errand_under_way_keeps_its_household(make_client, world):
    make_errand(world)
    sec = make_client()
    sec.login("secretary1")
    sec.confirm_password()
    resp = _erase(sec, world.h1)
    assert resp.status_code == 422 and 'class="error"' in resp.text
    db.session.expire_all()
    assert db.session.get(Household, world.h1.id).head_name == "张三"


def test_who_may_delete(make_client, world):
    for username, status in (("gridder1", 403), ("head1", 403), ("secretary2", 403), ("vol1", 403)):
        c = make_client()
        c.login(username)
        assert c.get(f"/privacy/households/{world.h1.id}/erase").status_code == status, username
        c.confirm_password()
        assert _erase(c, world.h1).status_code == status, username
    db.session.expire_all()
    assert db.session.get(Household, world.h1.id).head_name == "张三"
