"""Photos on findings and evidence (private, content-checked, all or nothing), checkpoint
targets, the owner chosen at recording, supervision-team participants, the secretary's
dashboard and the export of a period."""
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from gridapp import uploads
from gridapp.core.rules import RuleError
from gridapp.duty.models import Checkpoint
from gridapp.extensions import db
from gridapp.supervision import services
from gridapp.supervision.models import Finding, Inspection, Photo, RectificationItem
from gridapp.timeutil import utcnow
from tests.grid.helpers import logged_in
from tests.supervision.factories import add_sup2, image_bytes, make_inspection, make_item

H = timedelta(hours=1)
EXIF_GPS = Image.Exif()
EXIF_GPS[0x010F] = "SecretCam"  # Make


def fresh(item_id):
    db.session.expire_all()
    item = db.session.get(RectificationItem, item_id)
    db.session.commit()
    return item


def stored_files():
    return {p.name for p in uploads.upload_dir().iterdir()}


def count(model):
    n = db.session.scalar(select(func.count()).select_from(model))
    db.session.commit()
    return n


def finding(data=None, **photos):
    values = {"category": "no_temperature_check", "severity": "critical", "description": "北门无人测温"}
    values.update(data or {})
    values.update(photos)
    return values


# --- photos -------------------------------------------------------------------------------------

def test_a_finding_with_photos_then_evidence_with_a_photo(make_client, world):
    add_sup2(world)
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    page = sup.get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="photos"' in page
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(photos=[
        (BytesIO(image_bytes("JPEG", exif=EXIF_GPS.tobytes())), "a.jpg"),
        (BytesIO(image_bytes("PNG")), "b.png")]), content_type="multipart/form-data")
    assert resp.status_code == 302
    item = db.session.scalars(select(RectificationItem)).one()
    photos = db.session.scalars(select(Photo).order_by(Photo.id)).all()
    assert [(p.item_id, p.kind) for p in photos] == [(item.id, "finding")] * 2
    stored = uploads.open_image(photos[0].stored_name)
    assert "static" not in str(stored) and b"SecretCam" not in stored.read_bytes()  # metadata stripped

    pm = logged_in(make_client, "pm1")
    html = pm.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert html.count(f'/supervision/items/{item.id}/photos/') == 4  # two thumbnails, each linked
    assert 'id="finding-photos"' in html and 'id="evidence-photos"' not in html
    resp = pm.get(f"/supervision/items/{item.id}/photos/{photos[1].id}")
    assert resp.status_code == 200 and resp.mimetype == "image/png" and "no-store" in resp.headers["Cache-Control"]
    Image.open(BytesIO(resp.data)).verify()

    pm.post(f"/supervision/items/{item.id}/acknowledge")
    resp = pm.htmx_post(f"/supervision/items/{item.id}/submit", {
        "evidence": "已安排专人测温", "photos": [(BytesIO(image_bytes("WEBP")), "fixed.webp")]},
        content_type="multipart/form-data")
    assert resp.status_code == 200 and 'id="evidence-photos"' in resp.get_data(as_text=True)
    assert fresh(item.id).status == "submitted"
    evidence = db.session.scalars(select(Photo).where(Photo.kind == "evidence")).one()
    assert pm.get(f"/supervision/items/{item.id}/photos/{evidence.id}").mimetype == "image/webp"


def test_photos_are_served_only_to_those_who_see_the_item(make_client, world):
    item = make_item(world, photos=1)
    other = make_item(world, target=world.k2, photos=1)
    photo, other_photo = item.photos[0], other.photos[0]
    url = f"/supervision/items/{item.id}/photos/{photo.id}"
    for user in ("pm2", "vol1", "secretary2", "unit1"):
        assert logged_in(make_client, user).get(url).status_code == 403, user
    for user in ("pm1", "secretary1", "leader", "sup1"):
        assert logged_in(make_client, user).get(url).status_code == 200, user
    pm1 = logged_in(make_client, "pm1")
    # A photo id of another item, through an item pm1 may see: not found.
    assert pm1.get(f"/supervision/items/{item.id}/photos/{other_photo.id}").status_code == 404
    assert pm1.get(f"/supervision/items/{item.id}/photos/999999").status_code == 404


