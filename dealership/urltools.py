"""URL helpers for pages that list hundreds of rows."""

from django.urls import reverse

SENTINEL = "987654321"


def url_for_pk(name: str):
    """`reverse(name, args=[pk])` for many pks, reversed once: `url_for_pk(name)(pk)`.

    A board of 400 cards spent more time in `reverse` than in its queries.
    """
    head, tail = reverse(name, args=[int(SENTINEL)]).split(SENTINEL)
    return lambda pk: f"{head}{pk}{tail}"
