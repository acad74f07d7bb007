"""The web kit: a service's refusal lands next to the field it is about."""

from django import forms

from dealership.errors import DomainError
from dealership.storage import StorageFull
from dealership.web import apply_errors, refusal_text


class PhotoForm(forms.Form):
    note = forms.CharField(required=False)
    photo = forms.ImageField(required=False)


def _refused(error) -> PhotoForm:
    form = PhotoForm({"note": "x"})
    assert form.is_valid()
    apply_errors(form, error)
    return form


def test_a_refusal_naming_a_field_is_shown_next_to_it():
    form = _refused(DomainError("Too long.", field="note"))
    assert form.errors == {"note": ["Too long."]}
    assert 'id="field-note"' in str(form) and "Too long." in str(form["note"].as_field_group())


def test_a_refusal_naming_no_field_of_the_form_is_shown_on_top():
    form = _refused(DomainError("The visit was settled meanwhile.", field="visit"))
    assert form.non_field_errors() == ["The visit was settled meanwhile."]
    assert refusal_text(form) == "The visit was settled meanwhile."


def test_a_full_disk_is_said_at_the_upload_field():
    form = _refused(StorageFull())
    assert list(form.errors) == ["photo"]
    assert "服务器磁盘已满" in str(form["photo"].as_field_group())  # in the user's language
