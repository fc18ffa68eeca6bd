"""Forms of the agent's account: forgotten password, new password, second factor."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ticketing.domain.passwords import MIN_LENGTH
from ticketing.web.agent_forms import AgentForm

PASSWORD_HELP = _l("Au moins %(min)d caractères. Une phrase de plusieurs mots, facile à "
                   "retenir, est un bon choix ; évitez les mots de passe courants.",
                   min=MIN_LENGTH)


class ForgotPasswordForm(AgentForm):
    email = StringField(_l("Adresse électronique"),
                        validators=[DataRequired(_l("Indiquez votre adresse électronique.")),
                                    Length(max=254)])


class NewPasswordForm(AgentForm):
    # The policy (length, common passwords, names) is applied by the use case, whose
    # messages the view adds to this field.
    password = PasswordField(_l("Nouveau mot de passe"),
                             validators=[DataRequired(_l("Choisissez un mot de passe."))])
    confirm = PasswordField(_l("Confirmez le nouveau mot de passe"),
                            validators=[DataRequired(_l("Saisissez-le une seconde fois.")),
                                        EqualTo("password", _l("Les deux saisies diffèrent."))])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Mot de passe actuel"),
                            validators=[DataRequired(_l("Indiquez votre mot de passe actuel.")),
                                        Length(max=200)])


class CodeForm(AgentForm):
    code = StringField(_l("Code à 6 chiffres"),
                       validators=[DataRequired(_l("Indiquez le code affiché par votre "
                                                   "application.")), Length(max=12)])
