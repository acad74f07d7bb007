"""URL helpers for pages that list hundreds of rows."""

from django.conf import settings
from django.urls import reverse

SENTINEL = "987654321"


def url_for_pk(name: str):
    """`reverse(name, args=[pk])` for many pks, reversed once: `url_for_pk(name)(pk)`.

    A board of 400 cards spent more time in `reverse` than in its queries.
    """
    head, tail = reverse(name, args=[int(SENTINEL)]).split(SENTINEL)
    return lambda pk: f"{head}{pk}{tail}"


def absolute_url(path: str, base_url: str = "") -> str:
    """`path` on the request's site (`base_url`), else on `settings.SITE_URL`: never relative."""
    return (base_url or settings.SITE_URL).rstrip("/") + path