@pytest.mark.parametrize("upload", [
    (b"%PDF-1.4 not a photo", "scan.jpg"),
    (b"GIF89a" + b"\0" * 40, "anim.png"),
    (image_bytes("JPEG")[:60], "cut.jpg"),
])
def test_a_non_image_records_nothing_and_says_so(make_client, world, upload):
    inspection = make_inspection(world)
    before = stored_files()
    sup = logged_in(make_client, "sup1")
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(photos=[
        (BytesIO(image_bytes("JPEG")), "good.jpg"), (BytesIO(upload[0]), upload[1])]),
        content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="photos-err"' in html and "北门无人测温" in html
    assert count(Finding) == count(RectificationItem) == count(Photo) == 0
    assert stored_files() == before  # the good photo saved before the bad one is gone too


def test_evidence_with_a_bad_file_changes_nothing(make_client, world):
    item = make_item(world, now=utcnow())
    pm = logged_in(make_client, "pm1")
    pm.post(f"/supervision/items/{item.id}/acknowledge")
    before = stored_files()
    resp = pm.htmx_post(f"/supervision/items/{item.id}/submit", {
        "evidence": "已整改", "photos": [(BytesIO(b"hello"), "x.webp")]}, content_type="multipart/form-data")
    assert resp.status_code == 422 and 'id="photos-err"' in resp.get_data(as_text=True)
    assert fresh(item.id).status == "acknowledged" and count(Photo) == 0 and stored_files() == before


def test_too_many_photos_are_refused(make_client, world):
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(photos=[
        (BytesIO(image_bytes()), f"{i}.jpg") for i in range(services.MAX_PHOTOS + 1)]),
        content_type="multipart/form-data")
    assert resp.status_code == 422 and 'id="photos-err"' in resp.get_data(as_text=True)
    assert count(RectificationItem) == 0
    with pytest.raises(RuleError):
        services.record_finding(inspection, world.sup, finding(), photos=["x"] * (services.MAX_PHOTOS + 1))


def test_item_page_queries_do_not_grow_with_photos(make_client, world, count_queries):
    item = make_item(world, photos=1)
    pm = logged_in(make_client, "pm1")
    pm.get(f"/supervision/items/{item.id}")
    with count_queries() as few:
        pm.get(f"/supervision/items/{item.id}")
    many = make_item(world, photos=5)
    with count_queries() as more:
        html = pm.get(f"/supervision/items/{many.id}").get_data(as_text=True)
    assert html.count('<img ') == 5 and few["n"] == more["n"]


# --- checkpoint targets ----------------------------------------------------------------------

@pytest.fixture
def checkpoints(world):
    cps = {
        "unit": Checkpoint(community_id=world.c2.id, compound_id=world.k3.id, work_unit_id=world.unit.id,
                           name="监管局家属楼南门卡口"),
        "compound": Checkpoint(community_id=world.c1.id, compound_id=world.k1.id, name="阳光小区北门卡口"),
        "community": Checkpoint(community_id=world.c1.id, name="城关社区党员先锋岗", kind="vanguard"),
    }
    db.session.add_all(cps.values())
    db.session.commit()
    return cps


def test_a_checkpoint_is_answered_for_by_its_work_unit_else_its_grid_member(world, checkpoints):
    unit = services.resolve_target("checkpoint", checkpoints["unit"].id)
    assert (unit.type, unit.owner.id, unit.community_id, unit.name) == (
        "checkpoint", world.unit1.id, world.c2.id, "监管局家属楼南门卡口")
    assert services.resolve_target("checkpoint", checkpoints["compound"].id).owner.id == world.gm1.id
    assert services.resolve_target("checkpoint", checkpoints["community"].id).owner.id == world.sec1.id
    # The work unit has no contact any more: the compound's grid member answers.
    world.unit1.active = False
    db.session.commit()
    assert services.resolve_target("checkpoint", checkpoints["unit"].id).owner.id == world.gm3.id
    assert services.resolve_target("checkpoint", 999999) is None


