"""The peak memory of gridapp.uploads.save_image, measured in a process of its own.

    python -m tests.uploads_peak zero-png PATH [SIDE]        write an all-zero SIDE×SIDE RGB PNG (streamed)
    python -m tests.uploads_peak jpeg PATH W H [progressive]  write a W×H JPEG
    python -m tests.uploads_peak save PATH [COPIES]           save_image() COPIES uploads of PATH at once
                                                              (threads), print JSON with the peak RSS

The "save" run builds the app and saves one small photo first (libraries loaded, code paths
warm), then reads its high-water mark (ru_maxrss) as the baseline; the peak after the uploads
minus that baseline is what the uploads cost.
"""
import json
import resource
import shutil
import struct
import sys
import tempfile
import threading
import zlib
from io import BytesIO
from pathlib import Path


def write_zero_png(path: Path, side: int = 6300) -> None:
    """An RGB PNG of zeros, compressed row by row, so that writing it costs no memory."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    comp = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * side)  # filter byte, then RGB
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def write_jpeg(path: Path, width: int, height: int, progressive: bool = False) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (90, 140, 60))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 400):  # some edges, so that it is not a single colour
        draw.line([(x, 0), (width - x, height)], fill=(200, 30, 30), width=9)
    image.save(path, "JPEG", quality=85, progressive=progressive)


def peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def save(path: Path, copies: int = 1) -> dict:
    from gridapp import create_app
    from gridapp.redis_conn import stop_embedded_redis

    instance = tempfile.mkdtemp(prefix="gridapp-uploads-peak-")
    app = create_app({"TESTING": True, "SECRET_KEY": "peak", "INSTANCE_PATH": instance,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/peak.db"})
    try:
        return _measure(app, instance, path, copies)
    finally:  # the embedded Redis this app started (when REDIS_URL is unset) ends with the run
        stop_embedded_redis(Path(instance))
        shutil.rmtree(instance, ignore_errors=True)


def _measure(app, instance: str, path: Path, copies: int) -> dict:
    from PIL import Image
    from werkzeug.datastructures import FileStorage

    from gridapp.uploads import UploadRejected, save_image

    data = path.read_bytes()
    outcomes = []
    with app.app_context():
        small = BytesIO()
        Image.new("RGB", (640, 480), (1, 2, 3)).save(small, "JPEG")
        save_image(FileStorage(BytesIO(small.getvalue()), "warm.jpg"))
        baseline = peak_kb()

        def one():
            with app.app_context():
                try:
                    name = save_image(FileStorage(BytesIO(data), path.name))
                    with Image.open(Path(instance) / "uploads" / name) as stored:
                        outcomes.append(f"saved {stored.width}x{stored.height}")
                except UploadRejected as exc:
                    outcomes.append(f"refused: {exc}")

        threads = [threading.Thread(target=one) for _ in range(copies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {"file_kb": len(data) // 1024, "copies": copies, "baseline_mb": round(baseline / 1024, 1),
            "peak_mb": round(peak_kb() / 1024, 1), "increase_mb": round((peak_kb() - baseline) / 1024, 1),
            "outcomes": sorted(set(outcomes))}


if __name__ == "__main__":
    command, target, *rest = sys.argv[1:]
    if command == "zero-png":
        write_zero_png(Path(target), *map(int, rest))
    elif command == "jpeg":
        write_jpeg(Path(target), int(rest[0]), int(rest[1]), progressive=rest[2:] == ["progressive"])
    else:
        print(json.dumps(save(Path(target), *map(int, rest))))
