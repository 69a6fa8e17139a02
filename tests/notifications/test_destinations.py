"""Group-robot addresses a secretary types: https to public addresses only, unless the
operator allows the host (WEBHOOK_ALLOWED_HOSTS); checked when saved and, on the resolved
address, when sent. Nothing here connects to anything but loopback: a public address is
judged, never contacted."""
import ssl
import subprocess

import pytest
from sqlalchemy import select

from gridapp.config import load_config
from gridapp.extensions import db
from gridapp.notifications import services
from gridapp.notifications.destinations import AddressRefused, check_webhook_url, resolve_webhook_url
from gridapp.notifications.models import GroupWebhook, OutboxMessage
from tests.notifications.group import a_group_text
from tests.notifications.servers import HTTPPeer
from tests.workers import run_burst_worker

REFUSED_AS_PRIVATE = [
    "https://127.0.0.1/hook",
    "https://127.8.9.10:6379/",
    "https://[::1]/hook",
    "https://10.0.0.1/",
    "https://10.255.255.254/",
    "https://172.16.0.1/",
    "https://172.31.255.254/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[64:ff9b::7f00:1]/",           # NAT64 of 127.0.0.1
    "https://[2002:a00:1::]/",              # 6to4 of 10.0.0.1
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://2130706433/",                  # 127.0.0.1, decimal
    "https://0x7f000001/",                  # hex
    "https://0177.0.0.1/",                  # octal
    "https://0x7f.1/",
    "https://127.1/",
    "https://0xa9fea9fe/",                  # 169.254.169.254
    "https://100.64.0.1/",                  # shared address space (carrier NAT)
    "https://224.0.0.1/",
    "https://localhost/hook",
    "https://LOCALHOST./hook",
    "https://robot.localhost/hook",
]
ACCEPTED = [
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
    "https://oapi.dingtalk.com/robot/send?access_token=x",
    "https://203.119.0.1/robot",
    "https://172.32.0.1/",                  # just outside 172.16/12
    "https://192.169.0.1/",
    "https://[2606:4700:4700::1111]/x",
]


@pytest.fixture
def nothing_allowed(app):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ()
    return app


@pytest.mark.parametrize("url", REFUSED_AS_PRIVATE)
def test_private_and_loopback_addresses_are_refused_when_saved(nothing_allowed, url):
    with pytest.raises(AddressRefused) as refused:
        check_webhook_url(url)
    assert refused.value.reason == "private"
    assert services.validate_webhook_url(url)


@pytest.mark.parametrize("url", ACCEPTED)
def test_https_to_public_addresses_is_accepted_when_saved(nothing_allowed, url):
    check_webhook_url(url)
    assert services.validate_webhook_url(url) is None