def test_inspect_a_checkpoint_and_record_a_finding(make_client, world, checkpoints):
    cp = checkpoints["unit"]
    sup = logged_in(make_client, "sup1")
    assert f'value="checkpoint:{cp.id}"' in sup.get("/supervision/inspections/new").get_data(as_text=True)
    resp = sup.post("/supervision/inspections/new", {"kind": "routine", "planned_at": "2026-03-02T10:00",
                                                     "target": f"checkpoint:{cp.id}", "participants": "",
                                                     "summary": ""})
    assert resp.status_code == 302
    inspection = db.session.scalars(select(Inspection)).one()
    sup.post(f"/supervision/inspections/{inspection.id}/findings", finding({"category": "checkpoint_unstaffed"}))
    item = db.session.scalars(select(RectificationItem)).one()
    assert (item.target_type, item.target_id, item.owner_id, item.community_id) == (
        "checkpoint", cp.id, world.unit1.id, world.c2.id)
    # The level-1 secretary of a checkpoint is that of its community.
    assert logged_in(make_client, "secretary2").get(f"/supervision/items/{item.id}").status_code == 200
    assert logged_in(make_client, "secretary1").get(f"/supervision/items/{item.id}").status_code == 403


# --- the owner chosen at recording ---------------------------------------------------------------

def test_eligible_owners_are_the_staff_of_the_place(world, checkpoints):
    k1 = {u.username for u in services.eligible_owners(services.resolve_target("compound", world.k1.id))}
    assert {"pm1", "head1", "gridder1", "secretary1"} <= k1
    assert not k1 & {"pm2", "secretary2", "vol1", "sup1", "unit1", "gridder3", "leader"}
    cp = {u.username for u in services.eligible_owners(services.resolve_target("checkpoint",
                                                                               checkpoints["unit"].id))}
    assert {"unit1", "gridder3", "secretary2"} <= cp and "pm1" not in cp
    c1 = {u.username for u in services.eligible_owners(services.resolve_target("community", world.c1.id))}
    assert {"secretary1", "gridder1", "head1", "pm1", "pm2"} <= c1 and "gridder3" not in c1


def test_the_resolved_owner_is_preselected_and_can_be_changed(make_client, world):
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    page = sup.get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    assert f'<option selected value="{world.pm1.id}">' in page
    assert f'value="{world.head1.id}"' in page and f'value="{world.pm2.id}"' not in page
    sup.post(f"/supervision/inspections/{inspection.id}/findings", finding({"owner_id": str(world.head1.id)}))
    item = db.session.scalars(select(RectificationItem)).one()
    assert item.owner_id == world.head1.id


def test_an_owner_outside_the_place_is_refused(make_client, world):
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    for outsider in (world.pm2.id, world.vol1.id, 999999, "abc"):
        resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding({"owner_id": str(outsider)}))
        assert resp.status_code == 422 and 'id="owner_id-err"' in resp.get_data(as_text=True), outsider
    assert count(RectificationItem) == 0
    with pytest.raises(RuleError) as refused:
        services.record_finding(inspection, world.sup, finding({"owner_id": world.pm2.id}))
    assert refused.value.field == "owner_id"
    db.session.rollback()
    assert count(RectificationItem) == 0


# --- participants -----------------------------------------------------------------------------

def test_participants_are_chosen_from_the_supervision_team(make_client, world):
    add_sup2(world)
    sup = logged_in(make_client, "sup1")
    form = sup.get("/supervision/inspections/new").get_data(as_text=True)
    team = form.split('<ul class="checks" id="team_ids">')[1].split("</ul>")[0]
    assert f'checked id="team_ids-0" name="team_ids" type="checkbox" value="{world.sup.id}"' in team  # the planner
    assert f'type="checkbox" value="{world.sup2.id}"' in team and f'value="{world.pm1.id}"' not in team
    base = {"kind": "routine", "planned_at": "2026-03-02T10:00", "target": f"compound:{world.k1.id}",
            "participants": "社区干部王某", "summary": ""}
    resp = sup.post("/supervision/inspections/new", {**base, "team_ids": [str(world.pm1.id)]})
    assert resp.status_code == 422 and 'id="team_ids-err"' in resp.get_data(as_text=True)
    assert count(Inspection) == 0
    resp = sup.post("/supervision/inspections/new", {**base, "team_ids": [str(world.sup.id), str(world.sup2.id)]})
    assert resp.status_code == 302
    inspection = db.session.scalars(select(Inspection)).one()
    assert sorted(u.id for u in inspection.team) == sorted([world.sup.id, world.sup2.id])
    assert inspection.participants == "社区干部王某"
    page = logged_in(make_client, "leader").get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    assert f'data-user-id="{world.sup2.id}"' in page and "社区干部王某" in page


