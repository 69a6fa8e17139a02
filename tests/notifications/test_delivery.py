"""Deliveries over real channels on loopback, by real RQ workers: SMTP e-mail, WeCom and
DingTalk robots, the SMS gateway; failures that retry and then show up for admins."""
from sqlalchemy import select

from gridapp.errands.services import CATEGORY_LABELS, URGENT_GROUP_LINE
from gridapp.extensions import db
from gridapp.notifications import services
from gridapp.notifications.group import GroupText
from gridapp.notifications.models import GroupWebhook, OutboxMessage
from tests.notifications.group import a_group_text
from tests.notifications.servers import HTTPPeer
from tests.workers import run_burst_worker


def _deliver(app):
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr[-3000:]
    db.session.expire_all()
    return done


def test_one_email_per_event(app, world, smtp):
    world.vol1.email = "vol1@example.org"
    db.session.commit()
    for _ in range(2):  # the code raising the event runs twice: still one e-mail
        services.notify([world.vol1], "urgent", "东门检查点今晚缺人", "00:00–08:00 班次还差 2 人",
                        dedupe_key="gap:shift:42")
        db.session.commit()
        _deliver(app)
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["to"] == ["vol1@example.org"]
    assert mail["subject"] == "东门检查点今晚缺人"
    assert "00:00–08:00 班次还差 2 人" in mail["body"]
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.status == "sent" and row.attempts == 1
    assert mail["message_id"].startswith(f"<outbox-{row.id}@")


def test_group_robot_receives_text_json(app, world, robot):
    app.config["PUBLIC_URL"] = "https://grid.example.gov.cn"
    db.session.add(GroupWebhook(community_id=world.c1.id, provider="wecom", name="城关社区志愿者群",
                                url=f"{robot.url}/cgi-bin/webhook/send?key=abc"))
    db.session.commit()
    services.notify([world.vol1], "urgent", "新的急单", "张三 13912345678 布洛芬", dedupe_key="errand:7",
                    places=[world.c1], group_text=GroupText(URGENT_GROUP_LINE, link="/errands/7", id=7,
                                                            category=CATEGORY_LABELS["daily"], place=world.k1))
    db.session.commit()
    _deliver(app)
    assert len(robot.requests) == 1
    req = robot.requests[0]
    assert req["path"] == "/cgi-bin/webhook/send" and req["query"]["key"] == ["abc"]
    assert req["json"]["msgtype"] == "text"
    assert req["json"]["text"]["content"] == (
        f"紧急代办 #7（{CATEGORY_LABELS['daily']}，阳光小区）仍无人认领，请志愿者接单。\nhttps://grid.example.gov.cn/errands/7")


def test_dingtalk_robot_is_signed(app, world, robot):
    import base64
    import hashlib
    import hmac

    db.session.add(GroupWebhook(grid_id=world.g1.id, provider="dingtalk", name="第一网格钉钉群",
                                url=f"{robot.url}/robot/send?access_token=t", secret="SEC123"))
    db.session.commit()
    services.notify([], "urgent", "test", dedupe_key="d", places=[world.g1], group_text=a_group_text())
    db.session.commit()
    _deliver(app)
    query = robot.requests[0]["query"]
    ts = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(b"SEC123", f"{ts}\nSEC123".encode(), hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]


def test_sms_gateway(app, world):
    with HTTPPeer(answer={"ok": True}) as gateway:
        app.config["SMS_GATEWAY_URL"] = gateway.url + "/send?to={phone}"
        world.vol1.phone = "13900001111"
        db.session.commit()
        services.notify([world.vol1], "urgent", "集合", "19:00 东门集合", dedupe_key="sms:1")
        db.session.commit()
        _deliver(app)
    assert len(gateway.requests) == 1
    assert gateway.requests[0]["json"] == {"to": "13900001111", "text": "集合: 19:00 东门集合"}
    assert gateway.requests[0]["query"]["to"] == ["13900001111"]


