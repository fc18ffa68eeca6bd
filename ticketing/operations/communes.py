"""Keep the communes table in step with the communes found in the configuration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.config import CommuneConfig
from ticketing.models import CommuneRecord


def sync_communes(session: Session, configs: dict[str, CommuneConfig]) -> dict[str, int]:
    """Create missing commune rows, refresh names; return slug → id. The caller commits."""
    existing = {c.slug: c for c in session.scalars(select(CommuneRecord))}
    for slug, config in configs.items():
        record = existing.get(slug)
        if record is None:
            record = CommuneRecord(slug=slug, name=config.commune.name)
            session.add(record)
            existing[slug] = record
        record.name = config.commune.name
    session.flush()
    return {slug: existing[slug].id for slug in configs}
