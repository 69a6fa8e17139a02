"""Supervision factories: inspections and items built through the services the app uses."""
from datetime import UTC, datetime
from io import BytesIO

from PIL import Image
from werkzeug.datastructures import FileStorage

from gridapp import uploads
from gridapp.extensions import db
from gridapp.supervision import services
from tests.factories import make_user

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in the town


def add_sup2(world):
    world.sup2 = make_user("sup2", ("supervisor", world.town))
    return world.sup2


def make_inspection(world, target=None, kind="routine", planned_at=T0, by=None):
    target = target or world.k1
    target_type = {"Compound": "compound", "Community": "community", "WorkUnit": "work_unit",
                   "Checkpoint": "checkpoint"}[type(target).__name__]
    inspection = services.plan_inspection(by or world.sup, {
        "kind": kind, "planned_at": planned_at, "target_type": target_type, "target_id": target.id,
        "participants": "督查组", "summary": ""})
    db.session.commit()
    return inspection


def image_bytes(fmt="JPEG", size=(48, 32), exif: bytes | None = None) -> bytes:
    out = BytesIO()
    kw = {"exif": exif} if exif else {}
    Image.new("RGB", size, (200, 40, 40)).save(out, fmt, **kw)
    return out.getvalue()


def stored_photo(fmt="JPEG") -> str:
    """An image stored the way the app stores uploads; its name."""
    return uploads.save_image(FileStorage(BytesIO(image_bytes(fmt)), filename="photo.jpg"))


def make_item(world, target=None, severity="major", category="no_temperature_check", now=T0, commit=True,
              photos=0, due_at=None):
    inspection = make_inspection(world, target)
    item = services.record_finding(inspection, world.sup, {
        "category": category, "severity": severity, "description": "卡口无人测温", "due_at": due_at}, now=now,
        photos=[stored_photo() for _ in range(photos)])
    if commit:
        db.session.commit()
    return item
