"""Security headers on every response, and no caching of pages with personal data."""
from flask import g, request

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])


def mark_personal():
    """Call from a view whose page shows personal data: it must not be cached anywhere."""
    g.personal_data = True


def init_app(app):
    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        response.vary.add("HX-Request")
        if g.get("personal_data"):
            h["Cache-Control"] = "no-store"
        elif request.endpoint != "static" and "Cache-Control" not in h:
            # Pages depend on who is logged in; never let a shared cache keep them.
            h["Cache-Control"] = "private, no-cache"
        return response
