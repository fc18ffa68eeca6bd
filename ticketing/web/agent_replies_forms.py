"""Forms of the parapheur (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ticketing.web.agent_forms import AgentForm, ReplyForm


class DraftEditForm(AgentForm):
    """The validator's copy of the draft: save the changes, or save them and give the visa."""

    subject = StringField(_l("Objet (facultatif)"), id="projet-objet",
                          validators=[Optional(), Length(max=300)])
    body = TextAreaField(_l("Texte de la réponse"), id="projet-texte",
                         validators=[DataRequired(_l("Le texte de la réponse est vide.")),
                                     Length(max=20000)])


class ReturnForm(AgentForm):
    comment = TextAreaField(_l("Commentaire pour l'auteur"), id="renvoi-commentaire",
                            validators=[DataRequired(_l("Dites à l'auteur ce qu'il faut "
                                                        "changer.")), Length(max=5000)])


class ResubmitForm(ReplyForm):
    """The author corrects a draft sent back to them (same fields as the reply form)."""

    subject = StringField(_l("Objet (facultatif)"), id="correction-objet",
                          validators=[Optional(), Length(max=300)])
    body = TextAreaField(_l("Réponse corrigée"), id="correction-texte",
                         validators=[DataRequired(_l("Écrivez la réponse.")), Length(max=20000)])
    status = SelectField(_l("Statut après l'envoi"), id="correction-statut")
