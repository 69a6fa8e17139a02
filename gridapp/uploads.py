"""Photo uploads shared by features: images only, checked by content, re-encoded, kept private.

The API is small on purpose:

    name = save_image(request.files["photo"])   # -> stored name, or raises UploadRejected(message)
    path = open_image(name)                      # -> Path of the stored file, or raises FileNotFoundError
    return send_image(name)                      # the file as a response (call only after a permission check)
    delete_image(name)                           # best effort, for a replaced photo

What is accepted: JPEG, PNG and WebP as Pillow reads them (the file name and the browser's
content type are ignored), at most UPLOAD_MAX_BYTES (5 MB) and UPLOAD_MAX_PIXELS. Each image
is decoded and written again, so EXIF (GPS position, camera, time) and any other metadata or
trailing bytes are dropped; the EXIF orientation is applied first so the picture stays upright.
Files live in <instance>/uploads/ under random names chosen by the server, never under
static/: a feature serves them from a view that first checks the user may see the object the
photo belongs to.
"""
import os
import re
import secrets
import warnings
from io import BytesIO
from pathlib import Path

from flask import current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a phone photo is ~12 MP; larger is a decompression bomb or a mistake
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


def _decode(data: bytes) -> Image.Image:
    bad = UploadRejected(_("Only photos (JPEG, PNG or WebP) can be uploaded."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(BytesIO(data))
            if probe.format not in FORMATS:
                raise bad
            if probe.width * probe.height > MAX_PIXELS:
                raise UploadRejected(_("The photo has too many pixels."))
            probe.verify()  # structure and checksums; the object is unusable afterwards
            image = Image.open(BytesIO(data))
            image.load()
    except UploadRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError, OSError,
            SyntaxError, ValueError):
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
    image = _decode(_read(file_storage))
    data, ext = _reencode(image)
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
