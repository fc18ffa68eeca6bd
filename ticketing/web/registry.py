"""The communes this app serves, loaded once at start-up, and the current one per request."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, current_app, g

from ticketing.config import CommuneConfig
from ticketing.mail_templates import MailTemplates
from ticketing.operations.context import CommuneContext
from ticketing.settings import Settings


@dataclass
class Registry:
    settings: Settings
    configs: dict[str, CommuneConfig]
    commune_ids: dict[str, int] = field(default_factory=dict)
    _contexts: dict[str, CommuneContext] = field(default_factory=dict)

    def context(self, slug: str) -> CommuneContext | None:
        if slug not in self.configs or slug not in self.commune_ids:
            return None
        if slug not in self._contexts:
            self._contexts[slug] = CommuneContext(
                commune_id=self.commune_ids[slug],
                config=self.configs[slug],
                attachments_dir=self.settings.attachments_dir,
                mail_templates=MailTemplates(self.settings.themes_dir, slug),
                mail_sender=self.settings.mail_sender,
                signing_key=self.settings.secret_key.encode(),
            )
        return self._contexts[slug]

    def context_by_id(self, commune_id: int) -> CommuneContext | None:
        for slug, cid in self.commune_ids.items():
            if cid == commune_id:
                return self.context(slug)
        return None


def registry() -> Registry:
    return current_app.extensions["aiguillage"]


def current_commune() -> CommuneContext:
    """The commune of the current URL (set by the URL preprocessor), or 404."""
    ctx = g.get("commune")
    if ctx is None:
        abort(404)
    return ctx