# --- the secretary's dashboard, the period's export ---------------------------------------------

def test_a_secretary_gets_the_dashboard_of_the_community(make_client, world):
    make_item(world, target=world.k1, now=utcnow() - 30 * H)
    make_item(world, target=world.k2, now=utcnow() - 30 * H)
    make_item(world, target=world.k3, now=utcnow() - 30 * H)
    services.issue_circular(world.sup, {"number": None, "title": "通报", "body": "x", "issued_on": utcnow().date(),
                                        "item_ids": [3]})
    db.session.commit()
    sec1 = logged_in(make_client, "secretary1")
    resp = sec1.get("/supervision/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-scope="community"' in html
    assert 'data-items="2"' in html and 'data-circulars="0"' in html and html.count('id="item-row-') == 2
    html = logged_in(make_client, "secretary2").get("/supervision/").get_data(as_text=True)
    assert 'data-items="1"' in html and 'data-circulars="1"' in html and 'id="item-row-3"' in html
    html = logged_in(make_client, "leader").get("/supervision/").get_data(as_text=True)
    assert 'data-scope="town"' in html and 'data-items="3"' in html and 'data-circulars="1"' in html
    # Owners still land on their own list.
    assert logged_in(make_client, "pm1").get("/supervision/").status_code == 302


def test_export_of_a_period(make_client, world):
    from openpyxl import load_workbook

    now = utcnow()
    old = make_item(world, now=now - 10 * 24 * H)
    recent = make_item(world, now=now - H)
    far = make_item(world, target=world.k3, now=now - H)
    leader = logged_in(make_client, "leader")
    today = (now + 8 * H).date()  # the town's day (Asia/Shanghai)

    def ids(client, query):
        client.confirm_password()  # an export asks for it
        resp = client.get(f"/supervision/items.xlsx{query}")
        assert resp.status_code == 200
        return sorted(r[0] for r in list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))[2:])

    start = (today - timedelta(days=2)).isoformat()
    assert ids(leader, f"?start={start}&end={today.isoformat()}") == [recent.id, far.id]
    assert ids(leader, "") == [old.id, recent.id, far.id]
    assert ids(leader, "?start=rubbish&end=") == [old.id, recent.id, far.id]
    assert ids(logged_in(make_client, "secretary1"), f"?start={start}&end={today.isoformat()}") == [recent.id]
    html = leader.get(f"/supervision/?start={start}&end={today.isoformat()}").get_data(as_text=True)
    assert f"/supervision/items.xlsx?start={start}&amp;end={today.isoformat()}" in html


def test_an_upload_over_the_request_limit_is_refused_without_a_trace(make_client, world, app):
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    big = b"\xff\xd8" + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings",
                    finding(photos=[(BytesIO(big), "huge.jpg")]), content_type="multipart/form-data")
    assert resp.status_code == 413
    assert count(RectificationItem) == 0 and count(Photo) == 0


def test_services_keep_photos_with_the_finding_and_the_evidence(world):
    from tests.supervision.factories import T0, stored_photo

    item = make_item(world, photos=2)
    services.acknowledge(item, world.pm1, now=T0 + H)
    services.submit_evidence(item, world.pm1, "已整改", now=T0 + 2 * H, photos=[stored_photo("PNG")])
    db.session.commit()
    photos = services.photos_of(item)
    assert [len(photos["finding"]), len(photos["evidence"])] == [2, 1]
    assert photos["evidence"][0].uploaded_by_id == world.pm1.id
    # Without photos, the old calls still work.
    other = make_item(world)
    services.acknowledge(other, world.pm1, now=T0 + H)
    services.submit_evidence(other, world.pm1, "已整改", now=T0 + 2 * H)
    db.session.commit()
    assert services.photos_of(other) == {"finding": [], "evidence": []}


