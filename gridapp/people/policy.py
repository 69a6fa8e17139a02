"""Who sees and registers a household's people: those who see the household (its community's
secretary, its grid's members, its compound's building head, the town leader, the administrator);
who registers them: the same but the town leader (gridapp/policy.py, Household "edit_people")."""
from gridapp.people.models import Person
from gridapp.policy import can

ACTIONS = {
    "search_people": {"admin", "town_leader", "secretary", "grid_member", "building_head"},
}


def _rule(user, s, action, person) -> bool:
    if action == "view":
        return can(user, "view", person.household)
    if action in ("edit", "delete"):
        return can(user, "edit_people", person.household)
    return False


OBJECT_RULES = {Person: _rule}
