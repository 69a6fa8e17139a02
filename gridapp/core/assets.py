"""Static files under content-hashed names, cached for a year.

At start the app reads its static files (the app's and each blueprint's) and names each by the
first 12 hex digits of its SHA-256: `css/app.css` is linked as `css/app.3f2a…c1.css`. Every
`url_for("static", filename=…)` (or a blueprint's `…static`) gives the hashed name through one
url_defaults hook, so templates keep writing the plain name. A hashed name is served with
`Cache-Control: public, max-age=31536000, immutable`: a phone keeps it and never asks again, and a
changed file gets a new name, so a repeat visit transfers only the page. A plain name still works,
revalidated every time (Flask's own no-cache with an ETag).
"""
import hashlib
from pathlib import Path

YEAR = 365 * 24 * 3600


def _hashed_name(relative: str, digest: str) -> str:
    stem, dot, ext = relative.rpartition(".")
    if not dot or "/" in ext:
        return f"{relative}.{digest}"
    return f"{stem}.{digest}.{ext}"


def manifest_of(folder: str | None) -> dict[str, str]:
    """{plain name: hashed name} for every file under folder."""
    if not folder or not Path(folder).is_dir():
        return {}
    root = Path(folder)
    names = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        names[relative] = _hashed_name(relative, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
    return names


def _serving(view, hashed_to_plain: dict[str, str]):
    def serve(filename):
        plain = hashed_to_plain.get(filename)
        if plain is None:
            return view(filename=filename)
        response = view(filename=plain)
        cc = response.cache_control
        cc.no_cache = None
        cc.public, cc.max_age, cc.immutable = True, YEAR, True
        return response

    return serve


def init_app(app):
    """Call after every blueprint is registered."""
    manifests = {}
    folders = {"static": app.static_folder}
    folders |= {f"{name}.static": bp.static_folder for name, bp in app.blueprints.items() if bp.static_folder}
    for endpoint, folder in folders.items():
        if endpoint not in app.view_functions:
            continue
        manifests[endpoint] = manifest_of(folder)
        hashed_to_plain = {hashed: plain for plain, hashed in manifests[endpoint].items()}
        app.view_functions[endpoint] = _serving(app.view_functions[endpoint], hashed_to_plain)
    app.extensions["static_manifests"] = manifests

    @app.url_defaults
    def _hashed(endpoint, values):
        names = manifests.get(endpoint)
        if names and "filename" in values:
            values["filename"] = names.get(values["filename"], values["filename"])
