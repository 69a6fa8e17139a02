"""Answering plain requests, boosted requests and htmx fragment requests alike."""
import json

from flask import redirect, render_template, request


def wants_fragment() -> bool:
    """A targeted htmx request (not hx-boost, which expects the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render(page: str, fragment: str | None = None, **context):
    """The fragment for a targeted htmx request, the whole page otherwise."""
    if fragment and wants_fragment():
        return render_template(fragment, **context)
    return render_template(page, **context)


def toast(response, message: str, level: str = "success"):
    """Attach a toast to an htmx response (shown by static/js/app.js)."""
    response.headers["HX-Trigger"] = json.dumps({"gridapp:toast": {"message": str(message), "level": level}},
                                                ensure_ascii=True)
    return response


def redirect_back(default: str):
    """Redirect to a same-site `next` target, or to the default."""
    target = request.form.get("next") or request.args.get("next") or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = default
    return redirect(target)
