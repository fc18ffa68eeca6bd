"""Forms of the administrator's pages (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional


class ButtonForm(FlaskForm):
    """A form that is only a button: its CSRF token is all it carries."""


class IdentityForm(FlaskForm):
    full_name = StringField(_l("Nom et prénom"), validators=[
        DataRequired(_l("Indiquez le nom de l'agent.")), Length(max=200)])
    title = StringField(_l("Fonction"), validators=[Optional(), Length(max=200)])


class AgentCreateForm(IdentityForm):
    email = EmailField(_l("Adresse électronique"), validators=[
        DataRequired(_l("Indiquez l'adresse électronique de l'agent.")),
        Email(_l("Adresse électronique invalide."), check_deliverability=False),
        Length(max=254)])
    service = SelectField(_l("Service"), validators=[Optional()])
    role = SelectField(_l("Rôle dans ce service"), validators=[Optional()])


class GrantForm(FlaskForm):
    service = SelectField(_l("Service"), validators=[DataRequired()])
    role = SelectField(_l("Rôle"), validators=[DataRequired()])
