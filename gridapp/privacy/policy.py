"""Who reads the record of looks, closes the emergency, sees retention, and answers a resident's
request: the administrator and the town leader for the whole town; a resident's request also the
secretary of the household's community (the household rule is grid's `_can_see_households`)."""

ACTIONS = {
    "view_access_records": {"admin", "town_leader"},
    "view_retention": {"admin", "town_leader"},
    "close_emergency": {"admin", "town_leader"},
    "resident_requests": {"admin", "town_leader", "secretary"},
}
