"""Receipt and delivery photos as thumbnails on the errand page: only for those who may see them,
always through the permission-checked route, sized to the picture, lazy, within the CSP."""
import re
from io import BytesIO

import pytest
from PIL import Image

from gridapp.errands.models import Errand
from gridapp.extensions import db
from tests.errands.factories import add_volunteers, claimed
from tests.errands.helpers import logged_in, png_with_gps


@pytest.fixture
def w(world):
    return add_volunteers(world)


def tall_jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (300, 600), (20, 160, 60)).save(out, "JPEG")
    return out.getvalue()


def thumbnails(html):
    return {m.group(1): m.group(0) for m in re.finditer(r'<img id="errand-photo-(\w+)"[^>]*>', html)}


def test_thumbnails_show_the_photos_to_the_claimant_and_staff_only(make_client, w):
    errand = claimed(w, w.vol2)
    vol2 = logged_in(make_client, "vol2")
    assert vol2.post(f"/errands/{errand.id}/purchase", {
        "actual_cost": "12.50", "receipt": (BytesIO(png_with_gps()), "r.png")},
        content_type="multipart/form-data").status_code == 303
    resp = vol2.htmx_post(f"/errands/{errand.id}/deliver", {"note": "门口", "photo": (BytesIO(tall_jpeg()), "d.jpg")},
                          content_type="multipart/form-data")
    imgs = thumbnails(resp.get_data(as_text=True))  # the swapped fragment has them too
    assert set(imgs) == {"receipt", "delivery"}

    page = vol2.get(f"/errands/{errand.id}")
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]
    imgs = thumbnails(page.get_data(as_text=True))
    receipt, delivery = imgs["receipt"], imgs["delivery"]
    # Sized to the picture's own proportions, the longer side at most 160 px (40×30 is not blown up).
    assert 'width="40" height="30"' in receipt and 'width="80" height="160"' in delivery
    for tag, kind in ((receipt, "receipt"), (delivery, "delivery")):
        assert f'src="/errands/{errand.id}/photos/{kind}"' in tag and 'loading="lazy"' in tag
        assert vol2.get(f"/errands/{errand.id}/photos/{kind}").status_code == 200
    staff = logged_in(make_client, "head1").get(f"/errands/{errand.id}").get_data(as_text=True)
    assert set(thumbnails(staff)) == {"receipt", "delivery"}

    # A volunteer who is not the claimant sees neither the page nor a photo.
    vol3 = logged_in(make_client, "vol3")
    assert vol3.get(f"/errands/{errand.id}").status_code == 403
    assert vol3.get(f"/errands/{errand.id}/photos/receipt").status_code == 403


def test_no_thumbnail_for_a_missing_file_or_once_the_details_are_gone(make_client, w):
    from datetime import timedelta

    from sqlalchemy import update

    from gridapp import uploads
    from gridapp.errands import services
    from gridapp.timeutil import utcnow

    errand = claimed(w, w.vol2)
    vol2 = logged_in(make_client, "vol2")
    vol2.post(f"/errands/{errand.id}/purchase", {"actual_cost": "3", "receipt": (BytesIO(png_with_gps()), "r.png")},
              content_type="multipart/form-data")
    db.session.expire_all()
    row = db.session.get(Errand, errand.id)
    services.deliver(row, w.vol2)
    services.confirm(row, w.head1, money_settled=True)
    db.session.commit()
    assert "receipt" in thumbnails(vol2.get(f"/errands/{errand.id}").get_data(as_text=True))
    # Seven days after confirmation the volunteer no longer sees the photos either.
    db.session.execute(update(Errand).where(Errand.id == errand.id)
                       .values(confirmed_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    assert thumbnails(vol2.get(f"/errands/{errand.id}").get_data(as_text=True)) == {}
    assert vol2.get(f"/errands/{errand.id}/photos/receipt").status_code == 403
    # A photo whose file is gone: no broken image, the page still renders.
    uploads.open_image(row.receipt_photo).unlink()
    resp = logged_in(make_client, "head1").get(f"/errands/{errand.id}")
    assert resp.status_code == 200 and thumbnails(resp.get_data(as_text=True)) == {}
