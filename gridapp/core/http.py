"""Answering plain requests, boosted requests and htmx fragment requests alike."""
import json

from flask import current_app, redirect, render_template, request
from werkzeug.routing import IntegerConverter

from gridapp.core.params import MAX_ID, MAX_PAGE, page_arg, safe_next
from gridapp.extensions import db


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: a number that can name a row (a 32-bit key). Anything
    larger is a 404 before the database sees it (SQLite would overflow)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def paginate(stmt, per_page: int | None = None, total: int | None = None):
    """db.paginate with the page number from ?page= clamped to a sane range. `total`, when the page
    already knows how many rows the statement selects (from figures it counted anyway), saves the
    count statement; it must be that number exactly."""

    page = db.paginate(stmt, page=page_arg(), per_page=per_page or current_app.config["PAGE_SIZE"],
                       error_out=False, count=total is None)
    if total is not None:
        page.total = total
    return page


def page_number(pages: int = MAX_PAGE) -> int:
    """?page=, clamped to 1…pages."""
    return page_arg(pages)


class ListPage:
    """One page of rows, with the attributes the pager macro reads: either a list in memory
    (sliced here) or a page already fetched, given with the total."""

    def __init__(self, items, per_page: int | None = None, total: int | None = None, page: int | None = None):
        self.per_page = per_page or current_app.config["PAGE_SIZE"]
        self.total = len(items) if total is None else total
        self.pages = max(1, -(-self.total // self.per_page))
        self.page = min(page or page_number(self.pages), self.pages)
        start = (self.page - 1) * self.per_page
        self.items = items[start:start + self.per_page] if total is None else items
        self.has_prev, self.prev_num = self.page > 1, self.page - 1
        self.has_next, self.next_num = self.page < self.pages, self.page + 1


def form_status(*forms) -> int:
    """422 for a page that shows forms sent with errors (invalid input, as core.acting.act answers),
    200 otherwise."""
    return 422 if request.method == "POST" and any(f is not None and f.errors for f in forms) else 200


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


def back_to(default: str) -> str:
    """A same-site `next` target of the request (gridapp.core.params.safe_next), or the default."""
    return safe_next(request.form.get("next")) or safe_next(request.args.get("next")) or default


def redirect_back(default: str):
    return redirect(back_to(default))
