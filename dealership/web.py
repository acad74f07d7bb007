"""The web kit: what every view does with a form and a service, written once.

- `apply_errors`: a service's refusal (`DomainError`, any `ValidationError`) shown on the form,
  next to the field it names, or at the top of the form.
- `submit`: the view shape "bind the form, call the service, then answer": the view says what
  to call and how to answer a success and a form to show again; nothing else is hidden.
- `refusal_text`: the refusals of forms a page no longer shows, for the top of that page.
- `htmx_or`: the htmx fragment for an htmx request, the full answer otherwise.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse

from .storage import StorageFull


def _upload_field(form) -> str | None:
    """The form's file field (a photo input, or the signature pad's hidden field)."""
    for name, field in form.fields.items():
        if isinstance(field, forms.FileField):
            return name
    return "signature" if "signature" in form.fields else None


def apply_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on the form: by field when it names one the form has, else on
    top; a full store goes next to the form's upload field."""
    if isinstance(error, StorageFull):
        form.add_error(_upload_field(form), error)
    elif hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def submit(
    request,
    form,
    service: Callable[[dict], Any],
    *,
    done: Callable[[Any], HttpResponse],
    show_form: Callable[[Any], HttpResponse],
    message: str | Callable[[Any], str] = "",
) -> HttpResponse:
    """Bind, call, answer.

    On a POST with a valid form, `service(form.cleaned_data)` runs; its result goes to
    `done(result)` (a redirect, an htmx fragment), after `message` (text, or a function of the
    result) is added as a success message. Otherwise (a GET, an invalid form, or the service
    refused and the refusal is now on the form) `show_form(form)` answers.
    """
    if request.method == "POST" and form.is_valid():
        try:
            result = service(form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            text = message(result) if callable(message) else message
            if text:
                messages.success(request, text)
            return done(result)
    return show_form(form)


def htmx_or(request, fragment: Callable[[], HttpResponse], page: Callable[[], HttpResponse]):
    """The fragment an htmx request swaps in, or the full answer of a plain request."""
    return fragment() if request.htmx else page()


def refusal_text(*forms) -> str:
    """Every message of the refused forms, for the top of a page that no longer shows them.

    A form submitted from a stale page (the order was signed, the visit settled meanwhile) is
    answered with the page as it is now, without that form: its refusal is said at the top.
    """
    return " ".join(
        str(message)
        for form in forms
        if form is not None
        for messages_of_field in form.errors.values()
        for message in messages_of_field
    )
