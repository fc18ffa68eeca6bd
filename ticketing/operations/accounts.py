"""Agent accounts: creation, passwords (Argon2id, policy, reset links), sign-in and the
TOTP second factor. Every sign-in, failure, link and change is audited."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Literal

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.config import CommuneConfig
from ticketing.domain.passwords import MIN_LENGTH, password_problems
from ticketing.domain.secret_box import SecretUnreadable, seal, unseal
from ticketing.models import Agent, Membership, PasswordToken, utcnow
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event
from ticketing.operations.outbox import enqueue_mail

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login with an unknown address the same.
_DUMMY_HASH = _hasher.hash("aiguillage-unknown-account")

MIN_PASSWORD_LENGTH = MIN_LENGTH
LINK_VALIDITY = {"reset": timedelta(minutes=30), "invitation": timedelta(days=3)}
TOTP_ISSUER = "Aiguillage"

LinkPurpose = Literal["reset", "invitation"]


class PasswordRejected(ValueError):
    """The new password breaks the policy; ``problems`` are the French messages."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class InvalidLink(LookupError):
    """The password link is unknown, used, superseded or expired."""


def hash_password(password: str) -> str:
    """Argon2id hash (no policy check: see ``set_password`` for agents' own choices)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères")
    return _hasher.hash(password)


def create_agent(
    session: Session,
    commune_id: int,
    email: str,
    full_name: str,
    password: str,
    actor: Actor,
    title: str = "",
    memberships: list[tuple[str, str]] = (),  # type: ignore[assignment]
    password_hash: str | None = None,
) -> Agent:
    """Create an agent; ``password_hash`` (already hashed) spares the hashing of ``password``."""
    agent = Agent(
        commune_id=commune_id, email=email.strip().lower(), full_name=full_name, title=title,
        password_hash=password_hash or hash_password(password),
    )
    agent.memberships = [
        Membership(commune_id=commune_id, service_code=service, role_code=role)
        for service, role in memberships
    ]
    session.add(agent)
    session.flush()
    record_event(session, commune_id, actor, "agent.created", after={
        "agent_id": agent.id, "email": agent.email, "memberships": list(map(list, memberships)),
    })
    return agent


def find_agent(session: Session, commune_id: int, email: str) -> Agent | None:
    return session.scalars(
        select(Agent).where(Agent.commune_id == commune_id, Agent.email == email.strip().lower())
    ).first()


# --- sign-in ---------------------------------------------------------------------------


def authenticate(
    session: Session, commune_id: int, email: str, password: str, remote_addr: str | None
) -> Agent | None:
    """The active agent with these credentials, or None (audited as ``login.failed``).

    A success is not audited here: ``record_login`` does it once every factor is given.
    """
    agent = find_agent(session, commune_id, email)
    valid = False
    try:
        valid = _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        valid = False
    if agent is None or not agent.active or not valid:
        reason = "unknown" if agent is None else ("inactive" if not agent.active else "password")
        record_event(session, commune_id, Actor("anonymous", email[:200], None, remote_addr),
                     "login.failed", after={"email": email[:200], "reason": reason})
        return None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent


def password_matches(agent: Agent, password: str) -> bool:
    """Whether ``password`` is the agent's current one (to confirm a sensitive change)."""
    try:
        return _hasher.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def record_login(session: Session, agent: Agent, remote_addr: str | None,
                 second_factor: str | None = None, method: str = "password") -> None:
    """The agent is signed in: audit it, with how (``method``: "password" or "oidc", the
    commune's single sign-on) and the second factor used, if any."""
    agent.last_login_at = utcnow()
    after = {"method": method} if method != "password" else {}
    if second_factor:
        after["second_factor"] = second_factor
    record_event(session, agent.commune_id, Actor.agent(agent, remote_addr), "login.succeeded",
                 after=after)


def agent_for_single_sign_on(session: Session, commune_id: int, claims: dict[str, object],
                             remote_addr: str | None) -> Agent | None:
    """The active agent whose address the identity provider vouched for, else None
    (audited as ``login.failed``). Single sign-on creates no account."""
    email = str(claims.get("email") or "").strip().lower()
    agent = find_agent(session, commune_id, email) if email else None
    if agent is not None and agent.active and claims.get("email_verified") is not False:
        return agent
    reason = "sso_unverified" if agent is not None and agent.active else "sso_unknown"
    record_event(session, commune_id, Actor("anonymous", email[:200] or "?", None, remote_addr),
                 "login.failed", after={"email": email[:200], "reason": reason,
                                        "subject": str(claims.get("sub", ""))[:200]})
    return None


