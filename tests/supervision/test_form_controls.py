"""The inspection and finding forms as a supervisor uses them on a phone, without JavaScript: a due
time typed on the finding, the place pickers grouped by community and grid, the team as checkboxes."""
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from gridapp.duty.models import Checkpoint
from gridapp.extensions import db
from gridapp.supervision.models import Inspection, RectificationItem
from tests.grid.helpers import logged_in
from tests.supervision.factories import add_sup2, make_inspection

H = timedelta(hours=1)


def count(model):
    n = db.session.scalar(select(func.count()).select_from(model))
    db.session.commit()
    return n


def finding(**extra):
    return {"category": "sanitation", "severity": "minor", "description": "垃圾桶满溢未清运", **extra}


# --- a due time set on the finding ---------------------------------------------------------------

def test_a_due_time_typed_on_the_finding_is_the_items(make_client, world, clock):
    clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    page = sup.get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    # The phone's picker offers the next 30 days, in the town's time; the hint says so.
    assert 'min="2026-03-02T09:01"' in page and 'max="2026-04-01T09:00"' in page
    assert "整改期限（留空则按严重程度）" in page and "可设为从现在起 30 天内的任一时间。" in page
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(due_at="2026-03-02T17:30"))
    assert resp.status_code == 302
    item = db.session.scalars(select(RectificationItem)).one()
    assert item.due_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 17:30 in the town; minor would be 72 h
    db.session.commit()
    html = logged_in(make_client, "pm1").get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert '<dd id="item-due">2026-03-02 17:30</dd>' in html


def test_an_empty_due_time_is_the_severitys(make_client, world, clock):
    now = clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(due_at=""))
    assert resp.status_code == 302
    assert db.session.scalars(select(RectificationItem.due_at)).one() == now + 72 * H


@pytest.mark.parametrize("typed,message", [
    ("2026-03-02T08:59", "整改期限必须晚于现在。"),
    ("2026-03-02T09:00", "整改期限必须晚于现在。"),
    ("2026-04-01T09:01", "整改期限最晚只能设在 30 天之后。"),
    ("2027-03-02T09:00", "整改期限最晚只能设在 30 天之后。"),
])
def test_a_due_time_past_or_too_far_shows_the_form_again_with_everything_typed(make_client, world, clock,
                                                                                 typed, message):
    clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(
        due_at=typed, severity="critical", owner_id=str(world.head1.id), owner_for=""))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'<p class="error" id="due_at-err">{message}</p>' in html
    assert f'value="{typed}"' in html and "垃圾桶满溢未清运" in html
    assert ('<option selected value="sanitation">' in html and '<option selected value="critical">' in html
            and f'<option selected value="{world.head1.id}">' in html)
    assert count(RectificationItem) == 0


def test_only_the_supervision_team_records_a_finding_with_a_due_time(make_client, world, clock):
    clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    for username in ("pm1", "leader", "secretary1", "vol1"):
        resp = logged_in(make_client, username).post(f"/supervision/inspections/{inspection.id}/findings",
                                                     finding(due_at="2026-03-02T17:30"))
        assert resp.status_code == 403, username
    assert count(RectificationItem) == 0
    assert logged_in(make_client, "leader").get("/supervision/inspections/new").status_code == 403


# --- the place pickers ----------------------------------------------------------------------------

class _Options(HTMLParser):
    """The options of one <select>: [(optgroup label or None, value, text, selected)]."""

    def __init__(self, select_id):
        super().__init__()
        self.select_id, self.inside, self.group, self.options = select_id, False, None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select" and attrs.get("id") == self.select_id:
            self.inside = True
        elif self.inside and tag == "optgroup":
            self.group = attrs["label"]
        elif self.inside and tag == "option":
            self.options.append([self.group, attrs["value"], "", "selected" in attrs])

    def handle_endtag(self, tag):
        if tag == "optgroup":
            self.group = None
        elif tag == "select":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.options and self.options[-1][2] == "":
            self.options[-1][2] = data


