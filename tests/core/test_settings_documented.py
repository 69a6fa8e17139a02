"""Every environment variable the code reads is in one of the README's settings tables, and every
variable those tables list is read somewhere."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
# Set for the processes gridapp starts, or by the C library's own convention, not settings of gridapp.
NOT_SETTINGS = {"PATH", "TZ", "PGPASSWORD"}


def variables_read() -> set[str]:
    names = set()
    for path in [ROOT / "wsgi.py", *(ROOT / "gridapp").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]:
        names |= set(READS.findall(path.read_text(encoding="utf-8")))
    return names - NOT_SETTINGS


def variables_documented() -> set[str]:
    names, in_table = set(), False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| variable |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            in_table = False
        if in_table and not line.startswith("|---"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_every_setting_read_is_documented_and_every_documented_one_is_read():
    read, documented = variables_read(), variables_documented()
    assert len(documented) > 20
    assert sorted(read - documented) == [], "read by the code but missing from the README's tables"
    assert sorted(documented - read) == [], "in the README's tables but read nowhere"


def test_the_duty_settings_reach_the_rules(monkeypatch, tmp_path):
    from datetime import timedelta

    from gridapp import create_app
    from gridapp.duty import services
    from tests.conftest import test_config

    monkeypatch.setenv("DUTY_WITHDRAW_CUTOFF_HOURS", "3")
    monkeypatch.setenv("DUTY_REMINDER_HOURS", "1.5")
    monkeypatch.setenv("DISINFECTION_GRACE_MINUTES", "45")
    app = create_app(test_config(INSTANCE_PATH=str(tmp_path), REDIS_URL="redis://127.0.0.1:1/0"))
    with app.app_context():
        from gridapp.disinfection.services import grace

        assert services.cutoff() == timedelta(hours=3)
        assert services.reminder_lead() == timedelta(hours=1.5)
        assert grace() == timedelta(minutes=45)
