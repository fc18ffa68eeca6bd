"""French labels shown to people for the codes stored in the database (status, channel)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ticketing.config.schema import Channel
from ticketing.models.ticket import Status

STATUS_LABELS = {
    Status.NEW: _l("Reçue"),
    Status.IN_PROGRESS: _l("En cours de traitement"),
    Status.WAITING_CITIZEN: _l("En attente de votre réponse"),
    Status.ANSWERED: _l("Répondue"),
    Status.CLOSED: _l("Clôturée"),
}

CHANNEL_LABELS = {
    Channel.WEB: _l("Formulaire en ligne"),
    Channel.EMAIL: _l("Courriel"),
    Channel.LETTER: _l("Courrier"),
    Channel.PHONE: _l("Téléphone"),
    Channel.COUNTER: _l("Accueil"),
}


def status_label(status: str) -> str:
    """The French label of a ticket status; the raw code if it is unknown."""
    label = STATUS_LABELS.get(status)  # type: ignore[call-overload]
    return str(label) if label is not None else status


def channel_label(channel: str) -> str:
    """The French label of a channel; the raw code if it is unknown."""
    label = CHANNEL_LABELS.get(channel)  # type: ignore[call-overload]
    return str(label) if label is not None else channel


# History lines of dispatch and collaboration (operations/dispatch.py).
DISPATCH_ACTION_LABELS = {
    "ticket.qualified": _l("Demande qualifiée"),
    "ticket.dispatched": _l("Demande orientée après tri"),
    "ticket.transferred": _l("Transférée à un autre service"),
    "ticket.copied": _l("Copie pour information"),
    "ticket.copy_removed": _l("Copie pour information retirée"),
    "ticket.forwarded": _l("Transmise à une autre administration"),
    "ticket.split": _l("Partie séparée en une nouvelle demande"),
    "ticket.split_from": _l("Créée par scission d'une demande"),
    "ticket.mentioned": _l("Collègues mentionnés"),
}

# History lines of merges and links (operations/merge.py).
LINK_ACTION_LABELS = {
    "ticket.merged_into": _l("Fusionnée dans une autre demande (doublon)"),
    "ticket.merged": _l("Doublon fusionné dans cette demande"),
    "ticket.merged_reply_forwarded": _l("Message de l'usager versé à la demande conservée"),
    "ticket.merged_reply_received": _l("Message de l'usager d'un doublon fusionné"),
    "ticket.linked": _l("Liée à une autre demande"),
    "ticket.unlinked": _l("Lien avec une autre demande retiré"),
}


def link_detail(before: dict[str, object], after: dict[str, object]) -> str:
    """The other ticket of a merge or link history line: "n° 2026-000123"."""
    other = after.get("kept") or after.get("duplicate") or after.get("ticket") \
        or before.get("ticket")
    return f"n° {other}" if other else ""


# The ticket's authorised contacts (people whose mail may join it, e.g. a spouse, a lawyer).
CONTACT_ACTION_LABELS = {
    "ticket.contact_added": _l("Contact autorisé ajouté"),
    "ticket.contact_removed": _l("Contact autorisé retiré"),
}
