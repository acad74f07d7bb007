"""List rows rendered once and kept in the cache under a digest of what they show.

A list of 50 calls spent half its time in the template engine printing rows that had not
changed since the last look (care staff go round their lists all day). A row's template
reads only the flat values of that row (`row`), so the cache key, a digest of them, the
template's text and the language, changes with anything a row shows (a deploy that
changes the template included): nothing to invalidate, nothing stale. The CSRF token,
different for every visitor, is put in after the cache (as `workshop.board_cards` does
for the job board).
"""

import hashlib

from django.core.cache import cache
from django.template import Context
from django.template.loader import get_template
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

# Rows of a day's lists stay while people go round them; a changed row is a new key anyway.
CACHE_SECONDS = 10 * 60
# Stands in the cached HTML for the visitor's CSRF token (no database text holds a NUL).
CSRF_MARK = "\x00csrf_token\x00"


def _digest(value) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()


def rows_html(template_name: str, rows: list[dict], *, csrf_token: str = "") -> list[SafeString]:
    """The HTML of each row of `rows` (flat values): from the cache, else rendered and cached.

    `csrf_token`: the visitor's, for the rows' forms.
    """
    if not rows:
        return []
    template = get_template(template_name).template
    page_key = _digest((template.source, translation.get_language()))
    keys = [f"rows:{page_key}:{_digest(row)}" for row in rows]
    found = cache.get_many(keys)
    missing = {}
    context = None
    html_rows = []
    for row, key in zip(rows, keys, strict=True):
        html = found.get(key)
        if html is None:
            if context is None:
                context = Context({"csrf_token": CSRF_MARK})
            with context.push(row=row):
                html = missing[key] = str(template.render(context))
        # The template escaped every value; the token is letters and digits.
        html_rows.append(mark_safe(html.replace(CSRF_MARK, csrf_token)))  # noqa: S308
    if missing:
        cache.set_many(missing, CACHE_SECONDS)
    return html_rows
