"""HTTP hardening applied to every request and response."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Request, Response, abort, request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# A body without files (a form of text fields, JSON) is never this large; only multipart
# uploads may reach the app's MAX_CONTENT_LENGTH.
TEXT_BODY_LIMIT = 1024 * 1024


def csp_with_images_from(origin: str) -> str:
    """The default policy, also letting a page load images (map tiles) from ``origin``.

    A view sets it on its own response; the default below is only a ``setdefault``.
    """
    return CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {origin}; "
                       f"connect-src 'self' {origin};")


class LimitedRequest(Request):
    """A request whose body is capped at ``TEXT_BODY_LIMIT`` unless it carries files.

    Werkzeug caps each multipart text field (``MAX_FORM_MEMORY_SIZE``) but reads a
    urlencoded body whole, up to ``MAX_CONTENT_LENGTH``: this closes that gap (413).
    """

    @property
    def max_content_length(self) -> int | None:
        limit = Request.max_content_length.fget(self)  # type: ignore[attr-defined]
        if self.mimetype == "multipart/form-data":
            return limit  # type: ignore[no-any-return]
        return TEXT_BODY_LIMIT if limit is None else min(limit, TEXT_BODY_LIMIT)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)  # type: ignore[attr-defined]


def has_nul(values: Iterable[str]) -> bool:
    return any("\x00" in value for value in values)


def install_security_headers(app: Flask) -> None:
    """Security headers on every response (HSTS over HTTPS only), request size caps, and
    no NUL character in the path, query or form (PostgreSQL refuses them in text)."""
    app.request_class = LimitedRequest

    @app.before_request
    def _refuse_nul() -> None:
        fields = [*request.args.lists(), *request.form.lists()]
        if "\x00" in request.path or any(has_nul([name, *values]) for name, values in fields):
            abort(400)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response
