"""The automatic answer to a mail too large to be registered (capped like acknowledgements)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mail_ingest.apply import SentCounts
from mail_ingest.mailboxes import MailboxTarget
from mail_ingest.message import ParsedMail
from ticketing.operations.context import CommuneContext
from ticketing.operations.outbox import enqueue_mail


def tell_too_large(session: Session, target: MailboxTarget, mail: ParsedMail,
                   sent: SentCounts) -> None:
    mailbox = target.mailbox
    if mail.automatic is None and mail.from_address and \
            sent.count(mail.from_address) < mailbox.ack_cap_per_hour:
        sent.queued(mail.from_address)
        enqueue_mail(session, target.ctx.commune_id, "mail_rejected", mail.from_address,
                     f"Message non traité : {mail.subject}"[:300],
                     too_large_text(target.ctx, mail.subject, mailbox.max_message_mb),
                     headers={"Auto-Submitted": "auto-replied"})


def too_large_text(ctx: CommuneContext, subject: str, limit_mb: float) -> str:
    commune = ctx.config.commune
    return (f"Bonjour,\n\nVotre message « {subject} » dépasse la taille maximale de "
            f"{limit_mb:g} Mo acceptée par la mairie de {commune.name} : il n'a pas été "
            "enregistré comme demande.\n\nMerci de nous écrire de nouveau avec des pièces "
            f"jointes plus légères, ou de passer par le formulaire en ligne : "
            f"{commune.public_url.rstrip('/')}/{ctx.config.slug}/demande\n\n"
            f"Mairie de {commune.name}\n{commune.phone}\n")
