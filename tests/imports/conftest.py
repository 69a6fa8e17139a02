"""Import tests read messages in English (the msgids), whatever the catalogue holds today."""
import pytest
from flask_babel import refresh


@pytest.fixture(autouse=True)
def english(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    refresh()
    yield
