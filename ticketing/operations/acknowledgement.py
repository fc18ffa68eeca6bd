"""The acknowledgement (accusé de réception, CRPA L112-3 and R112-5) queued at intake."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ticketing.domain.deadlines import local_date, silence_date
from ticketing.domain.sms import gateway_address, mobile_number
from ticketing.models import Ticket
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event
from ticketing.operations.outbox import enqueue_mail


def acknowledgement_context(ctx: CommuneContext, ticket: Ticket) -> dict[str, Any]:
    """Everything the acknowledgement states, for the mail and the confirmation page."""
    config = ctx.config
    category = config.categories.get(ticket.category_code or "")
    received_on: date = local_date(ticket.received_at, ctx.timezone)
    silence = category.silence if category else None
    return {
        "commune": config.commune,
        "service": config.services[ticket.service_code],
        "ticket": ticket,
        "citizen": ticket.citizen,
        "category": category,
        "received_on": received_on,
        "silence": silence,
        "silence_on": silence_date(received_on, silence.months) if silence else None,
        "tracking_url": ctx.tracking_url(),
        "sms_number": text_message_number(ctx, ticket),
    }


def queue_acknowledgement(session: Session, ctx: CommuneContext, ticket: Ticket) -> None:
    """Queue the acknowledgement mail when the citizen gave an e-mail address; failing that,
    a text message to their mobile when the commune has an SMS gateway."""
    if not ticket.citizen.email:
        _queue_text_message(session, ctx, ticket)
        return
    context = acknowledgement_context(ctx, ticket)
    service = context["service"]
    subject = (
        f"[{ticket.tracking_code}] Accusé de réception de votre demande n° {ticket.number}"
    )
    enqueue_mail(
        session, ctx.commune_id, "acknowledgement", ticket.citizen.email, subject,
        ctx.mail_templates.render("acknowledgement.txt", **context),
        ticket=ticket, reply_to=service.email,
        headers={"Auto-Submitted": "auto-replied"},
        signing_key=ctx.signing_key, domain=ctx.mail_domain,
    )
    record_event(session, ctx.commune_id, Actor.system(), "acknowledgement.queued", ticket,
                 after={"to": ticket.citizen.email})


def text_message_number(ctx: CommuneContext, ticket: Ticket) -> str | None:
    """The mobile the acknowledgement goes to by text message, if it does."""
    if ctx.config.commune.sms is None or ticket.citizen.email:
        return None
    return mobile_number(ticket.citizen.phone)


def _queue_text_message(session: Session, ctx: CommuneContext, ticket: Ticket) -> None:
    number = text_message_number(ctx, ticket)
    gateway = ctx.config.commune.sms
    if number is None or gateway is None:
        return
    body = ctx.mail_templates.render("acknowledgement_sms.txt",
                                     **acknowledgement_context(ctx, ticket)).strip()
    enqueue_mail(
        session, ctx.commune_id, "acknowledgement", gateway_address(gateway.email_gateway, number),
        f"Demande {ticket.number}", body, ticket=ticket,
        headers={"Auto-Submitted": "auto-replied"},
        signing_key=ctx.signing_key, domain=ctx.mail_domain,
    )
    record_event(session, ctx.commune_id, Actor.system(), "acknowledgement.queued", ticket,
                 after={"sms": number})
