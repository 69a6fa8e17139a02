"""The duty tests read messages in the source language (English), whatever the catalogue holds."""
import pytest


@pytest.fixture(autouse=True)
def _english(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    from flask_babel import refresh

    refresh()
    yield
