"""Forms of the register pages: a letter, a phone call or a counter visit (Flask-WTF)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import DateField, EmailField, TelField
from wtforms.validators import Email, Length, Optional, ValidationError

from ticketing.config.schema import Channel
from ticketing.operations.registration import date_problem
from ticketing.web.public_forms import PHONE_PATTERN, PHONE_SEPARATORS

DATE_INVALID = _l("Indiquez une date valide (jj/mm/aaaa).")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _phone(_form: FlaskForm, field: Any) -> None:
    if field.data and not PHONE_PATTERN.match(PHONE_SEPARATORS.sub("", field.data)):
        raise ValidationError(
            str(_l("Le numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78.")))


class RegisterForm(FlaskForm):
    """The request as the agent takes it down; ``citizen_id`` picks a citizen on file,
    otherwise the name (at least) describes a new one."""

    citizen_id = StringField(validators=[Optional()])
    last_name = StringField(_l("Nom"), filters=[_strip],
                            validators=[Optional(), Length(max=100)])
    first_name = StringField(_l("Prénom"), filters=[_strip],
                             validators=[Optional(), Length(max=100)])
    email = EmailField(_l("Adresse électronique"), filters=[_strip], validators=[
        Optional(), Length(max=254),
        Email(_l("L'adresse électronique n'est pas valide. Exemple : camille.martin@exemple.fr."))])
    phone = TelField(_l("Téléphone"), filters=[_strip],
                     validators=[Optional(), Length(max=40), _phone])
    address = StringField(_l("Adresse postale"), filters=[_strip],
                          validators=[Optional(), Length(max=300)])
    sent_on = DateField(_l("Date du courrier ou du cachet de la poste"),
                        validators=[Optional()], format="%Y-%m-%d")
    received_on = DateField(_l("Date de réception"), format="%Y-%m-%d")
    category = SelectField(_l("Catégorie"), validate_choice=True)
    subject = StringField(_l("Objet"), filters=[_strip],
                          validators=[Optional(), Length(max=300)])
    description = TextAreaField(_l("Résumé de la demande"), filters=[_strip], validators=[
        Length(min=10, max=10000,
               message=_l("Résumez la demande en 10 à 10 000 caractères."))])
    location = StringField(_l("Lieu concerné (facultatif)"), filters=[_strip],
                           validators=[Optional(), Length(max=300)])
    files = MultipleFileField(_l("Courrier numérisé et pièces jointes (PDF, JPEG, PNG)"))

    def __init__(self, channel: Channel, categories: list[tuple[str, str]], today: date,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.channel = channel
        self.today = today
        self.category.choices = [("", str(_l("— À qualifier par le service —")))] + categories
        if self.received_on.data is None and not self.is_submitted():
            self.received_on.data = today
        sender = _l("Nom de l'expéditeur") if channel is Channel.LETTER else _l("Nom de l'usager")
        self.last_name.label.text = str(sender)
        if channel is not Channel.LETTER:
            del self.sent_on

    def picked_citizen(self) -> int | None:
        value = (self.citizen_id.data or "").strip()
        return int(value) if value.isdigit() else None

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in (self.received_on, self.sent_on):
            if field is not None and field.errors:
                typed = bool(field.raw_data and field.raw_data[0].strip())
                field.errors = [str(DATE_INVALID if typed or field is not self.received_on
                                    else _l("Indiquez la date de réception."))]
        if self.picked_citizen() is None and not self.last_name.data:
            self.last_name.errors = [*self.last_name.errors, str(
                _l("Indiquez le nom de l'expéditeur.") if self.channel is Channel.LETTER
                else _l("Indiquez le nom de l'usager, ou choisissez un usager déjà connu."))]
            valid = False
        sent_on = self.sent_on.data if self.sent_on is not None else None
        if valid and self.received_on.data is not None:
            problem = date_problem(sent_on, self.received_on.data, self.today)
            if problem is not None:
                field_name, message = problem
                target = getattr(self, field_name)
                target.errors = [*target.errors, message]
                valid = False
        return valid

    def uploaded_files(self) -> list[FileStorage]:
        """The files really chosen (a browser sends an empty part when none is)."""
        return [f for f in self.files.data or [] if isinstance(f, FileStorage) and f.filename]
