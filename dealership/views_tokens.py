"""The account's API tokens page (issue 18.2): issue, rename and revoke one's own tokens."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .forms import ApiTokenNameForm
from .models import ApiToken
from .roles import ALL_STAFF, role_required
from .rules import rule
from .tokens import api_token_issue, api_token_rename, api_token_revoke, api_tokens_of
from .web import apply_errors, refusal_text, submit


def _page(request, form, *, new_key: str = "", new_token=None):
    now = timezone.now()
    return render(
        request,
        "dealership/api_tokens.html",
        {
            "form": form,
            "tokens": [(token, token.expires_at <= now) for token in api_tokens_of(request.user)],
            "new_key": new_key,
            "new_token": new_token,
            "token_days": rule("api.token_days"),
        },
    )


@role_required(*ALL_STAFF)
@require_http_methods(["GET", "POST"])
@never_cache  # the answer to an issue carries the key: no cache may keep it
def api_tokens(request):
    """The list, and a new token issued: its key is shown on this answer only."""
    return submit(
        request,
        ApiTokenNameForm(request.POST or None),
        lambda data: api_token_issue(user=request.user, name=data["name"]),
        done=lambda issued: _page(
            request, ApiTokenNameForm(), new_token=issued[0], new_key=issued[1]
        ),
        show_form=lambda form: _page(request, form),
    )


def _act(request, pk: int, call, done_message: str, form) -> HttpResponse:
    """`call(token, cleaned_data)` on the user's own token; a refusal is said at the top."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if form.is_valid():
        try:
            call(token, form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, done_message)
    if form.errors:
        messages.error(request, refusal_text(form))
    return redirect("api_tokens")


@role_required(*ALL_STAFF)
@require_POST
def api_token_rename_view(request, pk: int):
    return _act(
        request,
        pk,
        lambda token, data: api_token_rename(token=token, user=request.user, name=data["name"]),
        _("Token renamed."),
        ApiTokenNameForm(request.POST),
    )


@role_required(*ALL_STAFF)
@require_POST
def api_token_revoke_view(request, pk: int):
    return _act(
        request,
        pk,
        lambda token, data: api_token_revoke(token=token, user=request.user),
        _("Token revoked: it no longer opens the API."),
        forms.Form(request.POST),
    )
