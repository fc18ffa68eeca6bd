"""Typed description of a commune's YAML files: one pydantic model per file.

Each file of ``config/communes/<slug>/`` is validated by the model named in
``FILE_MODELS``; cross-file checks live in ``loader.py``.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]


class Strict(BaseModel):
    """Base for config models: unknown keys are errors, so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"
    COUNTER = "counter"


class DayUnit(StrEnum):
    CALENDAR = "calendar"  # jours calendaires
    WORKING = "working"  # jours ouvrés: Monday to Friday, less holidays and closures
    BUSINESS = "business"  # jours ouvrables: Monday to Saturday, less holidays and closures


# --- commune.yaml -------------------------------------------------------------


class PostalAddress(Strict):
    street: str
    postcode: Annotated[str, Field(pattern=r"^\d{5}$")]
    city: str

    def one_line(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"


class Mayor(Strict):
    name: str
    title: str = "Maire"


class AttachmentRules(Strict):
    max_files: Annotated[int, Field(ge=0, le=20)] = 3
    max_size_mb: Annotated[float, Field(gt=0, le=50)] = 10
    allowed_types: list[str] = Field(
        default_factory=lambda: ["application/pdf", "image/jpeg", "image/png"]
    )


class Zone(Strict):
    """A quartier or sector of the commune; its élu follows the requests located there."""

    code: Code
    label: str
    elu: str | None = None  # name of the élu in charge of the sector


class MapCenter(Strict):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class MapSettings(Strict):
    """The pilot's map around ``center``: a tile map (Leaflet) when ``tile_url`` is set,
    else a blank map drawn by the server."""

    center: MapCenter
    zoom: Annotated[int, Field(ge=1, le=19)] = 14
    # A Leaflet URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; its host
    # is added to the map page's Content-Security-Policy (img-src), so it is checked here.
    tile_url: str | None = None
    tile_attribution: str = ""  # credit required by most tile servers (plain text)

    @field_validator("tile_url")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("tile_url must be an http(s) URL, e.g. "
                             "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
        if not all(key in value for key in ("{z}", "{x}", "{y}")):
            raise ValueError("tile_url must contain {z}, {x} and {y}")
        host = parts.netloc.removeprefix("{s}.")
        if any(ch in host for ch in "{}@ ;,'\""):
            raise ValueError("tile_url: only a leading {s}. is allowed in the host name")
        return value

    @property
    def tile_origin(self) -> str | None:
        """The tiles' origin as a CSP source ("{s}." becomes "*."); None without tiles."""
        if self.tile_url is None:
            return None
        parts = urlsplit(self.tile_url)
        host = parts.netloc
        if host.startswith("{s}."):
            host = "*." + host.removeprefix("{s}.")
        return f"{parts.scheme}://{host}"


class SmsGateway(Strict):
    """The operator's e-mail-to-SMS gateway: a mail to this address becomes a text message."""

    email_gateway: str  # e.g. "{numero}@sms.operateur.example"

    @field_validator("email_gateway")
    @classmethod
    def _has_number_and_domain(cls, value: str) -> str:
        if not re.fullmatch(r"[^@\s]*\{numero\}[^@\s]*@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", value):
            raise ValueError(
                "the gateway address must hold {numero} before the @ and a domain after it, "
                "e.g. '{numero}@sms.operateur.example' ({numero} becomes 33612345678)")
        return value


class SingleSignOn(Strict):
    """OpenID Connect sign-in of agents with the commune's identity provider. The provider's
    e-mail claim must match an active agent's address: accounts are not created by it."""

    issuer: Annotated[str, Field(pattern=r"^https?://")]
    client_id: str
    # The NAME of the environment variable holding the client secret (never the secret).
    client_secret_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    label: str = "Se connecter avec le compte de la mairie"
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])


class Commune(Strict):
    slug: Code
    name: str
    insee_code: Annotated[str | None, Field(pattern=r"^(\d[0-9AB]\d{3})$")] = None
    address: PostalAddress
    phone: str
    email: EmailStr
    website: str | None = None
    logo: str = "logo.svg"
    mayor: Mayor
    timezone: str = "Europe/Paris"
    holiday_subdivision: str = "FR"
    public_url: str = "http://127.0.0.1:5000"
    triage_service: Code
    attachments: AttachmentRules = AttachmentRules()
    privacy_notice: str = ""
    zones: list[Zone] = Field(default_factory=list)
    map: MapSettings | None = None
    publish_quality_results: bool = False  # the public page /<commune>/qualite
    sso: SingleSignOn | None = None  # agents' single sign-on (OpenID Connect)
    sms: SmsGateway | None = None  # acknowledgements by text message to mobiles without e-mail
    # RGPD: months a closed request without a category is kept before anonymisation (each
    # category of categories.yaml has its own retention_months).
    retention_months: Annotated[int, Field(ge=1, le=600)] = 36

    @field_validator("zones")
    @classmethod
    def _unique_zones(cls, value: list[Zone]) -> list[Zone]:
        codes = [zone.code for zone in value]
        if len(codes) != len(set(codes)):
            raise ValueError("two zones share a code; each zone code must be unique")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use e.g. Europe/Paris") from exc
        return value

    @field_validator("holiday_subdivision")
    @classmethod
    def _known_subdivision(cls, value: str) -> str:
        from ticketing.domain.calendar import normalise_subdivision

        normalise_subdivision(value)  # raises ValueError with the list of codes
        return value


