"""Photo uploads shared by features: images only, checked by content, re-encoded, kept private.

The API is small on purpose:

    name = save_image(request.files["photo"])   # -> stored name, or raises UploadRejected(message)
    path = open_image(name)                      # -> Path of the stored file, or raises FileNotFoundError
    return send_image(name)                      # the file as a response (call only after a permission check)
    delete_image(name)                           # best effort, for a replaced photo

What is accepted: JPEG, PNG and WebP as Pillow reads them (the file name and the browser's
content type are ignored), at most UPLOAD_MAX_BYTES (5 MB). Each image is decoded and written
again, so EXIF (GPS position, camera, time) and any other metadata or trailing bytes are
dropped; the EXIF orientation is applied first so the picture stays upright.

A small file can describe a huge picture (an all-zero 6300 × 6300 PNG is 116 KB and decodes
to 160 MB), so memory is bounded before anything is decoded, from the header alone: at most
MAX_PIXELS (a 50 MP phone photo), and an estimate of the decoded size within DECODE_BUDGET.
A JPEG is decoded at 1/2, 1/4 or 1/8 of its size when that comes nearest the stored size or
the budget needs it (Image.draft: libjpeg scales while decoding); a progressive JPEG also
needs its whole coefficient array (2 bytes a sample) at full size. PNG and WebP are decoded
at full size, so their budget caps their size (an RGB PNG at about 16 MP). The stored picture
is at most STORED_MAX_SIDE pixels on its long side. A process decodes DECODING_AT_ONCE image
at a time, so that simultaneous uploads (gunicorn's threads) cannot add up.

Files live in <instance>/uploads/ under random names chosen by the server, never under
static/: a feature serves them from a view that first checks the user may see the object the
photo belongs to.
"""
import os
import re
import secrets
import threading
import warnings
from io import BytesIO
from pathlib import Path

from flask import current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a phone photo is 12–50 MP; larger is a decompression bomb or a mistake
DECODE_BUDGET = 64 * 1024 * 1024  # bytes one decode may allocate (estimated from the header)
STORED_MAX_SIDE = 2560  # plenty to read a receipt or see a finding on any screen
DECODING_AT_ONCE = 1  # per process; gunicorn runs a process per core, Pillow decodes off the GIL
_DECODING = threading.BoundedSemaphore(DECODING_AT_ONCE)
# Bytes per pixel of Pillow's image memory by mode (RGB is stored as 4 bytes).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
# WebP: libwebp's animation decoder keeps two RGBA canvases, which Pillow copies into the
# image through a bytes object: about four times the image (measured).
_WEBP_COPIES = 4
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
_NAME = re.compile(r"^[A-Za-z0-9_-]{32}\.(jpg|png|webp)$")
_MIMETYPES = {ext: mime for ext, mime in FORMATS.values()}


class UploadRejected(ValueError):
    """The upload is not an acceptable image; str(exc) is the message for the user."""


def upload_dir() -> Path:
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _limit() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES") or os.environ.get("UPLOAD_MAX_BYTES") or MAX_BYTES)