@pytest.mark.parametrize("url,reason", [
    ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send", "scheme"),
    ("http://127.0.0.1:6379/", "scheme"),
    ("http://2130706433/", "scheme"),
    ("ftp://example.org/x", "scheme"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme"),
    ("not a url", "scheme"),
    ("https://", "invalid"),
    ("https://example.org:99999/", "invalid"),
])
def test_other_schemes_and_broken_addresses_are_refused(nothing_allowed, url, reason):
    with pytest.raises(AddressRefused) as refused:
        check_webhook_url(url)
    assert refused.value.reason == reason
    assert services.validate_webhook_url(url)


def test_allowed_hosts_may_be_private_and_use_http(app):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ("gateway.town.example", "10.1.2.3")
    for url in ("http://10.1.2.3:8080/hook", "https://10.1.2.3/hook", "http://GATEWAY.town.example/robot"):
        assert services.validate_webhook_url(url) is None, url
    for url in ("http://10.1.2.4/hook", "https://10.1.2.4/hook", "http://other.town.example/robot"):
        assert services.validate_webhook_url(url), url


def test_the_allowed_host_list_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", " Gateway.Town.Example. , [::1],10.1.2.3,, ")
    assert load_config(tmp_path)["WEBHOOK_ALLOWED_HOSTS"] == ("gateway.town.example", "::1", "10.1.2.3")
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    assert load_config(tmp_path)["WEBHOOK_ALLOWED_HOSTS"] == ()


@pytest.mark.parametrize("url,address", [
    ("https://localhost:8443/hook", "127.0.0.1"),   # a name: resolved (from /etc/hosts), then judged
    ("https://2130706433/hook", "127.0.0.1"),
    ("https://0x7f.1/hook", "127.0.0.1"),
    ("https://[::ffff:127.0.0.1]/hook", "127.0.0.1"),
    ("https://0xa9fea9fe/latest/meta-data/", "169.254.169.254"),
])
def test_sending_judges_the_address_the_name_resolves_to(nothing_allowed, url, address):
    with pytest.raises(AddressRefused) as refused:
        resolve_webhook_url(url)
    assert refused.value.reason == "private" and address in str(refused.value)


def test_sending_to_a_public_address_connects_to_the_address_resolved(nothing_allowed):
    """The decision only: the destination is computed, nothing is contacted."""
    dest = resolve_webhook_url("https://203.119.0.1:8443/robot/send?access_token=t")
    assert (dest.scheme, dest.ip, dest.port) == ("https", "203.119.0.1", 8443)
    assert dest.target == "/robot/send?access_token=t"
    assert dest.host_header == "203.119.0.1:8443"
    with pytest.raises(AddressRefused):
        resolve_webhook_url("http://203.119.0.1/robot")  # http only for allowed hosts


def test_secretary_cannot_register_a_robot_inside_the_network(client, world):
    client.login("secretary1")
    for url in ("https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/", "https://localhost:6379/"):
        resp = client.post("/notifications/webhooks", {
            "place": f"community:{world.c1.id}", "provider": "wecom", "name": "内网群", "url": url})
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        assert "本机或内网" in body and 'value="内网群"' in body
    assert db.session.scalars(select(GroupWebhook)).all() == []


# --- real workers, real servers on loopback ---------------------------------------------------

def _deliver(app, **env):
    done = run_burst_worker(app, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    db.session.expire_all()
    return done


def _robots(world, *urls):
    hooks = [GroupWebhook(community_id=world.c1.id, provider="wecom", name=f"群{i}", url=url)
             for i, url in enumerate(urls)]
    db.session.add_all(hooks)
    db.session.commit()
    services.notify([], "urgent", "新的急单", dedupe_key="ssrf", places=[world.c1], group_text=a_group_text())
    db.session.commit()
    return hooks


def test_worker_never_posts_to_this_server(app, world, robot):
    """Robots stored before the check existed (or written by hand) that point at this machine
    in any spelling are not posted to: the worker checks the address it resolved."""
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ()
    port = robot.url.rsplit(":", 1)[1]
    urls = [f"http://127.0.0.1:{port}/hook", f"http://localhost:{port}/hook", f"http://2130706433:{port}/hook",
            f"http://0x7f.0.0.1:{port}/hook", f"http://0177.0.0.1:{port}/hook", f"http://127.1:{port}/hook",
            f"http://0.0.0.0:{port}/hook", f"https://127.0.0.1:{port}/hook", f"http://[::1]:{port}/hook"]
    _robots(world, *urls)
    _deliver(app)
    assert robot.requests == []
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(rows) == len(urls)
    for row in rows:
        assert row.status == "pending" and row.attempts == 1
        assert row.last_error.startswith("address refused:"), row.last_error


def test_allowed_host_is_posted_to_by_name_at_the_address_resolved(app, world, robot):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ("localhost",)
    port = robot.url.rsplit(":", 1)[1]
    _robots(world, f"http://localhost:{port}/cgi-bin/webhook/send?key=abc", f"http://127.0.0.1:{port}/not-allowed")
    _deliver(app)
    assert [r["path"] for r in robot.requests] == ["/cgi-bin/webhook/send"]
    assert robot.requests[0]["query"] == {"key": ["abc"]}
    assert robot.requests[0]["headers"]["Host"] == f"localhost:{port}"
    by_url = {r.webhook.url: r for r in db.session.scalars(select(OutboxMessage))}
    assert by_url[f"http://localhost:{port}/cgi-bin/webhook/send?key=abc"].status == "sent"
    assert by_url[f"http://127.0.0.1:{port}/not-allowed"].last_error.startswith("address refused:")


def test_a_redirect_is_not_followed(app, world):
    with HTTPPeer() as inside, HTTPPeer(status=302, headers={"Location": inside.url + "/internal"}) as robot:
        _robots(world, robot.url + "/hook")
        _deliver(app)
    assert len(robot.requests) == 1 and inside.requests == []
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.status == "pending" and "HTTP 302" in row.last_error


def test_https_robot_is_verified_by_name_while_connecting_to_its_address(app, world, tmp_path):
    """TLS to the resolved address still sends and verifies the host's name: a certificate for
    "localhost" is accepted at https://localhost (connected to 127.0.0.1), and the same server
    is refused when addressed as https://127.0.0.1 (the certificate does not name it)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ("localhost", "127.0.0.1")
    robot = HTTPPeer()
    robot.server.socket = context.wrap_socket(robot.server.socket, server_side=True)
    with robot:
        port = robot.server.server_port
        _robots(world, f"https://localhost:{port}/by-name", f"https://127.0.0.1:{port}/by-address")
        _deliver(app, SSL_CERT_FILE=str(cert))
    assert [r["path"] for r in robot.requests] == ["/by-name"]
    by_url = {r.webhook.url: r for r in db.session.scalars(select(OutboxMessage))}
    assert by_url[f"https://localhost:{port}/by-name"].status == "sent"
    refused = by_url[f"https://127.0.0.1:{port}/by-address"]
    assert refused.status == "pending" and "certificate" in refused.last_error.lower()
