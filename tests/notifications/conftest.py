"""Fixtures for notification tests: loopback SMTP and HTTP peers wired into the app."""
import pytest

from tests.notifications.servers import HTTPPeer, SMTPServer


@pytest.fixture
def smtp(app):
    with SMTPServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
        yield server.sink


@pytest.fixture
def robot():
    with HTTPPeer() as peer:
        yield peer
