"""A long-lived process settles once its app is built: what start-up made is out of the cyclic
collector's walks (gridapp.core.process.settle), in the web server's entry point and the RQ worker."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, sys
before = gc.get_freeze_count()
{imports}
print(before, gc.get_freeze_count())
"""


def _frozen(app, tmp_path, imports: str) -> tuple[int, int]:
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               GRIDAPP_INSTANCE=str(tmp_path), SECRET_KEY="probe")
    out = subprocess.run([sys.executable, "-c", PROBE.format(imports=imports)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = map(int, out.stdout.split()[-2:])
    return before, after


def test_the_web_entry_point_freezes_what_start_up_made(app, tmp_path):
    before, after = _frozen(app, tmp_path, "import wsgi")
    assert before == 0
    assert after > 50_000  # the app, its routes, forms and mappers: ~200,000 objects


def test_the_rq_worker_freezes_what_start_up_made(app, tmp_path):
    imports = ("from redis import Redis\nfrom jobs.worker import AppWorker\n"
               f"AppWorker(['default'], connection=Redis.from_url({app.config['REDIS_URL']!r}))")
    before, after = _frozen(app, tmp_path, imports)
    assert before == 0
    assert after > 50_000
