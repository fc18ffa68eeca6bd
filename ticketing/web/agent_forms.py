"""Forms of the agent side (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from ticketing.config.schema import Zone
from ticketing.domain.places import LATITUDE_RANGE, LONGITUDE_RANGE
from ticketing.models import Status
from ticketing.operations.tickets import STATUS_AFTER_REPLY
from ticketing.web.labels import status_label


class AgentForm(FlaskForm):
    """Base of the agent forms (CSRF from Flask-WTF)."""


class LoginForm(AgentForm):
    email = StringField(_l("Adresse électronique"),
                        validators=[DataRequired(_l("Indiquez votre adresse électronique.")),
                                    Length(max=254)])
    password = PasswordField(_l("Mot de passe"),
                             validators=[DataRequired(_l("Indiquez votre mot de passe.")),
                                         Length(max=200)])


def allowed_targets(current: str, allowed: set[str], targets: Iterable[Status]) -> list[Status]:
    """The statuses among ``targets`` an agent with ``allowed`` may move a ticket to:
    closing needs "close", taking a closed ticket out of "closed" needs "reopen"."""
    keep = []
    for target in targets:
        if target == Status.CLOSED and current != Status.CLOSED and "close" not in allowed:
            continue
        if current == Status.CLOSED and target != Status.CLOSED and "reopen" not in allowed:
            continue
        keep.append(target)
    return keep


# labels.py words statuses for the citizen; agents read about the citizen instead.
AGENT_STATUS_LABELS = {Status.WAITING_CITIZEN: _l("En attente de l'usager")}


def agent_status_label(status: str) -> str:
    label = AGENT_STATUS_LABELS.get(status)  # type: ignore[call-overload]
    return str(label) if label is not None else status_label(status)


def _status_choices(statuses: Iterable[str]) -> list[tuple[str, str]]:
    return [(str(s), agent_status_label(s)) for s in statuses]


class ReplyForm(AgentForm):
    # Ids are unique on the ticket page, which holds several forms.
    subject = StringField(_l("Objet (facultatif)"), id="reponse-objet",
                          validators=[Optional(), Length(max=300)])
    body = TextAreaField(_l("Réponse à l'usager"), id="reponse-texte",
                         validators=[DataRequired(_l("Écrivez la réponse.")),
                                     Length(max=20000)])
    status = SelectField(_l("Statut après la réponse"), id="reponse-statut",
                         default=Status.ANSWERED.value)

    def limit_statuses(self, current: str, allowed: set[str]) -> None:
        self.status.choices = _status_choices(allowed_targets(current, allowed, STATUS_AFTER_REPLY))


class NoteForm(AgentForm):
    body = TextAreaField(_l("Note interne"), id="note-texte",
                         validators=[DataRequired(_l("Écrivez la note.")), Length(max=20000)])


class StatusForm(AgentForm):
    status = SelectField(_l("Nouveau statut"), id="nouveau-statut")

    def limit_statuses(self, current: str, allowed: set[str]) -> None:
        targets = [s for s in Status if s != current]
        self.status.choices = _status_choices(allowed_targets(current, allowed, targets))


def coordinate(text: str | None) -> float | None:
    """A typed coordinate: French decimal comma accepted; None when empty or not a number."""
    if not text:
        return None
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None  # no NaN, inf


class _Coordinate:
    """A number within ``bounds`` (degrees), with a French message."""

    def __init__(self, bounds: tuple[float, float], message: Any):
        self.bounds = bounds
        self.message = message

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        value = coordinate(field.data)
        if value is None or not self.bounds[0] <= value <= self.bounds[1]:
            raise ValidationError(str(self.message))


class LocationForm(AgentForm):
    """Where the request is: the zone (quartier) and the position, both optional."""

    zone = SelectField(_l("Quartier"), id="localisation-quartier", validate_choice=False)
    latitude = StringField(
        _l("Latitude"), id="localisation-latitude",
        validators=[Optional(), Length(max=30),
                    _Coordinate(LATITUDE_RANGE, _l("Indiquez une latitude entre -90 et 90, "
                                                   "par exemple 45,0450."))])
    longitude = StringField(
        _l("Longitude"), id="localisation-longitude",
        validators=[Optional(), Length(max=30),
                    _Coordinate(LONGITUDE_RANGE, _l("Indiquez une longitude entre -180 et "
                                                    "180, par exemple 3,8850."))])

    def limit_zones(self, zones: Sequence[Zone]) -> None:
        self.zone.choices = [("", str(_l("— Aucun —")))] + [(z.code, z.label) for z in zones]
        self.zone.validators = [Optional(), AnyOf(
            [z.code for z in zones], message=str(_l("Choisissez un quartier dans la liste.")))]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and bool(self.latitude.data) != bool(self.longitude.data):
            missing = self.longitude if self.latitude.data else self.latitude
            missing.errors = [*missing.errors, str(_l(
                "Indiquez la latitude et la longitude, ou aucune des deux."))]
            valid = False
        return valid
