"""Free text people type: how long each kind may be, and the one check every write goes through.

A concern, a note or a complaint is read by people and printed on PDFs, so each
kind has a length fitting its use. `clean_text` is what services call on text
they receive; `text_fields_check` runs on every save of our models (see
`DealershipConfig.ready`), so a field a service forgot still ends in a message
by the field, never in a database error. Both refuse NUL characters (PostgreSQL
cannot store them) and lone surrogates (they cannot be encoded, so the page
showing the error would fail too).
"""

from django.db import models
from django.utils.translation import gettext as _

from .errors import DomainError

# What the customer says about the car, in their words.
CONCERN_MAX_LENGTH = 2000
# Staff notes, findings, diagnoses, explanations, remarks.
NOTE_MAX_LENGTH = 2000
# Why something was cancelled, moved, redone or refused.
REASON_MAX_LENGTH = 500
# A complaint and its resolution; a survey's words become a complaint, so the same cap.
COMPLAINT_MAX_LENGTH = 5000


def bad_character(value: str) -> str | None:
    """What makes `value` impossible to store (a NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return _("The text contains an invisible control character (NUL); type it again.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("The text contains a broken character; type it again.")
    return None


def clean_text(
    value,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    label: str | None = None,
) -> str:
    """The text stripped of surrounding blanks, or DomainError on `field` saying what is wrong.

    Anything that is not text (a number, a list from a JSON body) is refused too.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError(_("Enter text here."), field=field, code="not_text")
    problem = bad_character(value)
    if problem:
        raise DomainError(problem, field=field, code="bad_character")
    value = value.strip()
    if required and not value:
        raise DomainError(_("This field is required."), field=field, code="required")
    if len(value) > max_length:
        raise DomainError(
            too_long_message(len(value), max_length, label), field=field, code="too_long"
        )
    return value


def clean_texts(data: dict, **limits: int) -> dict:
    """`data`, each text named in `limits` cleaned by `clean_text`; absent names stay absent."""
    cleaned = dict(data)
    for name, max_length in limits.items():
        if name in cleaned:
            cleaned[name] = clean_text(cleaned[name], field=name, max_length=max_length)
    return cleaned


def too_long_message(length: int, max_length: int, label: str | None = None) -> str:
    if label:
        return _("“%(label)s” may be at most %(max)s characters; this is %(length)s.") % {
            "label": label,
            "max": max_length,
            "length": length,
        }
    return _("At most %(max)s characters; this is %(length)s.") % {
        "max": max_length,
        "length": length,
    }


def text_fields_check(instance: models.Model, update_fields=None) -> None:
    """Refuse a save whose text would not fit its column or cannot be stored at all."""
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.CharField | models.TextField):
            continue
        if update_fields is not None and field.name not in update_fields:
            continue
        value = getattr(instance, field.attname)
        if not isinstance(value, str):
            continue
        problem = bad_character(value)
        if problem:
            raise DomainError(problem, field=field.name, code="bad_character")
        if field.max_length is not None and len(value) > field.max_length:
            raise DomainError(
                too_long_message(len(value), field.max_length, str(field.verbose_name)),
                field=field.name,
                code="too_long",
            )


OUR_APPS = {
    "dealership",
    "appointments",
    "reception",
    "workorders",
    "workshop",
    "delivery",
    "followup",
}


def refuse_unfit_text(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """pre_save receiver for our apps' models (fixtures loaded raw are left alone)."""
    if not raw and sender._meta.app_label in OUR_APPS:
        text_fields_check(instance, update_fields)
