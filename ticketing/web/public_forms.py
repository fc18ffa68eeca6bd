"""Forms of the public pages: the request form (with a category's extra fields) and tracking."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, Field, SelectField, StringField, TextAreaField
from wtforms.fields import DateField, DecimalField, EmailField, TelField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from ticketing.config.schema import AttachmentRules, Category, ExtraField, Zone

EXTRA_PREFIX = "extra_"
# File pickers filter better on extensions than on MIME types alone.
ACCEPT_HINTS = {
    "application/pdf": ".pdf,application/pdf",
    "image/jpeg": ".jpg,.jpeg,image/jpeg",
    "image/png": ".png,image/png",
    "image/gif": ".gif,image/gif",
    "image/webp": ".webp,image/webp",
}

# Loose on purpose: spaces, dots, dashes and brackets are dropped before the check;
# a French number (0X XX XX XX XX, +33 X…, 0033 X…) or any international +number passes.
PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")
PHONE_PATTERN = re.compile(r"^(?:(?:\+33|0033|0)[1-9]\d{8}|\+\d{8,15})$")

NO_CONTACT = _l(
    "Indiquez une adresse électronique ou un numéro de téléphone pour que nous "
    "puissions vous répondre."
)
REQUIRED_EXTRA = _l("Ce champ est obligatoire pour cette catégorie de demande.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _french_phone(_form: FlaskForm, field: Field) -> None:
    if not field.data:
        return
    if not PHONE_PATTERN.match(PHONE_SEPARATORS.sub("", field.data)):
        raise ValidationError(
            str(_l("Le numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78."))
        )


class PublicForm(FlaskForm):
    """Base of the public forms (CSRF from Flask-WTF)."""


class RequestForm(PublicForm):
    """What a citizen fills in; ``build_request_form`` adds choices and extra fields."""

    category = SelectField(
        _l("Catégorie de votre demande"),
        validators=[DataRequired(message=_l("Choisissez une catégorie."))],
        validate_choice=False,  # checked by AnyOf with a clearer message
    )
    subject = StringField(
        _l("Objet"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=300, message=_l("L'objet ne doit pas dépasser 300 caractères.")),
        ],
    )
    description = TextAreaField(
        _l("Description de votre demande"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Décrivez votre demande.")),
            Length(min=10, message=_l("La description doit compter au moins 10 caractères.")),
            Length(max=10000, message=_l("La description ne doit pas dépasser 10 000 caractères.")),
        ],
    )
    first_name = StringField(
        _l("Prénom"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Indiquez votre prénom.")),
            Length(max=100, message=_l("100 caractères au maximum.")),
        ],
    )
    last_name = StringField(
        _l("Nom de famille"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Indiquez votre nom de famille.")),
            Length(max=100, message=_l("100 caractères au maximum.")),
        ],
    )
    email = EmailField(
        _l("Adresse électronique"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=254, message=_l("254 caractères au maximum.")),
            Email(
                message=_l(
                    "L'adresse électronique n'est pas valide. Exemple : camille.martin@exemple.fr."
                )
            ),
        ],
    )
    phone = TelField(
        _l("Numéro de téléphone"),
        filters=[_strip],
        validators=[Optional(), _french_phone],
    )
    address = StringField(
        _l("Adresse du lieu concerné"),
        filters=[_strip],
        validators=[Optional(), Length(max=300, message=_l("300 caractères au maximum."))],
    )
    attachments = MultipleFileField(_l("Pièces jointes"))
    consent = BooleanField(_l("J'ai pris connaissance de la mention d'information ci-dessus."))
    website = StringField(_l("Ne pas remplir ce champ"))

    max_files: int = 0
    selected_category: Category | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if not self.email.data and not self.phone.data:
            self.email.errors = [*self.email.errors, str(NO_CONTACT)]
            valid = False
        return valid

    def validate_attachments(self, field: Field) -> None:
        if len(self.uploaded_files()) > self.max_files:
            raise ValidationError(
                str(_l("Vous pouvez joindre %(n)s fichier(s) au maximum.", n=self.max_files))
            )

    def uploaded_files(self) -> list[FileStorage]:
        """The files really chosen (a browser sends an empty part when none is)."""
        return [f for f in self.attachments.data or [] if isinstance(f, FileStorage) and f.filename]

    def zone_code(self) -> str | None:
        """The quartier chosen, if the commune offers the choice and one was made."""
        field = getattr(self, "zone", None)
        return (field.data or None) if field is not None else None

    def extra_fields(self) -> list[Field]:
        return [field for field in self if field.name.startswith(EXTRA_PREFIX)]

    def extra_values(self) -> dict[str, str]:
        """The selected category's extra answers, as text, without the empty ones."""
        values = {}
        for field in self.extra_fields():
            value = field.data
            if value is None or value == "":
                continue
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = format(value.normalize(), "f")
            values[field.name.removeprefix(EXTRA_PREFIX)] = str(value)
        return values

    def errors_count(self) -> int:
        return sum(1 for field in self if field.errors)