def test_a_finding_can_be_about_a_checkpoint_inside_the_inspected_place(make_client, world, checkpoints):
    inspection = make_inspection(world, target=world.c1)
    at_k1, post, elsewhere = checkpoints["compound"], checkpoints["community"], checkpoints["unit"]
    sup = logged_in(make_client, "sup1")
    page = sup.get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    assert f'value="checkpoint:{at_k1.id}"' in page and f'value="checkpoint:{post.id}"' in page
    assert f'value="checkpoint:{elsewhere.id}"' not in page
    assert f'<option selected value="{world.sec1.id}">' in page  # the community's own owner
    url = f"/supervision/inspections/{inspection.id}"

    # htmx swaps in the owner select of the chosen checkpoint.
    frag = sup.htmx_get(f"{url}/finding-owner?target=checkpoint:{at_k1.id}").get_data(as_text=True)
    assert frag.lstrip().startswith('<div id="owner-field"') and f'data-owner-for="checkpoint:{at_k1.id}"' in frag
    assert f'<option selected value="{world.gm1.id}">' in frag and f'value="{world.gm3.id}"' not in frag
    assert logged_in(make_client, "pm1").get(f"{url}/finding-owner?target=").status_code == 403

    # Chosen with its own owner list: the choice stands.
    sup.post(f"{url}/findings", finding({"target": f"checkpoint:{at_k1.id}", "owner_for": f"checkpoint:{at_k1.id}",
                                         "owner_id": str(world.head1.id)}))
    # The place changed without JavaScript (the owner list was the community's): its own owner.
    sup.post(f"{url}/findings", finding({"target": f"checkpoint:{post.id}", "owner_for": "",
                                         "owner_id": str(world.pm1.id)}))
    items = db.session.scalars(select(RectificationItem).order_by(RectificationItem.id)).all()
    assert [(i.target_type, i.target_id, i.owner_id, i.community_id) for i in items] == [
        ("checkpoint", at_k1.id, world.head1.id, world.c1.id), ("checkpoint", post.id, world.sec1.id, world.c1.id)]
    # A checkpoint outside the inspected place is refused, and nothing is recorded.
    resp = sup.post(f"{url}/findings", finding({"target": f"checkpoint:{elsewhere.id}"}))
    assert resp.status_code == 422 and 'id="target-err"' in resp.get_data(as_text=True)
    assert count(RectificationItem) == 2


def test_inspection_page_queries_do_not_grow_with_findings(make_client, world, count_queries):
    inspection = make_inspection(world)
    services.record_finding(inspection, world.sup, finding(), photos=[])
    db.session.commit()
    sup = logged_in(make_client, "sup1")
    sup.get(f"/supervision/inspections/{inspection.id}")
    with count_queries() as few:
        sup.get(f"/supervision/inspections/{inspection.id}")
    for _ in range(5):
        services.record_finding(inspection, world.sup, finding({"severity": "minor"}))
    db.session.commit()
    with count_queries() as many:
        html = sup.get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    assert html.count("/supervision/items/") >= 6 and few["n"] == many["n"]


def test_evidence_with_photos_without_javascript(make_client, world):
    item = make_item(world, now=utcnow())
    pm = logged_in(make_client, "pm1")
    pm.post(f"/supervision/items/{item.id}/acknowledge")
    page = pm.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert 'id="evidence-form"' in page and 'enctype="multipart/form-data"' in page
    resp = pm.post(f"/supervision/items/{item.id}/submit", {
        "evidence": "已整改", "photos": [(BytesIO(image_bytes()), "a.jpg"), (BytesIO(image_bytes("PNG")), "b.png")]},
        content_type="multipart/form-data")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/supervision/items/{item.id}")
    assert fresh(item.id).status == "submitted"
    assert db.session.scalars(select(Photo.kind).order_by(Photo.id)).all() == ["evidence", "evidence"]
    html = pm.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert html.count("<img ") == 2 and 'id="evidence-photos"' in html
