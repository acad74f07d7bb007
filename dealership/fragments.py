"""A list's HTML rendered once and cached under a digest of everything it shows.

The front desk's lists (cars on site, the delivery board, the cashier's lists, the calls)
are polled by every advisor all day and spent most of their time in the template engine
printing rows that had not changed. A fragment's template reads only its context, plain
values (value rows, labels, flags); the cache key is a digest of the template's name, the
language and that whole context, so a change to anything the fragment shows is a new key:
nothing to invalidate, nothing stale. Values that differ per visitor (the CSRF token) are
put in after the cache.
"""

import hashlib
import pickle

from django.core.cache import cache
from django.template.loader import get_template
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

# A list polled through the day stays while it is unchanged; a change is a new key anyway.
CACHE_SECONDS = 10 * 60


def digest(value) -> str:
    """A short digest of plain values (dicts, lists, strings, numbers, dates)."""
    return hashlib.blake2b(pickle.dumps(value, protocol=5), digest_size=16).hexdigest()


def _mark(name: str) -> str:
    return f"\x00{name}\x00"  # no database text holds a NUL


def cached_fragment(
    template_name: str, context: dict, *, spliced: dict | None = None
) -> SafeString:
    """`template_name` rendered with `context`, from the cache when nothing it shows changed.

    `spliced`: values that stand in the cached HTML as marks and are put in after it (per
    visitor, e.g. `{"csrf_token": get_token(request)}`); they must be safe HTML text.
    """
    spliced = spliced or {}
    values = context | {name: _mark(name) for name in spliced}
    key = f"fragment:{digest((template_name, translation.get_language(), values))}"
    html = cache.get(key)
    if html is None:
        html = str(get_template(template_name).render(values))
        cache.set(key, html, CACHE_SECONDS)
    for name, text in spliced.items():
        html = html.replace(_mark(name), text)
    # The template escaped every value; spliced values are safe text by contract.
    return mark_safe(html)  # noqa: S308