def _extra_field(spec: ExtraField) -> Field:
    kwargs: dict[str, Any] = {"description": spec.help}
    if spec.kind == "date":
        check = _Typed(spec.required, _l("Indiquez une date valide (jj/mm/aaaa)."))
        return DateField(spec.label, validators=[check], **kwargs)
    if spec.kind == "number":
        check = _Typed(spec.required, _l("Indiquez un nombre, par exemple 1500."))
        return DecimalField(spec.label, validators=[check], **kwargs)
    validators: list[Any] = [
        DataRequired(message=REQUIRED_EXTRA) if spec.required else Optional(),
        Length(max=2000, message=_l("2 000 caractères au maximum.")),
    ]
    if spec.kind == "textarea":
        return TextAreaField(spec.label, filters=[_strip], validators=validators, **kwargs)
    return StringField(spec.label, filters=[_strip], validators=validators, **kwargs)


class _Typed:
    """Required-or-optional check of a date or number field, with French messages.

    WTForms' own parse error ("Not a valid date value") is replaced by ``invalid``.
    """

    def __init__(self, required: bool, invalid: Any):
        self.required = required
        self.invalid = invalid
        self.field_flags = {"required": True} if required else {"optional": True}

    def __call__(self, _form: FlaskForm, field: Field) -> None:
        raw = (field.raw_data[0] if field.raw_data else "") or ""
        field.errors[:] = []
        if not str(raw).strip():
            if self.required:
                raise StopValidation(str(REQUIRED_EXTRA))
            raise StopValidation()
        if field.data is None:
            raise StopValidation(str(self.invalid))
        if isinstance(field.data, Decimal) and field.data < 0:
            raise StopValidation(str(_l("Indiquez un nombre positif.")))


def _zone_field() -> Field:
    return SelectField(_l("Quartier concerné"), validate_choice=False)  # AnyOf checks it


def build_request_form(
    categories: Iterable[Category], selected: str | None, rules: AttachmentRules,
    zones: Iterable[Zone] = (),
) -> RequestForm:
    """The request form for these public categories, with ``selected``'s extra fields
    and, when the commune declares zones (quartiers), an optional choice among them."""
    public = [c for c in categories if c.public]
    zones = list(zones)
    category = next((c for c in public if c.code == selected), None)
    form_class: type[RequestForm] = RequestForm
    fields: dict[str, Field] = {}
    if zones:
        fields["zone"] = _zone_field()
    if category is not None and category.extra_fields:
        fields.update(
            {EXTRA_PREFIX + spec.name: _extra_field(spec) for spec in category.extra_fields})
    if fields:
        form_class = type("CategoryRequestForm", (RequestForm,), fields)
    form = form_class()
    if zones:
        form.zone.choices = [("", str(_l("— Je ne sais pas —")))] + [
            (z.code, z.label) for z in zones]
        form.zone.validators = [Optional(), AnyOf(
            [z.code for z in zones], message=str(_l("Choisissez un quartier dans la liste.")))]
    form.max_files = rules.max_files
    form.attachments.render_kw = {
        "accept": ",".join(ACCEPT_HINTS.get(t, t) for t in rules.allowed_types)
    }
    form.selected_category = category
    form.category.choices = [("", str(_l("— Choisissez —")))] + [(c.code, c.label) for c in public]
    form.category.validators = [
        *form.category.validators,
        AnyOf([c.code for c in public], message=str(_l("Choisissez une catégorie dans la liste."))),
    ]
    if category is not None and not form.is_submitted():
        form.category.data = category.code
    return form


class TrackingForm(PublicForm):
    code = StringField(
        _l("Code de suivi"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Indiquez votre code de suivi.")),
            Length(max=40, message=_l("Le code de suivi compte 8 caractères.")),
        ],
    )
    verifier = StringField(
        _l("Votre adresse électronique ou votre nom de famille"),
        filters=[_strip],
        validators=[
            DataRequired(
                message=_l("Indiquez votre adresse électronique ou votre nom de famille.")
            ),
            Length(max=254, message=_l("254 caractères au maximum.")),
        ],
    )

    def errors_count(self) -> int:
        return sum(1 for field in self if field.errors)
