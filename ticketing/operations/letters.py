"""Produce the PDF letter of a reply and keep it in the ticket's thread as an attachment."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.documents.letter import Letter, letter_pdf
from ticketing.domain.deadlines import local_date
from ticketing.models import Attachment, EntryKind, ReplyDraft, ThreadEntry
from ticketing.operations.attachments import new_public_id, store_bytes
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event

PDF = "application/pdf"


def letter_of(ctx: CommuneContext, entry: ThreadEntry, validated_by: str = "") -> Letter:
    ticket, citizen = entry.ticket, entry.ticket.citizen
    return Letter(
        number=ticket.number, tracking_code=ticket.tracking_code,
        subject=entry.subject or f"Réponse à votre demande n° {ticket.number}",
        body=entry.body, signature=entry.author_signature,
        recipient_name=citizen.full_name, recipient_address=citizen.address or "",
        day=local_date(entry.created_at, ctx.timezone), validated_by=validated_by,
    )


def _validator_of(session: Session, entry: ThreadEntry) -> str:
    draft = session.scalars(select(ReplyDraft).where(ReplyDraft.entry_id == entry.id)).first()
    if draft is None or draft.decided_by is None:
        return ""
    who = draft.decided_by
    return f"{who.full_name}, {who.title}" if who.title else who.full_name


def produce_letter(
    session: Session, ctx: CommuneContext, entry: ThreadEntry, themes_dir: Path, actor: Actor
) -> Attachment:
    """Render the reply ``entry`` as a letter in the commune's charte, store it on the
    ticket (linked to the entry) and audit it. Only replies become letters."""
    if entry.kind != EntryKind.REPLY:
        raise ValueError("only a reply to the citizen becomes a letter")
    data = letter_pdf(themes_dir, ctx.config, letter_of(ctx, entry, _validator_of(session, entry)))
    ticket = entry.ticket
    attachment = Attachment(
        commune_id=ticket.commune_id, public_id=new_public_id(), ticket=ticket, entry=entry,
        filename=f"lettre-{ticket.number}-{entry.id}.pdf", content_type=PDF, size=len(data),
        sha256=store_bytes(ctx.attachments_dir, data),
    )
    session.add(attachment)
    record_event(session, ticket.commune_id, actor, "letter.produced", ticket,
                 after={"filename": attachment.filename, "size": attachment.size})
    return attachment
