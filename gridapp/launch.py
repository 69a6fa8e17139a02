"""`make run`: set up everything, then run web, worker and scheduler in the foreground.

Applies migrations, seeds the demo into an empty database (or livens the demo already there),
starts the embedded Redis when REDIS_URL is unset, and hands the Procfile's processes to honcho;
Ctrl-C stops all.
"""
import os
import sys
from pathlib import Path

from gridapp import create_app
from gridapp.auth.models import User
from gridapp.config import PROJECT_ROOT
from gridapp.demo import DEMO_PASSWORD, liven, seed
from gridapp.extensions import db
from gridapp.redis_conn import stop_embedded_redis


def read_procfile(path: Path) -> dict:
    procs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, cmd = line.split(":", 1)
            procs[name.strip()] = cmd.strip()
    return procs


def prepare(app) -> str:
    """Migrate the database, then: seed the demo town into an empty one, or keep the demo of an
    earlier run alive (shifts ahead, someone on duty now); never either in production. Returns
    what it did: "seeded", "livened" or "migrated"."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    with app.app_context():
        try:
            upgrade()
            if app.config["GRIDAPP_ENV"] == "production":
                return "migrated"
            if not db.session.scalar(select(func.count(User.id))):
                print("Empty database: seeding the demo town of 城关镇 …", flush=True)
                seed()
                liven()  # yesterday's daily reports, to read on the first visit
                return "seeded"
            return "livened" if liven() else "migrated"
        finally:
            db.session.remove()


def main() -> int:
    from honcho.manager import Manager
    from honcho.printer import Printer

    embedded = not os.environ.get("REDIS_URL")
    app = create_app()
    prepare(app)
    port = app.config["PORT"]
    env = dict(os.environ)
    env["REDIS_URL"] = app.config["REDIS_URL"]
    env["GRIDAPP_INSTANCE"] = app.instance_path
    env["PORT"] = str(port)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"

    print(f"\n  gridapp: http://127.0.0.1:{port}\n"
          f"  Demo logins (password {DEMO_PASSWORD}): admin, leader, secretary1-4, gridder1-8,\n"
          f"  head1-8, vol1-30, pm1-3, unit1, sup1-2\n  Ctrl-C stops web, worker and scheduler.\n", flush=True)

    manager = Manager(Printer(sys.stdout))
    for name, cmd in read_procfile(PROJECT_ROOT / "Procfile").items():
        # honcho runs each command through the shell, which expands $PORT and $REDIS_URL.
        manager.add_process(name, cmd, env=env, cwd=str(PROJECT_ROOT))
    try:
        manager.loop()
    finally:
        if embedded:
            stop_embedded_redis(Path(app.instance_path))
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
