"""PDF rendering (WeasyPrint) shared by every printed paper of the store.

Two things make a paper quick to print (issue 21 point 3):

- the finished PDF is cached under the digest of the HTML it is made from. The HTML
  is what the paper shows (every row, the language, what the viewer may see, the
  print time) with its layout, so a key is only ever shared by PDFs that would come
  out the same: any change to a row behind a paper gives new HTML and a new PDF, and
  nothing has to be invalidated. A signed work order is printed, opened on the
  customer's phone and printed again: WeasyPrint works once for all of them;
- one font configuration per thread is reused by every render (building one reads
  fontconfig's list of fonts each time).
"""

import hashlib
import threading
from functools import cache as once
from importlib.metadata import version

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation

# A day covers the reprints and the customer's look on the phone after a visit.
CACHE_SECONDS = 24 * 3600

_thread = threading.local()


def _font_config():
    """This thread's WeasyPrint font configuration (Pango's font map is not thread-safe)."""
    font_config = getattr(_thread, "font_config", None)
    if font_config is None:
        from weasyprint.text.fonts import FontConfiguration

        font_config = _thread.font_config = FontConfiguration()
    return font_config


@once
def _renderer_version() -> str:
    # Read from the package's metadata: a PDF served from the cache needs no WeasyPrint import.
    return version("weasyprint")


def _cache_key(html: str, compact_if_longer_than: int | None) -> str:
    digest = hashlib.sha256(html.encode()).hexdigest()
    return f"pdf:{_renderer_version()}:{compact_if_longer_than}:{digest}"


def render_pdf(
    template: str,
    context: dict,
    *,
    language: str | None = None,
    compact_if_longer_than: int | None = None,
) -> bytes:
    """Render an HTML template to PDF bytes, in `language` when given.

    With `compact_if_longer_than=n`, a document of more than n pages is rendered
    again with `compact=True` in the context (the template tightens its layout),
    so a form meant for one sheet does not spill a line onto a second one.
    """

    def html(extra: dict) -> str:
        with translation.override(language or translation.get_language()):
            return render_to_string(template, {**context, **extra})

    first_html = html({})
    key = _cache_key(first_html, compact_if_longer_than)
    pdf = cache.get(key)
    if pdf is None:
        rendered = _render(first_html)
        if compact_if_longer_than is not None and len(rendered.pages) > compact_if_longer_than:
            rendered = _render(html({"compact": True}))
        pdf = rendered.write_pdf()
        cache.set(key, pdf, CACHE_SECONDS)
    return pdf


def _render(html: str):
    # Imported here, not at the top: WeasyPrint parses its stylesheets (and logs each
    # step) on import, which every process loading the URLs would pay for and print.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Every image is embedded as a data URL: nothing is read from disk or the network.
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=fetcher)
    return document.render(font_config=_font_config())