def options(html, select_id="target"):
    parser = _Options(select_id)
    parser.feed(html)
    return [tuple(o) for o in parser.options]


def groups(html, select_id="target"):
    """{optgroup label: [option values]}, in the page's order (None: options in no group)."""
    out = {}
    for group, value, _text, _selected in options(html, select_id):
        out.setdefault(group, []).append(value)
    return out


@pytest.fixture
def checkpoints(world):
    cps = {
        "gate": Checkpoint(community_id=world.c1.id, compound_id=world.k1.id, name="阳光小区北门卡口"),
        "post": Checkpoint(community_id=world.c1.id, name="城关社区党员先锋岗", kind="vanguard"),
        "unit": Checkpoint(community_id=world.c2.id, work_unit_id=world.unit.id, name="东街卡点"),
        "closed": Checkpoint(community_id=world.c1.id, name="已撤销卡点", active=False),
    }
    db.session.add_all(cps.values())
    db.session.commit()
    return cps


def test_the_inspection_place_picker_is_grouped_by_community_and_grid(make_client, world, checkpoints):
    sup = logged_in(make_client, "sup1")
    html = sup.get("/supervision/inspections/new").get_data(as_text=True)
    gate, post, unit_cp = (checkpoints[k].id for k in ("gate", "post", "unit"))
    assert groups(html) == {
        None: [""],
        "城关社区": [f"community:{world.c1.id}"],
        "城关社区 › 第一网格": [f"compound:{world.k1.id}", f"checkpoint:{gate}"],  # a gate after its compound
        "城关社区 › 第二网格": [f"compound:{world.k2.id}"],
        "城关社区 › 其他检查点": [f"checkpoint:{post}"],
        "东城社区": [f"community:{world.c2.id}"],
        "东城社区 › 第三网格": [f"compound:{world.k3.id}"],
        "东城社区 › 其他检查点": [f"checkpoint:{unit_cp}"],
        "单位": [f"work_unit:{world.unit.id}"],
    }
    labels = {value: text for _group, value, text, _selected in options(html)}
    assert labels[f"compound:{world.k1.id}"] == "小区 · 阳光小区"
    assert labels[f"checkpoint:{gate}"] == "检查点 · 阳光小区北门卡口"
    # Without JavaScript the filter box stays hidden; no script or handler sits in the page.
    assert 'data-filter-for="target" hidden' in html
    assert "<script>" not in html and " onchange=" not in html and " oninput=" not in html


@pytest.mark.parametrize("kind", ["compound", "checkpoint", "work_unit", "community"])
def test_every_value_of_the_grouped_picker_still_plans_its_inspection(make_client, world, checkpoints, kind):
    place = {"compound": world.k2, "checkpoint": checkpoints["gate"], "work_unit": world.unit,
             "community": world.c2}[kind]
    value = f"{kind}:{place.id}"
    sup = logged_in(make_client, "sup1")
    assert value in groups(sup.get("/supervision/inspections/new").get_data(as_text=True)).get(
        {"compound": "城关社区 › 第二网格", "checkpoint": "城关社区 › 第一网格", "work_unit": "单位",
         "community": "东城社区"}[kind])
    resp = sup.post("/supervision/inspections/new", {"kind": "routine", "planned_at": "2026-03-02T10:00",
                                                     "target": value, "team_ids": [str(world.sup.id)]})
    assert resp.status_code == 302
    inspection = db.session.scalars(select(Inspection)).one()
    assert (inspection.target_type, inspection.target_id, inspection.target_name) == (kind, place.id, place.name)


