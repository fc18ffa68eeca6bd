"""Public pages of a commune: the request form, its confirmation, the tracking page."""

from flask import Blueprint

from ticketing.web.themes import render_page

bp = Blueprint("public", __name__, url_prefix="/<commune>")


@bp.get("/")
def home() -> str:
    return render_page("public/home.html")
