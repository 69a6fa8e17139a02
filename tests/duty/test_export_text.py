"""The hours export writes people's names as text: never a formula, never a broken file."""
from gridapp.duty import services
from gridapp.extensions import db
from tests.duty.factories import DAY, T0, make_checkpoint, make_volunteers, shift_of
from tests.exports import INJECTIONS, as_exported, assert_all_text, personal, workbook

PERIOD = f"start={DAY.isoformat()}&end={DAY.isoformat()}"


def _signed_up(world, names):
    """Volunteers of c1 with these display names, each signed up for one shift of DAY."""
    cp = make_checkpoint(world.c1, max_people=len(names))
    people = make_volunteers(world.c1, len(names))
    for person, name in zip(people, names, strict=True):
        person.display_name = name
    db.session.commit()
    for person in people:
        services.sign_up(shift_of(cp), person, now=T0)
    db.session.commit()
    return people


def test_typed_formulas_in_names_come_out_as_text(world, client):
    people = _signed_up(world, INJECTIONS)
    client.login("secretary1")
    client.confirm_password()  # an export asks for it
    wb = workbook(client.get(personal(f"/duty/hours.xlsx?{PERIOD}")))
    assert_all_text(wb, INJECTIONS)
    rows = {r[1].value: r for r in wb.active.iter_rows(min_row=3)}
    assert {u: r[0].value for u, r in rows.items()} == \
        {p.username: as_exported(n) for p, n in zip(people, INJECTIONS, strict=True)}
    assert {r[2].value for r in rows.values()} == {1}  # counts stay numbers


def test_a_control_character_in_a_name_does_not_break_the_export(world, client):
    _signed_up(world, ["张\x01三"])
    client.login("secretary1")
    client.confirm_password()  # an export asks for it
    wb = workbook(client.get(personal(f"/duty/hours.xlsx?{PERIOD}")))
    assert [c.value for c in wb.active[3]][:3] == ["张\ufffd三", "v0", 1]


def test_the_title_row_names_the_hours_the_scope_the_period_and_who_exported(world, client):
    client.login("secretary1")
    client.confirm_password()  # an export asks for it
    wb = workbook(client.get(personal(f"/duty/hours.xlsx?{PERIOD}")))
    assert wb.active["A1"].value.startswith(
        f"Duty hours · 城关镇 · 城关社区 · {DAY} to {DAY} · exported by Secretary1 · exported at ")
    assert wb.active["A2"].value == "Volunteer" and wb.active.freeze_panes == "A3"