def _read(file_storage) -> bytes:
    if file_storage is None or not hasattr(file_storage, "read"):
        raise UploadRejected(_("Choose a photo to upload."))
    limit = _limit()
    data = file_storage.read(limit + 1)
    if not data:
        raise UploadRejected(_("The file is empty."))
    if len(data) > limit:
        raise UploadRejected(_("The photo is larger than %(mb)d MB.", mb=limit // (1024 * 1024)))
    return data


def _too_large(probe) -> UploadRejected:
    return UploadRejected(_("This picture is too large to process (%(width)d × %(height)d pixels). Upload a smaller "
                            "picture, or a photo taken with the phone's camera.",
                            width=probe.width, height=probe.height))


def _jpeg_coefficient_bytes(probe) -> int:
    """A progressive JPEG's decoder keeps every DCT coefficient (2 bytes a sample) at full size."""
    if not probe.info.get("progressive"):
        return 0
    components = probe.layer or [(None, 1, 1, None)]
    h_max = max(c[1] for c in components)
    v_max = max(c[2] for c in components)
    return sum(-(-probe.width * h // (8 * h_max)) * -(-probe.height * v // (8 * v_max)) * 128
               for _id, h, v, _q in components)


def _jpeg_scale(probe) -> int:
    """The JPEG decoding scale (1, 2, 4 or 8): the one nearest the stored size (the picture is
    then stored between 1810 and 2560 px on its long side), or more reduction if the budget
    needs it; UploadRejected if even 1/8 does not fit."""
    long_side = max(probe.size)
    scale = 1  # the scale whose decoded size is nearest the stored one (4000 px: 1/2, 2000 px)
    while scale < 8 and long_side / (scale * 2) >= STORED_MAX_SIDE / 1.4142:
        scale *= 2
    coefficients = _jpeg_coefficient_bytes(probe)
    while True:
        decoded = -(-probe.width // scale) * -(-probe.height // scale) * 4
        if coefficients + decoded <= DECODE_BUDGET:
            return scale
        if scale == 8:
            raise _too_large(probe)
        scale *= 2


def _check_size(probe) -> int:
    """From the header only: refuse what would take too much memory; the JPEG scale to decode at."""
    if probe.width * probe.height > MAX_PIXELS:
        raise UploadRejected(_("The photo has too many pixels (at most %(mp)d megapixels).",
                               mp=MAX_PIXELS // 1_000_000))
    if probe.format == "JPEG":
        return _jpeg_scale(probe)
    decoded = probe.width * probe.height * _PIXEL_BYTES.get(probe.mode, 4)
    if decoded * (_WEBP_COPIES if probe.format == "WEBP" else 1) > DECODE_BUDGET:
        raise _too_large(probe)
    return 1


def _decode(data: bytes) -> Image.Image:
    """The picture, checked and decoded within the memory bounds, at most STORED_MAX_SIDE wide."""
    bad = UploadRejected(_("Only photos (JPEG, PNG or WebP) can be uploaded."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(BytesIO(data))  # reads the header only
            if probe.format not in FORMATS:
                raise bad
            scale = _check_size(probe)
            probe.verify()  # structure and checksums; the object is unusable afterwards
            image = Image.open(BytesIO(data))
            if scale > 1:
                image.draft(None, (-(-image.width // scale), -(-image.height // scale)))
            image.load()
            image.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.LANCZOS)
    except UploadRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UploadRejected(_("The photo has too many pixels (at most %(mp)d megapixels).",
                               mp=MAX_PIXELS // 1_000_000)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise bad from None
    return image


def _reencode(image: Image.Image) -> tuple[bytes, str]:
    fmt = image.format
    image = ImageOps.exif_transpose(image)  # upright, and without the orientation tag
    out = BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)  # no pnginfo: text chunks and eXIf are gone
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=85)
    return out.getvalue(), FORMATS[fmt][0]


def save_image(file_storage) -> str:
    """Check, clean and store an uploaded image; return its stored name (keep it on your row)."""
    raw = _read(file_storage)
    with _DECODING:
        image = _decode(raw)
        data, ext = _reencode(image)
        del image
    name = f"{secrets.token_urlsafe(24)}.{ext}"
    path = upload_dir() / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return name


def open_image(name: str) -> Path:
    """The stored file of a name save_image() returned; FileNotFoundError for anything else."""
    if not name or not _NAME.match(name):
        raise FileNotFoundError(name)
    path = upload_dir() / name
    if not path.is_file():
        raise FileNotFoundError(name)
    return path


def send_image(name: str):
    """The stored image as a private, uncached response. Check permissions before calling."""
    path = open_image(name)
    resp = send_file(path, mimetype=_MIMETYPES[name.rsplit(".", 1)[1]], max_age=0, conditional=False)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Disposition"] = "inline"
    return resp


def delete_image(name: str | None) -> None:
    if not name:
        return
    try:
        open_image(name).unlink()
    except FileNotFoundError:
        pass
