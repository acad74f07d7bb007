"""PDF rendering (WeasyPrint) shared by every printed paper of the store."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


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
    # Imported here, not at the top: WeasyPrint parses its stylesheets (and logs each
    # step) on import, which every process loading the URLs would pay for and print.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Every image is embedded as a data URL: nothing is read from disk or the network.
    fetcher = URLFetcher(allowed_protocols={"data"})

    def document(extra: dict):
        with translation.override(language or translation.get_language()):
            html = render_to_string(template, {**context, **extra})
        return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=fetcher).render()

    rendered = document({})
    if compact_if_longer_than is not None and len(rendered.pages) > compact_if_longer_than:
        rendered = document({"compact": True})
    return rendered.write_pdf()
