"""Helpers for errand view tests: logged-in clients, images, bulk errands."""
from datetime import timedelta
from io import BytesIO

from PIL import Image
from sqlalchemy import insert

from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.timeutil import utcnow


def logged_in(make_client, username):
    c = make_client()
    c.login(username)
    return c


def png_with_gps() -> bytes:
    """A small PNG carrying EXIF with a GPS position, and a text chunk."""
    from PIL.PngImagePlugin import PngInfo

    img = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (104.0, 4.0, 0.0)}  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    info = PngInfo()
    info.add_text("Comment", "home of 张三")
    out = BytesIO()
    img.save(out, "PNG", exif=exif.tobytes(), pnginfo=info)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (104.0, 4.0, 0.0)}
    exif[0x0112] = 6  # orientation: rotate 90°
    out = BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def bulk_errands(world, n, filed_by, start_room=None):
    """n open errands in c1 (k1/h1), inserted in one statement."""
    now = utcnow()
    rows = [{"household_id": world.h1.id, "compound_id": world.k1.id, "grid_id": world.g1.id,
             "community_id": world.c1.id, "category": ("daily", "medicine", "matter", "other")[i % 4],
             "items": f"物品{i} 1件", "estimated_cost_cents": 100, "needed_by_at": now + timedelta(minutes=30 + i),
             "urgent": i % 7 == 0, "notes": "", "pay_on_delivery": True, "status": "open",
             "filed_by_id": filed_by.id, "filed_at": now, "opened_at": now, "delivery_note": "",
             "money_settled": False, "cancel_reason": ""} for i in range(n)]
    for i in range(0, n, 2000):
        db.session.execute(insert(Errand), rows[i:i + 2000])
    db.session.commit()
