"""French words for the audit journal: actions, kinds of author, an event's details."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l

from ticketing.models import AuditEvent

ACTION_LABELS = {
    "ticket.anonymised": _l("Demande anonymisée (RGPD)"),
    # Requests
    "ticket.created": _l("Demande enregistrée"),
    "ticket.registered": _l("Demande saisie par un agent"),
    "ticket.qualified": _l("Demande qualifiée"),
    "ticket.dispatched": _l("Demande ventilée"),
    "ticket.acknowledged": _l("Accusé de réception envoyé"),
    "ticket.replied": _l("Réponse envoyée à l'usager"),
    "ticket.noted": _l("Note interne ajoutée"),
    "ticket.status_changed": _l("Statut modifié"),
    "ticket.assigned": _l("Affectation modifiée"),
    "ticket.located": _l("Localisation modifiée"),
    "ticket.transferred": _l("Demande transférée"),
    "ticket.copied": _l("Copie à un service"),
    "ticket.copy_removed": _l("Copie retirée"),
    "ticket.forwarded": _l("Demande transmise"),
    "ticket.split": _l("Demande scindée"),
    "ticket.split_from": _l("Demande issue d'une scission"),
    "ticket.mentioned": _l("Agent mentionné"),
    "ticket.citizen_replied": _l("Réponse de l'usager"),
    "ticket.follow_up_linked": _l("Relance rattachée"),
    "ticket.contact_added": _l("Contact ajouté"),
    "ticket.contact_removed": _l("Contact retiré"),
    "ticket.linked": _l("Demandes liées"),
    "ticket.unlinked": _l("Lien entre demandes retiré"),
    "ticket.merged": _l("Demande fusionnée"),
    "ticket.merged_into": _l("Demande fusionnée dans une autre"),
    "ticket.merged_reply_forwarded": _l("Message versé à la demande conservée"),
    "ticket.merged_reply_received": _l("Message reçu d'un doublon fusionné"),
    "acknowledgement.queued": _l("Accusé de réception préparé"),
    "acknowledgement.capped": _l("Accusé de réception non envoyé (plafond)"),
    "acknowledgement.slip_issued": _l("Récépissé remis"),
    "letter.produced": _l("Courrier produit"),
    "reply.submitted": _l("Réponse soumise à validation"),
    "reply.approved": _l("Réponse validée"),
    "reply.returned": _l("Réponse renvoyée pour correction"),
    "reply.resubmitted": _l("Réponse soumise à nouveau"),
    "reply.edited": _l("Réponse modifiée"),
    "mail.sent": _l("Courriel envoyé"),
    "mail.failed": _l("Échec de l'envoi d'un courriel"),
    "citizen.email_bounced": _l("Adresse de l'usager en échec"),
    "citizen.data_exported": _l("Données d'un usager exportées (droit d'accès RGPD)"),
    "deadline.clock_paused": _l("Délai suspendu"),
    "deadline.clock_resumed": _l("Délai repris"),
    "deadline.recomputed": _l("Échéances recalculées"),
    "deadline.warned": _l("Avertissement d'échéance"),
    "deadline.escalated": _l("Relance pour retard"),
    # Accounts and sessions
    "login.succeeded": _l("Connexion"),
    "login.failed": _l("Échec de connexion"),
    "login.second_factor_failed": _l("Échec du second facteur"),
    "logout": _l("Déconnexion"),
    "session.expired": _l("Session expirée"),
    "password.changed": _l("Mot de passe changé"),
    "password.link_sent": _l("Lien de mot de passe envoyé"),
    "password.reset_requested": _l("Réinitialisation demandée"),
    "totp.enabled": _l("Double authentification activée"),
    "totp.disabled": _l("Double authentification désactivée"),
    "totp.enrolment_failed": _l("Échec d'activation de la double authentification"),
    "agent.created": _l("Compte d'agent créé"),
    "agent.updated": _l("Identité d'un agent modifiée"),
    "agent.role_granted": _l("Rôle attribué"),
    "agent.role_revoked": _l("Rôle retiré"),
    "agent.deactivated": _l("Compte désactivé"),
    "agent.reactivated": _l("Compte réactivé"),
    # Access and the log itself
    "access_denied": _l("Accès refusé"),
    "audit.exported": _l("Journal d'audit exporté"),
}

ACTOR_KIND_LABELS = {
    "agent": _l("Agent"),
    "citizen": _l("Usager"),
    "system": _l("Système"),
    "anonymous": _l("Anonyme (non connecté)"),
}


def action_label(action: str) -> str:
    """The French label of an audit action: ours, else the ticket history's (each feature
    area adds its own there), else the code itself."""
    from ticketing.web.agent import ACTION_LABELS as TICKET_HISTORY_LABELS

    label = ACTION_LABELS.get(action) or TICKET_HISTORY_LABELS.get(action)
    return str(label) if label is not None else action


def actor_kind_label(kind: str) -> str:
    label = ACTOR_KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


def _plain(values: dict[str, object]) -> str:
    return ", ".join(f"{key} = {json.dumps(value, ensure_ascii=False)}"
                     for key, value in sorted(values.items()))


def event_details(event: AuditEvent) -> str:
    """The event's before/after values on one line (codes and figures, never a message body)."""
    parts = []
    if event.before:
        parts.append(f"avant : {_plain(event.before)}")
    if event.after:
        parts.append(f"après : {_plain(event.after)}")
    return " ; ".join(parts)
