"""Texts the system writes into rows, kept as a code and parameters, rendered when read.

A `gettext` result saved in a row stays in the language of whoever caused the write
(the English UI showed "承诺", "[涉及安全]"). Rows store `{"code": ..., "params": {...}}`
instead, and pages render them in the reader's language:

    @stored_text("workshop.promise")
    def _promise(params): return _("promised %(when)s") % {...}

    stored_text_render(code, params, fallback=row.text)
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

RENDERERS: dict[str, Callable[[dict], str]] = {}


def stored_text(code: str):
    """Register the function that renders the text `code` from its parameters."""

    def register(function: Callable[[dict], str]) -> Callable[[dict], str]:
        RENDERERS[code] = function
        return function

    return register


def stored_text_render(code: str, params: dict | None, fallback: str = "") -> str:
    """The text for `code` in the active language; `fallback` for an unknown code or bad params."""
    renderer = RENDERERS.get(code or "")
    if renderer is None:
        return fallback
    try:
        return str(renderer(params or {}))
    except (KeyError, TypeError, ValueError):
        logger.warning("stored text %s: cannot render %r", code, params)
        return fallback