class CommuneFile(Strict):
    commune: Commune


# --- services.yaml ------------------------------------------------------------


class Service(Strict):
    code: Code
    name: str
    email: EmailStr
    phone: str | None = None
    address: str | None = None
    managers: list[EmailStr] = Field(default_factory=list)
    description: str = ""


class ServicesFile(Strict):
    services: Annotated[list[Service], Field(min_length=1)]



# --- categories.yaml ----------------------------------------------------------


class ExtraField(Strict):
    name: Code
    label: str
    kind: Literal["text", "textarea", "date", "number"] = "text"
    required: bool = False
    help: str = ""


class SilenceRule(Strict):
    """The implicit-decision clock (CRPA L231-1, L231-4) for requests calling for a decision."""

    months: Annotated[int, Field(ge=1, le=12)] = 2
    outcome: Literal["acceptance", "rejection"]
    appeal_notice: str = ""


class Category(Strict):
    code: Code
    label: str
    help: str = ""
    default_service: Code | None = None
    kind: Literal["information", "request", "complaint", "decision"] = "request"
    silence: SilenceRule | None = None
    retention_months: Annotated[int, Field(ge=1, le=600)] = 36
    extra_fields: list[ExtraField] = Field(default_factory=list)
    public: bool = True

    @model_validator(mode="after")
    def _decision_has_clock(self) -> Category:
        if self.kind == "decision" and self.silence is None:
            raise ValueError(
                "a 'decision' category needs a 'silence' block (months and outcome: "
                "acceptance or rejection)"
            )
        return self


class CategoriesFile(Strict):
    categories: Annotated[list[Category], Field(min_length=1)]



# --- routing.yaml -------------------------------------------------------------


class RoutingCondition(Strict):
    categories: list[Code] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    keywords_any: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> RoutingCondition:
        if not (self.categories or self.channels or self.keywords_any):
            raise ValueError("a 'when' block needs categories, channels or keywords_any")
        return self


class RoutingRule(Strict):
    name: str
    when: RoutingCondition
    service: Code
    priority: Literal["low", "normal", "high", "urgent"] | None = None


class RoutingFile(Strict):
    rules: list[RoutingRule] = Field(default_factory=list)


# --- deadlines.yaml -----------------------------------------------------------


class Delay(Strict):
    days: Annotated[int, Field(ge=0, le=365)]
    unit: DayUnit = DayUnit.CALENDAR


RequestKind = Literal["information", "request", "complaint", "decision"]  # Category.kind
# Who an escalation step tells: the ticket's agent, its service's managers, or every agent
# holding a role of roles.yaml (checked by the loader).
NOTIFY_PATTERN = r"^(assignee|service_managers|role:[a-z][a-z0-9_-]{0,39})$"


class EscalationStep(Strict):
    after: Delay  # counted from the answer due date
    notify: Annotated[list[Annotated[str, Field(pattern=NOTIFY_PATTERN)]], Field(min_length=1)]


