"""Real peers on loopback for the notification channels: an SMTP server (aiosmtpd) and an
HTTP server that plays a group robot or an SMS gateway."""
import asyncio
import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPSink:
    """Collects every message it accepts. `hold_rcpt` makes it stall mid-conversation."""

    def __init__(self):
        self.messages = []
        self.hold_rcpt = threading.Event()  # set: stall at RCPT until `release` is set
        self.release = threading.Event()
        self.entered_rcpt = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.entered_rcpt.set()
        if self.hold_rcpt.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"to": envelope.rcpt_tos, "subject": str(msg["Subject"]),
                              "body": msg.get_content(), "message_id": str(msg["Message-ID"])})
        return "250 Message accepted"


class SMTPServer:
    def __init__(self):
        self.sink = SMTPSink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.sink.release.set()
        self.controller.stop()


class HTTPPeer:
    """Records each POST (path, query, headers, JSON body) and answers with `status`/`answer`
    (and `headers`, e.g. a redirect's Location)."""

    def __init__(self, status=200, answer=None, headers=None):
        self.requests = []
        self.status = status
        self.headers = headers or {}
        self.answer = answer if answer is not None else {"errcode": 0, "errmsg": "ok"}
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                with peer.lock:
                    peer.requests.append({"path": parts.path, "query": parse_qs(parts.query),
                                          "headers": dict(self.headers), "json": json.loads(raw or b"{}")})
                body = json.dumps(peer.answer).encode()
                self.send_response(peer.status)
                self.send_header("Content-Type", "application/json")
                for name, value in peer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
