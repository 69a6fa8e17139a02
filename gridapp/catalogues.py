"""The compiled message catalogues: built from the .po files when the app starts, so that a
deployment by `pip install` and the Procfile alone (no make, no pybabel) speaks Chinese."""
import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from gridapp.config import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "gridapp" / "translations"
log = logging.getLogger(__name__)


def _compile(po: Path, mo: Path) -> None:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name)
    mo.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalog, use_fuzzy=True)
        os.replace(tmp, mo)  # atomic: two workers starting at once each write whole files
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _compile_stale(source: Path, target: Path) -> None:
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            _compile(po, mo)


def ensure_catalogues(instance_path: Path, source: Path = SOURCE) -> Path:
    """Compile every <lang>/LC_MESSAGES/messages.po under `source` whose .mo under
    instance/translations is missing or older; returns the directory Flask-Babel reads. Where the
    instance folder is read-only, a private temporary directory is used instead."""
    target = Path(instance_path) / "translations"
    try:
        _compile_stale(source, target)
    except OSError as exc:
        log.warning("cannot write compiled catalogues under %s (%s); using a temporary directory", target, exc)
        target = Path(tempfile.mkdtemp(prefix="gridapp-translations-"))
        _compile_stale(source, target)
    return target