def test_the_finding_place_picker_groups_the_checkpoints_inside(make_client, world, checkpoints):
    inspection = make_inspection(world, target=world.c1)
    sup = logged_in(make_client, "sup1")
    html = sup.get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    assert groups(html) == {
        None: [""],  # the inspected place itself comes first, in no group
        "城关社区 › 第一网格": [f"checkpoint:{checkpoints['gate'].id}"],
        "城关社区 › 其他检查点": [f"checkpoint:{checkpoints['post'].id}"],
    }
    assert options(html)[0] == (None, "", "社区 · 城关社区", False)
    # A short list needs no filter box; the chosen checkpoint is recorded as before.
    assert 'data-filter-for="target"' not in html
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings",
                    finding(target=f"checkpoint:{checkpoints['post'].id}"))
    assert resp.status_code == 302
    item = db.session.scalars(select(RectificationItem)).one()
    assert (item.target_type, item.target_id, item.owner_id) == ("checkpoint", checkpoints["post"].id,
                                                                 world.sec1.id)
    # A compound's inspection offers the compound and its gate only.
    html = sup.get(f"/supervision/inspections/{make_inspection(world).id}").get_data(as_text=True)
    assert groups(html) == {None: [""], "城关社区 › 第一网格": [f"checkpoint:{checkpoints['gate'].id}"]}


# --- the team as checkboxes -----------------------------------------------------------------------

def ticked(html):
    """The team's checkboxes: {user id: ticked}."""
    return {int(value): bool(checked) for checked, value in re.findall(
        r'<input( checked)? id="team_ids-\d+" name="team_ids" type="checkbox" value="(\d+)">', html)}


def test_the_team_is_a_list_of_checkboxes_each_inside_its_label(make_client, world):
    add_sup2(world)
    sup = logged_in(make_client, "sup1")
    html = sup.get("/supervision/inspections/new").get_data(as_text=True)
    team = html.split('<fieldset class="field" id="team_ids-field">')[1].split("</fieldset>")[0]
    assert html.count('name="team_ids"') == team.count('name="team_ids" type="checkbox"') == 2  # no <select>
    assert "<legend>参加的督查组成员</legend>" in team
    assert (f'<li><label class="check"><input checked id="team_ids-0" name="team_ids" type="checkbox" '
            f'value="{world.sup.id}"> Sup1</label></li>') in team  # the planner, ticked for them
    assert (f'<li><label class="check"><input id="team_ids-1" name="team_ids" type="checkbox" '
            f'value="{world.sup2.id}"> Sup2</label></li>') in team


def test_ticking_two_members_stores_both_and_none_stores_none(make_client, world):
    add_sup2(world)
    sup = logged_in(make_client, "sup1")
    base = {"kind": "routine", "planned_at": "2026-03-02T10:00", "target": f"compound:{world.k1.id}"}
    assert sup.post("/supervision/inspections/new", {**base, "team_ids": [str(world.sup.id), str(world.sup2.id)]}
                    ).status_code == 302
    assert sup.post("/supervision/inspections/new", base).status_code == 302  # no box ticked
    teams = [sorted(u.id for u in i.team) for i in db.session.scalars(select(Inspection).order_by(Inspection.id))]
    assert teams == [sorted([world.sup.id, world.sup2.id]), []]
    assert ticked(sup.get("/supervision/inspections/new").get_data(as_text=True)) == {
        world.sup.id: True, world.sup2.id: False}


def test_a_form_sent_without_a_place_keeps_the_team_ticked_and_the_rest(make_client, world):
    add_sup2(world)
    sup = logged_in(make_client, "sup1")
    resp = sup.post("/supervision/inspections/new", {
        "kind": "unannounced", "planned_at": "2026-03-02T21:30", "target": "",
        "team_ids": [str(world.sup.id), str(world.sup2.id)], "participants": "社区干部王某"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="target-err"' in html and "社区干部王某" in html
    assert '<option selected value="unannounced">' in html
    checked = [value for _group, value, _text, selected in options(html) if selected]
    assert checked == [""]  # nothing chosen, no other place chosen for them
    assert ticked(html) == {world.sup.id: True, world.sup2.id: True}  # both boxes still ticked
    assert count(Inspection) == 0
