"""Forms of dispatch and collaboration (CSRF from Flask-WTF). Each carries the ticket's
version, so that an action decided on a stale page is shown again rather than applied."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import (
    Field,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ticketing.config import CommuneConfig
from ticketing.domain.text import without_accents
from ticketing.web.agent_forms import AgentForm

NOBODY = ""


class VersionedForm(AgentForm):
    version = HiddenField()


def _alphabetical(choice: tuple[str, str]) -> str:
    """Sort key: "Éclairage" between "Document" and "Formulaire", not after "Voirie"."""
    return without_accents(choice[1]).casefold()


def _services(config: CommuneConfig, but: str | None = None) -> list[tuple[str, str]]:
    return sorted(((code, s.name) for code, s in config.services.items() if code != but),
                  key=_alphabetical)


def _categories(config: CommuneConfig) -> list[tuple[str, str]]:
    return [("", str(_l("— Non qualifiée —")))] + sorted(
        ((code, c.label) for code, c in config.categories.items()), key=_alphabetical)


class DispatchForm(VersionedForm):
    """Triage: qualify (category) and send to a service."""

    category = SelectField(_l("Catégorie"), validators=[Optional()])
    service = SelectField(_l("Service compétent"))

    def offer(self, config: CommuneConfig, prefix: str = "orienter") -> DispatchForm:
        self.category.choices = _categories(config)
        self.service.choices = _services(config)
        _rename(self.category, f"{prefix}-categorie")
        _rename(self.service, f"{prefix}-service")
        return self


def _rename(field: Field, field_id: str) -> None:
    """Give ``field`` another id (several dispatch forms on one page), label included."""
    field.id = field_id
    field.label.field_id = field_id


class TransferForm(VersionedForm):
    service = SelectField(_l("Transférer au service"), id="transfert-service")
    reason = TextAreaField(_l("Motif du transfert"), id="transfert-motif",
                           validators=[DataRequired(_l("Indiquez le motif du transfert.")),
                                       Length(max=1000)])

    def offer(self, config: CommuneConfig, current: str) -> TransferForm:
        self.service.choices = _services(config, but=current)
        return self


class AssignForm(VersionedForm):
    agent = SelectField(_l("Confier à"), id="affectation-agent")

    def offer(self, agents: Iterable[tuple[int, str]]) -> AssignForm:
        self.agent.choices = [(NOBODY, str(_l("— Personne —")))] + [
            (str(agent_id), name) for agent_id, name in agents]
        return self


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CopyForm(VersionedForm):
    services = CheckboxesField(_l("Services à mettre en copie"), id="copie-services")

    def validate_services(self, field: CheckboxesField) -> None:
        # Not DataRequired: its "required" flag would mark every checkbox as required.
        if not field.data:
            raise ValidationError(_l("Choisissez au moins un service."))

    def offer(self, config: CommuneConfig, current: str, copied: Iterable[str]) -> CopyForm:
        skip = {current, *copied}
        self.services.choices = [c for c in _services(config) if c[0] not in skip]
        return self


class ForwardForm(VersionedForm):
    administration = StringField(
        _l("Administration compétente"), id="transmission-administration",
        validators=[DataRequired(_l("Indiquez l'administration compétente.")),
                    Length(max=200)])
    address = StringField(_l("Adresse postale (facultatif)"), id="transmission-adresse",
                          validators=[Optional(), Length(max=300)])
    email = StringField(_l("Courriel (facultatif)"), id="transmission-courriel",
                        validators=[Optional(), Email(_l("Adresse électronique invalide.")),
                                    Length(max=254)])
    reason = TextAreaField(_l("Message à l'usager (facultatif)"), id="transmission-message",
                           validators=[Optional(), Length(max=2000)])


class SplitForm(VersionedForm):
    subject = StringField(_l("Objet de la nouvelle demande (facultatif)"), id="scission-objet",
                          validators=[Optional(), Length(max=300)])
    description = TextAreaField(
        _l("Partie de la demande à traiter à part"), id="scission-texte",
        validators=[DataRequired(_l("Décrivez la partie de la demande à séparer.")),
                    Length(max=20000)])
    category = SelectField(_l("Catégorie"), id="scission-categorie", validators=[Optional()])
    service = SelectField(_l("Service"), id="scission-service", validators=[Optional()])

    def offer(self, config: CommuneConfig) -> SplitForm:
        self.category.choices = _categories(config)
        self.service.choices = [("", str(_l("— Selon les règles d'orientation —")))] + _services(
            config)
        return self


class ReopenForm(VersionedForm):
    reason = TextAreaField(_l("Motif de la réouverture"), id="reouverture-motif",
                           validators=[DataRequired(_l("Indiquez pourquoi la demande est "
                                                       "rouverte.")), Length(max=1000)])


class MentionNoteForm(VersionedForm):
    body = TextAreaField(_l("Note interne"), id="mention-texte",
                         validators=[DataRequired(_l("Écrivez la note.")), Length(max=20000)])
    agents = CheckboxesField(_l("Prévenir des collègues"), id="mention-agents", coerce=int,
                             validators=[Optional()])

    def offer(self, agents: Iterable[tuple[int, str]]) -> MentionNoteForm:
        self.agents.choices = list(agents)
        return self
