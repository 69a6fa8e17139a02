"""Sending one outbox row on its channel: SMTP e-mail, group-robot webhook, SMS gateway."""
import base64
import hashlib
import hmac
import json
import re
import smtplib
import time
import urllib.parse
from email.message import EmailMessage
from email.utils import formatdate

import urllib3
from flask import current_app

from gridapp.notifications import destinations
from gridapp.notifications.services import Delivery


class DeliveryError(Exception):
    """The channel refused or could not be reached; the delivery will be retried."""


# In an error written on the outbox row (shown on /admin/jobs): a URL's user and password, and
# its query (a robot's key or access token, a gateway's API key) are left out.
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s@'\"]*@)?([^\s?#'\"]*)(\?[^\s#'\"]*)?")


def failure_text(exc: BaseException, row: Delivery) -> str:
    """What to record of a failed delivery: the refusal, or the type and message of any other
    exception, without the passwords, keys and tokens the settings or the robot hold."""
    text = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    text = _URL.sub(lambda m: m.group(1) + ("***@" if m.group(2) else "") + m.group(3)
                    + ("?***" if m.group(4) else ""), text)
    cfg = current_app.config
    secrets = [cfg.get("SMS_GATEWAY_PASSWORD"), cfg.get("MAIL_PASSWORD"), cfg.get("SECRET_KEY"), row.webhook_secret]
    if cfg.get("SMS_GATEWAY_USER"):
        cred = f"{cfg['SMS_GATEWAY_USER']}:{cfg.get('SMS_GATEWAY_PASSWORD') or ''}".encode()
        secrets.append(base64.b64encode(cred).decode())
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text[:2000]


def send(row: Delivery) -> None:
    {"email": send_email, "webhook": send_webhook, "sms": send_sms}[row.channel](row)


def send_email(row: Delivery) -> None:
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        raise DeliveryError("e-mail is switched off (MAIL_SERVER unset)")
    sender = cfg.get("MAIL_DEFAULT_SENDER") or "gridapp@localhost"
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = sender
    msg["To"] = row.address
    msg["Date"] = formatdate(localtime=False)
    # A stable Message-ID: a receiver that sees a redelivery can tell it is the same notice.
    msg["Message-ID"] = f"<outbox-{row.id}@{sender.rsplit('@', 1)[-1]}>"
    msg.set_content(row.body or row.subject)
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or 25), timeout=20) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP: {exc}") from exc


# One connection pool per worker process: a worker posting many notices to the same
# robot or gateway keeps its (TLS) connection open instead of opening one per notice.
# No redirects (a redirect could lead anywhere, this server's own ports included) and no
# retries here (the outbox's backoff decides when to try again).
_http = urllib3.PoolManager(num_pools=32, maxsize=4, retries=False, timeout=urllib3.Timeout(connect=5, read=10))


def _read_answer(resp, host: str) -> tuple[int, bytes]:
    raw = resp.read(65537)
    if len(raw) > 65536:
        resp.close()  # an answer this long is not a robot's: drop the connection
        raw = raw[:65536]
    else:
        resp.release_conn()
    if resp.status >= 300:
        raise DeliveryError(f"HTTP {resp.status} from {host}")
    return resp.status, raw


def _body(payload: dict, headers: dict | None) -> tuple[bytes, dict]:
    return (json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def _post_json(url: str, payload: dict, headers: dict | None = None) -> tuple[int, bytes]:
    """POST to an address the operator configured (the SMS gateway)."""
    data, headers = _body(payload, headers)
    host = urllib.parse.urlsplit(url).hostname or "the gateway"
    try:
        resp = _http.request("POST", url, body=data, redirect=False, preload_content=False, headers=headers)
        return _read_answer(resp, host)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise DeliveryError(f"cannot reach {host}: {exc}") from exc


def _post_webhook(url: str, payload: dict, headers: dict | None = None) -> tuple[int, bytes]:
    """POST to a robot address a user typed: only to the address its name resolved to just now,
    and only if that address is allowed (gridapp.notifications.destinations)."""
    data, headers = _body(payload, headers)
    host = urllib.parse.urlsplit(url).hostname
    try:
        dest = destinations.resolve_webhook_url(url)
    except destinations.AddressRefused as exc:
        raise DeliveryError(f"address refused: {exc}") from exc
    except (OSError, UnicodeError) as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
    # The pool is keyed by the address and the name: the connection goes to dest.ip, while
    # TLS sends and verifies the name (server_hostname) and the Host header carries it.
    pool_kwargs = {"server_hostname": dest.host} if dest.scheme == "https" else {}
    try:
        pool = _http.connection_from_host(dest.ip, dest.port, dest.scheme, pool_kwargs=pool_kwargs)
        resp = pool.urlopen("POST", dest.target, body=data, headers={**headers, "Host": dest.host_header},
                            redirect=False, retries=False, preload_content=False, assert_same_host=False)
        return _read_answer(resp, dest.host)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise DeliveryError(f"cannot reach {dest.host}: {exc}") from exc


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk's robot signature: HMAC-SHA256 of "timestamp\\nsecret", base64, URL-encoded."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={sign}"


def send_webhook(row: Delivery) -> None:
    if not row.webhook_url or not row.webhook_active:
        raise DeliveryError("the group webhook was removed or switched off")
    text = row.subject if not row.body else f"{row.subject}\n{row.body}"
    payload = {"msgtype": "text", "text": {"content": text}}  # WeCom and DingTalk share this shape
    url = row.webhook_url
    if row.webhook_provider == "dingtalk" and row.webhook_secret:
        url = dingtalk_signed_url(url, row.webhook_secret)
    status, raw = _post_webhook(url, payload, headers={"X-Gridapp-Delivery": f"outbox-{row.id}"})
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        raise DeliveryError(f"robot refused: errcode {answer.get('errcode')} {answer.get('errmsg', '')}"[:500])


def send_sms(row: Delivery) -> None:
    cfg = current_app.config
    template = cfg.get("SMS_GATEWAY_URL")
    if not template:
        raise DeliveryError("SMS is switched off (SMS_GATEWAY_URL unset)")
    text = row.subject if not row.body else f"{row.subject}: {row.body}"
    url = template.format(phone=urllib.parse.quote(row.address), text=urllib.parse.quote(text))
    headers = {"X-Gridapp-Delivery": f"outbox-{row.id}"}
    if cfg.get("SMS_GATEWAY_USER"):
        cred = f"{cfg['SMS_GATEWAY_USER']}:{cfg.get('SMS_GATEWAY_PASSWORD') or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(cred).decode()
    _post_json(url, {"to": row.address, "text": text}, headers=headers)
