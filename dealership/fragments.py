"""A list's HTML rendered once and cached under a digest of everything it shows.

The front desk's lists (cars on site, the delivery board, the cashier's lists, the calls)
are polled by every advisor all day and spent most of their time in the template engine
printing rows that had not changed. A fragment's template reads only its context, plain
values (value rows, labels, flags); the cache key is a digest of the template's name, the
language and that whole context, so a change to anything the fragment shows is a new key:
nothing to invalidate, nothing stale. The key also carries a digest of the templates
themselves (`templates_digest`), so after a deploy that changes a template, or one it
includes, no old HTML is shown. Values that differ per visitor (the CSRF token) are put
in after the cache. With `DEBUG` on (developing, templates edited under a running server)
nothing is kept.
"""

import functools
import hashlib
import pickle
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.template import engines
from django.template.loader import get_template
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

# A list polled through the day stays while it is unchanged; a change is a new key anyway.
CACHE_SECONDS = 10 * 60


def digest(value) -> str:
    """A short digest of plain values (dicts, lists, strings, numbers, dates)."""
    return hashlib.blake2b(pickle.dumps(value, protocol=5), digest_size=16).hexdigest()


@functools.cache
def templates_digest() -> str:
    """A digest of every template file this process renders from, read once per process
    (a deploy starts new ones)."""
    found = hashlib.blake2b(digest_size=8)
    for directory in engines["django"].template_dirs:
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                found.update(str(path.relative_to(directory)).encode())
                found.update(path.read_bytes())
    return found.hexdigest()


def _kept_html(template_name: str, values: dict) -> str:
    language = translation.get_language()
    key = f"fragment:{templates_digest()}:{digest((template_name, language, values))}"
    html = cache.get(key)
    if html is None:
        html = str(get_template(template_name).render(values))
        cache.set(key, html, CACHE_SECONDS)
    return html


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
    if settings.DEBUG:  # while developing, templates change under a running server
        html = str(get_template(template_name).render(values))
    else:
        html = _kept_html(template_name, values)
    for name, text in spliced.items():
        html = html.replace(_mark(name), text)
    # The template escaped every value; spliced values are safe text by contract.
    return mark_safe(html)  # noqa: S308
