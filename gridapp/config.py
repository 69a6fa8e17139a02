"""Configuration read from the environment, with safe development defaults."""
import os
import secrets
from datetime import time
from pathlib import Path

from croniter import croniter

from gridapp.notifications.destinations import parse_allowed_hosts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _dev_secret_key(instance_path: Path) -> str:
    """A random key generated once per checkout and kept under instance/."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


class ConfigError(RuntimeError):
    pass


def backup_cron() -> str:
    """When the nightly backup runs: a crontab in the town's time (BACKUP_CRON). Read by the
    scheduler (jobs/periodic.py), which builds no app."""
    cron = os.environ.get("BACKUP_CRON") or "30 2 * * *"
    if not croniter.is_valid(cron):
        raise ConfigError(f"BACKUP_CRON={cron!r} is not a crontab line such as '30 2 * * *'")
    return cron


def check_times_setting(raw: str | None) -> tuple[time, ...]:
    """OBSERVATION_CHECK_TIMES: "08:00,18:00" (town time), sorted, each once."""
    out = set()
    for part in (raw or "08:00,18:00").split(","):
        try:
            hour, minute = (int(x) for x in part.strip().split(":"))
            out.add(time(hour, minute))
        except ValueError:
            raise ConfigError(f"OBSERVATION_CHECK_TIMES={raw!r} is not a list of times such as 08:00,18:00") from None
    return tuple(sorted(out))


def report_time_setting() -> tuple[int, int]:
    """When the evening job writes the daily reports (DAILY_REPORT_TIME, HH:MM in the town's time)."""
    raw = os.environ.get("DAILY_REPORT_TIME") or "20:00"
    try:
        hour, minute = (int(part) for part in raw.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(f"DAILY_REPORT_TIME={raw!r} is not a time such as 20:00") from None
    return hour, minute


def daily_report_cron() -> str:
    hour, minute = report_time_setting()
    return f"{minute} {hour} * * *"


def public_url(raw: str | None) -> str | None:
    """The address people open gridapp at (PUBLIC_URL), for the links in group-robot texts."""
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")):
        raise ConfigError(f"PUBLIC_URL={raw!r} is not an address such as https://grid.example.gov.cn")
    return raw.rstrip("/")


def load_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """Build the Flask configuration from the environment (and test overrides)."""
    env = os.environ
    gridapp_env = env.get("GRIDAPP_ENV", "development")
    production = gridapp_env == "production"

    secret_key = env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY must be set when GRIDAPP_ENV=production")
        secret_key = _dev_secret_key(instance_path)
    if production and env.get("GRIDAPP_CLOCK_OFFSET"):
        raise ConfigError("GRIDAPP_CLOCK_OFFSET (a shifted clock, for tests) is refused when GRIDAPP_ENV=production")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'gridapp.db'}"

    cfg = {
        "GRIDAPP_ENV": gridapp_env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "zh"),
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh", "en"],
        "PORT": int(env.get("PORT", "5000")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_NAME": "gridapp_session",
        # Server-side sessions expire after this long without activity.
        "SESSION_IDLE_DAYS": int(env.get("SESSION_IDLE_DAYS", "14")),
        # ...and after this long whatever the activity: a stolen cookie does not live forever.
        "SESSION_ABSOLUTE_HOURS": int(env.get("SESSION_ABSOLUTE_HOURS", "720")),
        # An account or role change asks for the password again unless it was typed this recently.
        "REAUTH_MINUTES": int(env.get("REAUTH_MINUTES", "10")),
        # An invitation link (an account's first password) works this long, then asks for a new one.
        "INVITATION_DAYS": float(env.get("INVITATION_DAYS", "7")),
        "WTF_CSRF_TIME_LIMIT": None,
        # Text responses compressed (Flask-Compress: brotli, else gzip), safe with masked CSRF tokens
        # (gridapp/core/csrf.py). Off when a proxy in front compresses instead.
        "COMPRESS_REGISTER": _bool(env.get("COMPRESS_RESPONSES"), True),
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        "LOGIN_LIMIT_PER_ACCOUNT": env.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes"),
        "LOGIN_LIMIT_PER_IP": env.get("LOGIN_LIMIT_PER_IP", "20 per 15 minutes"),
        # Reverse proxies in front of the app whose X-Forwarded-For / -Proto are trusted (0: none).
        "TRUSTED_PROXY_COUNT": max(0, int(env.get("TRUSTED_PROXY_COUNT", "0"))),
        "PASSWORD_MIN_LENGTH": 8,
        "PAGE_SIZE": int(env.get("PAGE_SIZE", "25")),
        # List rows each process keeps drawn, by the values they show (gridapp/core/fragments.py);
        # most under 1 KB, a roster week row a few KB. 0: none kept, every row drawn each time.
        "FRAGMENT_CACHE_SIZE": int(env.get("FRAGMENT_CACHE_SIZE", "10000")),
        "ROSTER_PAGE_SIZE": int(env.get("ROSTER_PAGE_SIZE", "20")),
        "RQ_QUEUES": ["default"],
        # A form may carry several phone photos (each at most 5 MB, see gridapp/uploads.py).
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(32 * 1024 * 1024))),
        # Notifications (e-mail off when MAIL_SERVER is unset, SMS off when SMS_GATEWAY_URL is).
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "gridapp@localhost"),
        "SMS_GATEWAY_URL": env.get("SMS_GATEWAY_URL") or None,
        "SMS_GATEWAY_USER": env.get("SMS_GATEWAY_USER") or None,
        "SMS_GATEWAY_PASSWORD": env.get("SMS_GATEWAY_PASSWORD") or None,
        # A claimed delivery whose worker is silent this long is sent again (> job timeout).
        "OUTBOX_LEASE_SECONDS": int(env.get("OUTBOX_LEASE_SECONDS", "300")),
        "OUTBOX_BACKOFF_SECONDS": [30, 120, 600, 3600],
        # Digests (gridapp/notifications/digest.py): at most this many new e-mails or text messages
        # per person, kind and channel in an hour; the inbox carries the rest.
        "NOTIFY_EXTERNAL_PER_HOUR": int(env.get("NOTIFY_EXTERNAL_PER_HOUR", "4")),
        # Duty: volunteers withdraw themselves until this long before a shift; reminders go this long ahead.
        "DUTY_WITHDRAW_CUTOFF_HOURS": float(env.get("DUTY_WITHDRAW_CUTOFF_HOURS", "12")),
        "DUTY_REMINDER_HOURS": float(env.get("DUTY_REMINDER_HOURS", "2")),
        # A shift short of people is urgent (told at once, at any hour) while it runs or when it
        # starts within this many hours; other gaps wait for the morning, merged into one message.
        "DUTY_GAP_URGENT_HOURS": float(env.get("DUTY_GAP_URGENT_HOURS", "2")),
        # Group-robot webhooks go to https on public addresses only; these hosts (names or
        # addresses, e.g. the town's own gateway) are allowed on any address, http included.
        "WEBHOOK_ALLOWED_HOSTS": parse_allowed_hosts(env.get("WEBHOOK_ALLOWED_HOSTS")),
        # The links in group-robot texts are this address and a path (unset: the path alone).
        "PUBLIC_URL": public_url(env.get("PUBLIC_URL")),
        # A disinfection tick this long after its window closed still counts (as late).
        "DISINFECTION_GRACE_MINUTES": int(env.get("DISINFECTION_GRACE_MINUTES", "30")),
        # Errands: the claim limit, how long a claim may show no progress, when the sweep chases,
        # and how long after confirmation the volunteer still sees the household's details.
        "ERRANDS_MAX_ACTIVE_CLAIMS": int(env.get("ERRANDS_MAX_ACTIVE_CLAIMS", "3")),
        "ERRANDS_CLAIM_MINUTES": int(env.get("ERRANDS_CLAIM_MINUTES", "120")),
        "ERRANDS_URGENT_CLAIM_MINUTES": int(env.get("ERRANDS_URGENT_CLAIM_MINUTES", "30")),
        "ERRANDS_URGENT_ALERT_MINUTES": int(env.get("ERRANDS_URGENT_ALERT_MINUTES", "15")),
        "ERRANDS_UNCONFIRMED_REMINDER_HOURS": int(env.get("ERRANDS_UNCONFIRMED_REMINDER_HOURS", "24")),
        "ERRANDS_CONTACT_DAYS": int(env.get("ERRANDS_CONTACT_DAYS", "7")),
        # Screening: this many days before a campaign's last day the building heads hear of the
        # households still to visit (the grid members a day later, the secretaries on the last day).
        "SCREENING_REMIND_DAYS": int(env.get("SCREENING_REMIND_DAYS", "2")),
        # Backups (`flask backup`, the nightly job): the folder (unset: the job makes none) and how
        # many archives to keep there (0: all). When the job runs: backup_cron().
        "BACKUP_DIR": env.get("BACKUP_DIR") or None,
        "BACKUP_KEEP": max(0, int(env.get("BACKUP_KEEP", "7"))),
        # An uploaded spreadsheet waiting for confirmation (or a retry) is kept this many days.
        "IMPORT_FILE_DAYS": int(env.get("IMPORT_FILE_DAYS", "7")),
        # The daily report (日报) is written at this local time each evening.
        "DAILY_REPORT_TIME": time(*report_time_setting()),
        # Retention (docs/PRIVACY.md): days each kind of personal data is kept before the nightly
        # purge-personal-data job erases it (gridapp/privacy/retention.py says from when each counts).
        "RETENTION_ERRAND_DAYS": int(env.get("RETENTION_ERRAND_DAYS", "30")),
        "RETENTION_NOTIFICATION_DAYS": int(env.get("RETENTION_NOTIFICATION_DAYS", "90")),
        "RETENTION_DISINFECTION_PHOTO_DAYS": int(env.get("RETENTION_DISINFECTION_PHOTO_DAYS", "180")),
        "RETENTION_SUPERVISION_PHOTO_DAYS": int(env.get("RETENTION_SUPERVISION_PHOTO_DAYS", "365")),
        "RETENTION_OBSERVATION_DAYS": int(env.get("RETENTION_OBSERVATION_DAYS", "30")),
        "RETENTION_RECORD_DAYS": int(env.get("RETENTION_RECORD_DAYS", "1095")),
        "RETENTION_NOTICE_MARK_DAYS": int(env.get("RETENTION_NOTICE_MARK_DAYS", "30")),
        # Home observation: its length, the daily check times (town time), when a check not
        # recorded reminds the building head and each further step of the ladder, and the
        # accounts (usernames) of the town's health contacts told of fevers (unset: the town leaders).
        "OBSERVATION_DAYS": int(env.get("OBSERVATION_DAYS", "14")),
        "OBSERVATION_CHECK_TIMES": check_times_setting(env.get("OBSERVATION_CHECK_TIMES")),
        "OBSERVATION_REMIND_MINUTES": int(env.get("OBSERVATION_REMIND_MINUTES", "60")),
        "OBSERVATION_ESCALATE_MINUTES": int(env.get("OBSERVATION_ESCALATE_MINUTES", "60")),
        "OBSERVATION_HEALTH_CONTACTS": tuple(n.strip() for n in (env.get("OBSERVATION_HEALTH_CONTACTS") or "")
                                             .split(",") if n.strip()),
        "TESTING": False,
    }
    short = sorted(name for name in cfg if name.startswith("RETENTION_") and cfg[name] < 1)
    if short:
        raise ConfigError(f"{', '.join(short)}: a retention is a number of days, at least 1")
    if overrides:
        cfg.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides:
            cfg["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(overrides["SQLALCHEMY_DATABASE_URI"])
    return cfg
