"""HTTP hardening applied to every response."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def csp_with_images_from(origin: str) -> str:
    """The default policy, also letting a page load images (map tiles) from ``origin``.

    A view sets it on its own response; the default below is only a ``setdefault``.
    """
    return CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {origin}; "
                       f"connect-src 'self' {origin};")


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response
