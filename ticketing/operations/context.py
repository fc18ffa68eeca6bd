"""What a use case needs to know about the commune it acts for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ticketing.config import CommuneConfig
from ticketing.mail_templates import MailTemplates


@dataclass(frozen=True)
class CommuneContext:
    commune_id: int
    config: CommuneConfig
    attachments_dir: Path
    mail_templates: MailTemplates
    mail_sender: str
    signing_key: bytes = b""  # the app secret: signs the Message-ID of outgoing mail

    @property
    def mail_domain(self) -> str:
        return self.mail_sender.rpartition("@")[2] or "aiguillage.localhost"

    @property
    def timezone(self) -> str:
        return self.config.commune.timezone

    def tracking_url(self) -> str:
        base = self.config.commune.public_url.rstrip("/")
        return f"{base}/{self.config.slug}/suivi"
