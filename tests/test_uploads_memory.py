"""gridapp.uploads bounds the memory of a decode: checked from the header before decoding,
JPEGs decoded at a reduced scale, pictures too large refused with a message, and one decode
at a time per process. The peaks are measured in processes of their own (tests/uploads_peak.py)."""
import json
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from gridapp import uploads
from gridapp.uploads import UploadRejected, open_image, save_image
from tests.uploads_peak import write_zero_png

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    write_zero_png(folder / "zero.png", 6300)  # ~116 KB; 6300 × 6300 RGB, 160 MB decoded
    # 7000 × 5600 (39 MP, under the old 40 MP cap), written by a process of its own: the
    # picture takes 160 MB while it is drawn.
    subprocess.run([sys.executable, "-m", "tests.uploads_peak", "jpeg", str(folder / "big.jpg"), "7000", "5600"],
                   cwd=ROOT, check=True)
    return folder


def peak(path: Path, copies: int = 1) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.uploads_peak", "save", str(path), str(copies)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_zero_png_of_6300_by_6300_is_refused_before_it_is_decoded(pictures):
    """The old code decoded it (and wrote it again): +300 MB for one, +2.4 GB for eight at once."""
    assert (pictures / "zero.png").stat().st_size < 130_000
    one, eight = peak(pictures / "zero.png"), peak(pictures / "zero.png", 8)
    for run in (one, eight):
        assert run["increase_mb"] < 50, run
        assert run["outcomes"] == ["refused: 图片过大，无法处理（6300 × 6300 像素）。"
                                   "请上传较小的图片，或用手机相机拍摄的照片。"]


def test_a_large_jpeg_is_decoded_at_reduced_scale_and_stored_smaller(pictures):
    """The old code decoded it at full size: +410 MB for one, +2.5 GB for eight at once."""
    one, eight = peak(pictures / "big.jpg"), peak(pictures / "big.jpg", 8)
    assert one["increase_mb"] < 150, one
    assert eight["increase_mb"] < 150, eight
    assert one["outcomes"] == eight["outcomes"] == ["saved 2560x2048"]


def _jpeg(size, **kw) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (90, 140, 60)).save(out, "JPEG", quality=85, **kw)
    return out.getvalue()


def _upload(data: bytes, name="photo.jpg") -> FileStorage:
    return FileStorage(stream=BytesIO(data), filename=name)


def _stored_size(name):
    with Image.open(open_image(name)) as img:
        return img.size


@pytest.mark.parametrize("size,stored", [
    ((4000, 3000), (2000, 1500)),   # a 12 MP phone photo: decoded at 1/2
    ((3000, 4000), (1500, 2000)),
    ((6000, 4000), (2560, 1707)),   # 24 MP: decoded at 1/2, then scaled down
    ((8160, 6120), (2040, 1530)),   # 50 MP: decoded at 1/4
    ((1920, 1080), (1920, 1080)),   # small enough: as it is
])
def test_photos_are_stored_at_most_2560_pixels_wide(app, size, stored):
    assert _stored_size(save_image(_upload(_jpeg(size)))) == stored


def test_a_png_within_the_budget_is_scaled_down(app):
    out = BytesIO()
    Image.new("RGB", (4000, 4000), (5, 6, 7)).save(out, "PNG")  # 16 MP: 64 MB decoded
    assert _stored_size(save_image(_upload(out.getvalue(), "x.png"))) == (2560, 2560)


def _header_only_png(width, height) -> bytes:
    """A PNG header announcing a picture, with (nearly) no picture data behind it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("data,message", [
    (_header_only_png(8000, 7000), r"too many pixels \(at most 50 megapixels\)"),      # 56 MP
    (_header_only_png(100_000, 100_000), r"too many pixels \(at most 50 megapixels\)"),  # Pillow's own bomb check
    (_header_only_png(4500, 4500), r"too large to process \(4500 × 4500 pixels\)"),  # 20 MP RGB PNG: 81 MB
], ids=["56MP", "10GP", "20MP-RGB-PNG"])
def test_too_large_is_refused_from_the_header(app, english, data, message):
    with pytest.raises(UploadRejected, match=message):
        save_image(_upload(data, "x.png"))


def test_a_progressive_jpeg_is_judged_with_its_coefficients(app, english):
    """A progressive JPEG's decoder holds all its coefficients at full size, whatever the scale:
    5000 × 4000 without chroma subsampling needs 120 MB for them alone."""
    data = _jpeg((5000, 4000), progressive=True, subsampling=0)
    with pytest.raises(UploadRejected, match="too large to process"):
        save_image(_upload(data))
    assert uploads._jpeg_coefficient_bytes(Image.open(BytesIO(data))) == 5000 * 4000 * 3 * 2
    assert _stored_size(save_image(_upload(_jpeg((5000, 4000), subsampling=0)))) == (2500, 2000)  # baseline


@pytest.fixture
def english(app):
    from flask_babel import refresh

    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    refresh()


def test_the_form_shows_the_refusal_and_records_nothing(make_client, world, pictures):
    from gridapp.extensions import db
    from tests.errands.factories import add_volunteers, claimed
    from tests.errands.helpers import logged_in

    w = add_volunteers(world)
    errand = claimed(w, w.vol2)
    resp = logged_in(make_client, "vol2").post(f"/errands/{errand.id}/purchase", {
        "actual_cost": "12", "receipt": (BytesIO((pictures / "zero.png").read_bytes()), "receipt.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "图片过大，无法处理（6300 × 6300 像素）" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (errand.status, errand.receipt_photo) == ("claimed", None)