def record_logout(session: Session, agent: Agent, remote_addr: str | None,
                  reason: str = "logout") -> None:
    """``reason``: "logout" (the agent asked), "idle" or "expired" (session timeouts)."""
    action = "logout" if reason == "logout" else "session.expired"
    record_event(session, agent.commune_id, Actor.agent(agent, remote_addr), action,
                 after={"reason": reason})


# --- passwords -------------------------------------------------------------------------


def check_password(ctx: CommuneContext, agent: Agent | None, password: str) -> list[str]:
    """The policy's complaints about ``password`` for ``agent`` (French), or []."""
    return password_problems(
        password, email=agent.email if agent else "",
        full_name=agent.full_name if agent else "", commune_name=ctx.config.commune.name)


def set_password(session: Session, ctx: CommuneContext, agent: Agent, password: str,
                 actor: Actor, via: str) -> None:
    """Apply the policy, store the new hash, end every session signed in before, cancel
    the outstanding links. ``via``: "reset", "invitation" or "account"."""
    problems = check_password(ctx, agent, password)
    if problems:
        raise PasswordRejected(problems)
    agent.password_hash = _hasher.hash(password)
    agent.password_changed_at = utcnow()
    agent.session_epoch = (agent.session_epoch or 0) + 1
    _cancel_links(session, agent)
    record_event(session, agent.commune_id, actor, "password.changed",
                 after={"agent_id": agent.id, "via": via})


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _cancel_links(session: Session, agent: Agent, now: datetime | None = None) -> None:
    now = now or utcnow()
    for link in session.scalars(select(PasswordToken).where(
            PasswordToken.agent_id == agent.id, PasswordToken.used_at.is_(None))):
        link.used_at = now


def password_link_url(ctx: CommuneContext, token: str, base_url: str | None = None) -> str:
    """The page where the agent sets a password; ``base_url`` defaults to the commune's
    configured public URL (never the request's Host header, which a sender may forge)."""
    base = (base_url or ctx.config.commune.public_url).rstrip("/")
    return f"{base}/{ctx.config.slug}/agent/mot-de-passe/{token}"


def send_password_link(
    session: Session,
    ctx: CommuneContext,
    agent: Agent,
    *,
    purpose: LinkPurpose,
    base_url: str | None = None,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> str:
    """Mail ``agent`` a single-use link to set a password (through the outbox); returns it.

    "reset" links last 30 minutes, "invitation" links (a new agent) 3 days; issuing one
    cancels the agent's earlier links. Audited as ``password.link_sent`` by ``actor``
    (default: the system).
    """
    now = now or utcnow()
    _cancel_links(session, agent, now)
    token = secrets.token_urlsafe(32)
    session.add(PasswordToken(
        commune_id=agent.commune_id, agent_id=agent.id, token_hash=_token_hash(token),
        purpose=purpose, created_at=now, expires_at=now + LINK_VALIDITY[purpose]))
    validity = LINK_VALIDITY[purpose]
    link = password_link_url(ctx, token, base_url)
    subject = ("Votre accès à Aiguillage" if purpose == "invitation"
               else "Réinitialisation de votre mot de passe")
    body = ctx.mail_templates.render(
        "password_reset.txt", agent=agent, commune=ctx.config.commune, purpose=purpose,
        link=link,
        validity=(f"{validity.days} jours" if validity.days
                  else f"{validity.seconds // 60} minutes"))
    enqueue_mail(session, agent.commune_id, f"password_{purpose}", agent.email, subject, body,
                 headers={"Auto-Submitted": "auto-generated"})
    record_event(session, agent.commune_id, actor or Actor.system(), "password.link_sent",
                 after={"agent_id": agent.id, "email": agent.email, "purpose": purpose})
    return link


def request_password_reset(session: Session, ctx: CommuneContext, email: str,
                           remote_addr: str | None, base_url: str | None = None) -> None:
    """"Mot de passe oublié": a link if the address is an active agent's, nothing else;
    the caller answers the same either way. The request is audited in both cases."""
    agent = find_agent(session, ctx.commune_id, email)
    known = agent is not None and agent.active
    requester = Actor("anonymous", email[:200], None, remote_addr)  # whoever typed it
    record_event(session, ctx.commune_id, requester, "password.reset_requested",
                 after={"email": email[:200], "known": known})
    if known:
        assert agent is not None
        send_password_link(session, ctx, agent, purpose="reset", base_url=base_url,
                           actor=requester)


def agent_for_link(session: Session, token: str, now: datetime | None = None) -> Agent:
    """The active agent a valid (unused, unexpired) link belongs to, else InvalidLink."""
    link = _valid_link(session, token, now)
    return link[1]


def _valid_link(session: Session, token: str,
                now: datetime | None = None) -> tuple[PasswordToken, Agent]:
    now = now or utcnow()
    link = session.scalars(
        select(PasswordToken).where(PasswordToken.token_hash == _token_hash(token))).first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise InvalidLink(token)
    agent = session.get(Agent, link.agent_id)
    if agent is None or not agent.active:
        raise InvalidLink(token)
    return link, agent


def set_password_from_link(session: Session, ctx: CommuneContext, token: str, password: str,
                           remote_addr: str | None, now: datetime | None = None) -> Agent:
    """Use a link once: set the password (policy applied: PasswordRejected) and spend it."""
    link, agent = _valid_link(session, token, now)
    set_password(session, ctx, agent, password, Actor.agent(agent, remote_addr), via=link.purpose)
    link.used_at = now or utcnow()
    return agent


# --- TOTP second factor ----------------------------------------------------------------
# The secret is stored sealed (``domain.secret_box``, key derived from the app's secret key)
# and unsealed only to check a code or to show it at enrolment.


def totp_required(agent: Agent, config: CommuneConfig) -> bool:
    """One of the agent's roles says ``require_totp: true`` in roles.yaml."""
    return any(config.roles[m.role_code].require_totp
               for m in agent.memberships if m.role_code in config.roles)


def totp_enabled(agent: Agent) -> bool:
    return agent.totp_enabled_at is not None and bool(agent.totp_secret)


def start_totp_enrolment(agent: Agent, ctx: CommuneContext) -> bool:
    """Give an agent not yet enrolled a secret, kept sealed until confirmed by a code; one
    left unreadable by a new secret key is replaced. True when a secret was made."""
    if totp_enabled(agent):
        raise ValueError("the second factor is already enabled")
    if agent.totp_secret:
        try:
            unseal(agent.totp_secret, ctx.signing_key)
            return False
        except SecretUnreadable:
            pass
    agent.totp_secret = seal(pyotp.random_base32(), ctx.signing_key)
    return True


def totp_for_enrolment(agent: Agent, ctx: CommuneContext) -> tuple[str, str]:
    """The secret (to type by hand) and the ``otpauth://`` URI shown as a QR code to the
    authenticator app, during enrolment only."""
    if totp_enabled(agent) or not agent.totp_secret:
        raise ValueError("no second factor being enrolled")
    secret = unseal(agent.totp_secret, ctx.signing_key)
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=agent.email, issuer_name=f"{TOTP_ISSUER} {ctx.config.commune.name}")
    return secret, uri


