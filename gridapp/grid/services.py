"""Rules and queries for the grid's places: names, scoped lists, edits with audit."""
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, PropertyCompany, Town, WorkUnit

SCOPE_MODELS = {
    "town": Town,
    "community": Community,
    "grid": Grid,
    "compound": Compound,
    "property_company": PropertyCompany,
    "work_unit": WorkUnit,
}


def place_names(pairs) -> dict:
    """{(scope_type, id): name} for role scopes, one query per kind of place."""
    wanted: dict[str, set] = {}
    for scope_type, scope_id in pairs:
        if scope_type in SCOPE_MODELS:
            wanted.setdefault(scope_type, set()).add(scope_id)
    names = {}
    for scope_type, ids in wanted.items():
        model = SCOPE_MODELS[scope_type]
        for pid, name in db.session.execute(select(model.id, model.name).where(model.id.in_(ids))):
            names[(scope_type, pid)] = name
    return names