def test_a_refusing_robot_fails_the_delivery_not_the_action(app, world, client):
    with HTTPPeer(status=200, answer={"errcode": 310000, "errmsg": "keywords not in content"}) as robot:
        wh = GroupWebhook(community_id=world.c1.id, provider="dingtalk", name="群", url=robot.url + "/robot")
        db.session.add(wh)
        db.session.commit()
        services.notify([], "urgent", "t", dedupe_key="f", places=[world.c1], group_text=a_group_text())
        db.session.commit()
        done = _deliver(app)
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.status == "pending" and row.attempts == 1
    assert "310000" in row.last_error
    assert "DeliveryError" in done.stderr + done.stdout
    # RQ holds the retry in its scheduled registry (30 s); the relay will not double it.
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from gridapp.jobs_runtime import redis_connection

    scheduled = ScheduledJobRegistry(queue=Queue("default", connection=redis_connection()))
    assert f"outbox-{row.id}" in scheduled.get_job_ids()
    assert services.due_outbox_ids() == []


def test_http_error_then_final_failure_shown_to_admins_with_retry(app, world, make_client):
    with HTTPPeer(status=500) as robot:
        wh = GroupWebhook(community_id=world.c1.id, provider="wecom", name="群", url=robot.url + "/hook")
        db.session.add(wh)
        db.session.commit()
        services.notify([], "urgent", "最后一次", dedupe_key="final", places=[world.c1], group_text=a_group_text())
        db.session.commit()
        row = db.session.scalars(select(OutboxMessage)).one()
        row.attempts = len(app.config["OUTBOX_BACKOFF_SECONDS"])  # this is the last try
        db.session.commit()
        _deliver(app)
    row = db.session.get(OutboxMessage, row.id)
    assert row.status == "failed" and "HTTP 500" in row.last_error
    admin = make_client()
    admin.login("admin")
    page = admin.get("/admin/jobs/").get_data(as_text=True)
    assert f'id="outbox-{row.id}"' in page and "HTTP 500" in page
    resp = admin.post(f"/admin/jobs/outbox/{row.id}/retry")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxMessage, row.id).status == "pending"
    secretary = make_client()
    secretary.login("secretary1")
    assert secretary.get("/admin/jobs/").status_code == 403
    assert secretary.post(f"/admin/jobs/outbox/{row.id}/retry").status_code == 403


def test_unreachable_smtp_server_fails_the_delivery_with_its_error(app, world):
    from tests.notifications.servers import free_port

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    world.vol1.email = "vol1@example.org"
    db.session.commit()
    services.notify([world.vol1], "urgent", "t", dedupe_key="no-smtp")
    db.session.commit()
    _deliver(app)
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("SMTP:")


def test_admin_requeues_a_failed_job(app, world, make_client):
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from gridapp.jobs_runtime import enqueue, redis_connection
    from jobs.maintenance import purge_expired_sessions

    job = enqueue(purge_expired_sessions, "not-a-time", job_timeout=30)
    _deliver(app)
    failed = FailedJobRegistry(queue=Queue("default", connection=redis_connection()))
    assert job.id in failed.get_job_ids()
    admin = make_client()
    admin.login("admin")
    page = admin.get("/admin/jobs/").get_data(as_text=True)
    assert "jobs.maintenance.purge_expired_sessions" in page and "ValueError" in page
    assert admin.post(f"/admin/jobs/failed/{job.id}/requeue").status_code == 302
    assert job.id not in failed.get_job_ids()
    assert job.id in Queue("default", connection=redis_connection()).get_job_ids()
    assert admin.post("/admin/jobs/failed/no-such-job/requeue").status_code == 302


def test_no_transaction_is_held_while_a_slow_robot_answers(app, world):
    """While the robot takes its time, the outbox row can be written by someone else: the
    worker committed its claim before sending (on SQLite it would otherwise hold the lock)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sqlalchemy import create_engine, text

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other = create_engine(url, connect_args={"timeout": 2} if url.startswith("sqlite") else {})
    outcome = []

    class SlowRobot(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                with other.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                    conn.execute(text("UPDATE outbox_messages SET last_error = 'touched while sending'"))
                outcome.append("written")
            except Exception as exc:  # the assertion below reports it
                outcome.append(repr(exc))
            body = b'{"errcode": 0}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowRobot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        db.session.add(GroupWebhook(community_id=world.c1.id, provider="wecom", name="群",
                                    url=f"http://127.0.0.1:{server.server_port}/hook"))
        db.session.commit()
        services.notify([], "urgent", "t", dedupe_key="slow", places=[world.c1], group_text=a_group_text())
        db.session.commit()
        _deliver(app)
    finally:
        server.shutdown()
        other.dispose()
    assert outcome == ["written"]
    assert db.session.scalars(select(OutboxMessage)).one().status == "sent"
