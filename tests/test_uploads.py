"""gridapp.uploads: images only (by content), 5 MB, metadata stripped, random private names."""
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from gridapp import uploads
from gridapp.uploads import UploadRejected, open_image, save_image
from tests.errands.conftest import english  # noqa: F401  (messages read in English)
from tests.errands.helpers import jpeg_with_gps, png_with_gps


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> FileStorage:
    return FileStorage(stream=BytesIO(data), filename=name, content_type=content_type)


def image_bytes(fmt, size=(32, 32), mode="RGB") -> bytes:
    out = BytesIO()
    Image.new(mode, size, (1, 2, 3) if mode == "RGB" else None).save(out, fmt)
    return out.getvalue()


def test_jpeg_is_reencoded_without_exif_and_kept_upright(app):
    name = save_image(upload(jpeg_with_gps()))
    path = open_image(name)
    assert path.parent == Path(app.instance_path) / "uploads" and "static" not in path.parts
    with Image.open(path) as img:
        assert img.format == "JPEG" and img.size == (48, 64)  # orientation 6 applied
        assert not img.getexif() and "exif" not in img.info
    assert b"Exif" not in path.read_bytes()


def test_png_loses_exif_and_text_chunks(app):
    name = save_image(upload(png_with_gps(), "x.png", "image/png"))
    data = open_image(name).read_bytes()
    assert name.endswith(".png") and b"PhoneMaker" not in data and b"Comment" not in data and b"eXIf" not in data


def test_webp_is_accepted(app):
    assert save_image(upload(image_bytes("WEBP"), "x.webp", "image/webp")).endswith(".webp")


@pytest.mark.parametrize("data,name", [
    (b"GIF89a" + b"\0" * 50, "cat.jpg"),                      # not an image Pillow reads as allowed
    (image_bytes("GIF"), "cat.jpg"),                          # a real GIF, named like a JPEG
    (image_bytes("BMP"), "cat.png"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.png"),
    (b"%PDF-1.4", "receipt.jpg"),
    (image_bytes("JPEG")[:60], "cut.jpg"),                    # truncated
])
def test_anything_else_is_refused_whatever_its_name(app, data, name):
    with pytest.raises(UploadRejected, match="Only photos"):
        save_image(upload(data, name, "image/jpeg"))


def test_size_limit(app):
    noise = Image.frombytes("RGB", (1400, 1400), bytes(range(256)) * (1400 * 1400 * 3 // 256) + b"\0" * (
        1400 * 1400 * 3 % 256))
    out = BytesIO()
    noise.save(out, "PNG", compress_level=0)
    assert len(out.getvalue()) > 5 * 1024 * 1024
    with pytest.raises(UploadRejected, match="larger than 5 MB"):
        save_image(upload(out.getvalue(), "big.png", "image/png"))
    with pytest.raises(UploadRejected):
        save_image(upload(b"", "empty.jpg"))


def test_names_are_random_and_open_image_refuses_anything_else(app):
    a, b = save_image(upload(image_bytes("PNG"), "same.png")), save_image(upload(image_bytes("PNG"), "same.png"))
    assert a != b and "same" not in a
    for bad in ("../secret_key", "x.png", a.replace(".png", ".exe"), "", None, "/etc/passwd"):
        with pytest.raises(FileNotFoundError):
            open_image(bad)
    uploads.delete_image(a)
    with pytest.raises(FileNotFoundError):
        open_image(a)