def _matching_step(agent: Agent, ctx: CommuneContext, code: str, now: datetime) -> int | None:
    """The time step ``code`` is valid for (±1 step of clock drift), if not used before."""
    code = "".join(code.split())
    if not agent.totp_secret or len(code) != 6 or not code.isdigit():
        return None
    try:
        totp = pyotp.TOTP(unseal(agent.totp_secret, ctx.signing_key))
    except SecretUnreadable:
        log.error("agent %s: TOTP secret unreadable with this secret key (was "
                  "AIGUILLAGE_SECRET_KEY changed?); every code is refused", agent.id)
        return None
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if agent.totp_last_step is not None and step <= agent.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def confirm_totp_enrolment(session: Session, ctx: CommuneContext, agent: Agent, code: str,
                           actor: Actor, now: datetime | None = None) -> bool:
    """Turn the second factor on when ``code`` proves the app holds the secret."""
    now = now or utcnow()
    step = _matching_step(agent, ctx, code, now)
    if step is None:
        record_event(session, agent.commune_id, actor, "totp.enrolment_failed",
                     after={"agent_id": agent.id})
        return False
    agent.totp_last_step = step
    agent.totp_enabled_at = now
    record_event(session, agent.commune_id, actor, "totp.enabled", after={"agent_id": agent.id})
    return True


def verify_second_factor(session: Session, ctx: CommuneContext, agent: Agent, code: str,
                         remote_addr: str | None, now: datetime | None = None) -> bool:
    """Check a sign-in code; a code is accepted once. Failures are audited."""
    step = _matching_step(agent, ctx, code, now or utcnow())
    if step is None:
        record_event(session, agent.commune_id, Actor.agent(agent, remote_addr),
                     "login.second_factor_failed", after={"agent_id": agent.id})
        return False
    agent.totp_last_step = step
    return True


def disable_totp(session: Session, agent: Agent, actor: Actor) -> None:
    """Remove the second factor (the agent, or an administrator when a phone is lost)."""
    agent.totp_secret = None
    agent.totp_enabled_at = None
    agent.totp_last_step = None
    record_event(session, agent.commune_id, actor, "totp.disabled", after={"agent_id": agent.id})
