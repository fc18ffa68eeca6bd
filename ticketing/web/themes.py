"""The one theme loader: a commune's templates and static files override the default theme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, current_app, g, send_from_directory
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from werkzeug.security import safe_join

DEFAULT_THEME = "default"


def theme_environment(slug: str | None) -> Environment:
    """A Jinja overlay per commune, sharing globals and filters, with its own template cache."""
    app = current_app
    cache: dict[str | None, Environment] = app.extensions.setdefault("theme_envs", {})
    env = cache.get(slug)
    if env is None:
        themes_dir: Path = app.extensions["aiguillage"].settings.themes_dir
        loaders = [FileSystemLoader(themes_dir / DEFAULT_THEME / "templates")]
        if slug:
            loaders.insert(0, FileSystemLoader(themes_dir / slug / "templates"))
        env = app.jinja_env.overlay(loader=ChoiceLoader(loaders))
        cache[slug] = env
    return env


def render_page(name: str, **context: Any) -> str:
    """Render ``name`` with the current commune's theme (like Flask's render_template)."""
    app = current_app
    commune = g.get("commune")
    env = theme_environment(commune.config.slug if commune else None)
    app.update_template_context(context)
    return env.get_template(name).render(context)


def send_theme_file(slug: str, filename: str):  # type: ignore[no-untyped-def]
    """Serve ``themes/<slug>/static/<filename>``, else the default theme's file."""
    themes_dir: Path = current_app.extensions["aiguillage"].settings.themes_dir
    for theme in (slug, DEFAULT_THEME):
        folder = themes_dir / theme / "static"
        path = safe_join(str(folder), filename)
        if path is not None and Path(path).is_file():
            return send_from_directory(folder, filename, max_age=3600)
    abort(404)