class DeadlineRule(Strict):
    name: str
    channels: list[Channel] = Field(default_factory=list)
    categories: list[Code] = Field(default_factory=list)
    kinds: list[RequestKind] = Field(default_factory=list)
    answer: Delay
    acknowledgement: Delay = Delay(days=1, unit=DayUnit.WORKING)
    # Marianne counts letters from the sending date plus postal transit; the CRPA from receipt.
    count_from: Literal["receipt", "sending"] = "receipt"
    transit_days: Annotated[int, Field(ge=0, le=30)] = 0
    warning_before: Delay | None = None  # before the answer due date; None: no warning
    escalation: list[EscalationStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _escalation_in_order(self) -> DeadlineRule:
        days = [step.after.days for step in self.escalation]
        if days != sorted(set(days)):
            raise ValueError("escalation steps must come in order of strictly growing 'after'")
        return self


class CalendarRules(Strict):
    closed_days: list[date] = Field(default_factory=list)
    removed_holidays: list[date] = Field(default_factory=list)
    roll_forward_to_open_day: bool = True


class DigestSettings(Strict):
    """The daily digest mailed to agents and managers."""

    hour: Annotated[int, Field(ge=0, le=23)] = 7  # local time from which it goes out
    soon_days: Annotated[int, Field(ge=0, le=60)] = 3  # calendar days ahead counted as soon due


class DeadlinesFile(Strict):
    calendar: CalendarRules = CalendarRules()
    rules: list[DeadlineRule] = Field(default_factory=list)
    default: DeadlineRule
    # Agents are alerted this long before an implicit decision (silence) is born.
    decision_alert_before: Delay = Delay(days=15, unit=DayUnit.CALENDAR)
    digest: DigestSettings = DigestSettings()

    @model_validator(mode="after")
    def _default_is_unconditional(self) -> DeadlinesFile:
        if self.default.channels or self.default.categories or self.default.kinds:
            raise ValueError("the 'default' rule applies to everything: remove its conditions")
        return self


# --- templates.yaml -----------------------------------------------------------


class ReplyTemplate(Strict):
    code: Code
    label: str
    services: list[Code] = Field(default_factory=list)  # empty: every service
    subject: str = ""
    body: str


class TemplatesFile(Strict):
    templates: list[ReplyTemplate] = Field(default_factory=list)



# --- roles.yaml ---------------------------------------------------------------

PERMISSIONS = (
    "view",            # read the ticket, its thread and history
    "reply",           # answer the citizen (e-mail or letter)
    "note",            # internal notes and mentions
    "change_status",   # e.g. waiting for the citizen
    "close",
    "reopen",
    "assign",          # claim, assign, reassign within the service
    "transfer",        # move the ticket to another service
    "copy",            # copy for information to other services
    "forward",         # forward to another administration (not competent)
    "register",        # register a letter, a call or a counter visit
    "validate",        # approve drafts in the validation circuit (parapheur)
    "merge",           # merge duplicates and link tickets
    "export",          # CSV/XLSX exports
    "view_dashboard",  # cabinet pilot: overdue, indicators, map
    "manage_users",    # agents and their roles (not the tickets' content)
    "view_audit",      # the audit log and the mail quarantine
)


class Role(Strict):
    code: Code
    label: str
    permissions: list[str]
    scope: Literal["service", "commune"] = "service"
    # Holders must sign in with a second factor (TOTP) once they have enrolled one.
    require_totp: bool = False

    @field_validator("permissions")
    @classmethod
    def _known_permissions(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PERMISSIONS))
        if unknown:
            raise ValueError(
                f"unknown permission(s) {', '.join(unknown)}; known: {', '.join(PERMISSIONS)}"
            )
        return value


class RolesFile(Strict):
    roles: Annotated[list[Role], Field(min_length=1)]



FILE_MODELS: dict[str, type[Strict]] = {
    "commune.yaml": CommuneFile,
    "services.yaml": ServicesFile,
    "categories.yaml": CategoriesFile,
    "routing.yaml": RoutingFile,
    "deadlines.yaml": DeadlinesFile,
    "templates.yaml": TemplatesFile,
    "roles.yaml": RolesFile,
}



# --- mailboxes.yaml (optional) ------------------------------------------------


class Mailbox(Strict):
    """An IMAP mailbox whose mail becomes tickets (the password stays in the environment)."""

    name: Code
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 993
    # "tls": verified TLS from the start (993); "starttls": upgrade a plain connection (143);
    # "none": clear text, only when written here explicitly (a loopback test server).
    tls: Literal["tls", "starttls", "none"] = "tls"
    verify_certificate: bool = True
    username: str
    password_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    folder: str = "INBOX"
    processed_folder: str = "Traités"
    quarantine_folder: str = "Quarantaine"
    service_hint: Code | None = None
    addresses: list[EmailStr] = Field(default_factory=list)
    max_message_mb: Annotated[float, Field(gt=0, le=200)] = 25
    ack_cap_per_hour: Annotated[int, Field(ge=0, le=1000)] = 5
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    max_messages_per_run: Annotated[int, Field(ge=1)] = 1000
    max_seconds_per_run: Annotated[float, Field(gt=0)] = 300
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60


class MailboxesFile(Strict):
    mailboxes: list[Mailbox] = Field(default_factory=list)


# --- validation.yaml (optional): the parapheur -------------------------------


class ValidationCondition(Strict):
    """Which replies need a visa: every list given must contain the ticket's value."""

    services: list[Code] = Field(default_factory=list)
    categories: list[Code] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)  # how the request came in
    kinds: list[RequestKind] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> ValidationCondition:
        if not (self.services or self.categories or self.channels or self.kinds):
            raise ValueError("a 'when' block needs services, categories, channels or kinds")
        return self


class ValidationRule(Strict):
    """Replies matching ``when`` wait for the visa of an agent holding ``role``."""

    name: str
    when: ValidationCondition
    role: Code  # a role of roles.yaml holding the "validate" permission (checked by the loader)
    allow_author: bool = False  # may a holder of the role approve a draft they wrote?


class ValidationFile(Strict):
    rules: list[ValidationRule] = Field(default_factory=list)  # the first that applies wins


# Files a commune folder may omit; absent means "none of these".
OPTIONAL_FILE_MODELS: dict[str, type[Strict]] = {
    "mailboxes.yaml": MailboxesFile,
    "validation.yaml": ValidationFile,
}
