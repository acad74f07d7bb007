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

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext

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


MESSAGE = "message"


class StoredMessage:
    """A message id + parameters: `str()` is the text now, `.params` what a row keeps.

    `timeline_record(summary=StoredMessage(gettext_noop("Vehicle %(plate)s registered"),
    plate=...))` stores the code and renders in the reader's language. A parameter that is
    itself a StoredMessage is translated too when read.
    """

    code = MESSAGE

    def __init__(self, msgid: str, *, suffix: str = "", **params):
        self.msgid = msgid
        self.suffix = suffix  # appended as written (e.g. a person's own words)
        self.kwargs = params

    @property
    def params(self) -> dict:
        return {
            "msgid": self.msgid,
            "suffix": self.suffix,
            "params": {key: _param(value) for key, value in self.kwargs.items()},
        }

    def __str__(self) -> str:
        return _render_message(self.params)


class StoredCode:
    """A text already kept as a code (see `stored_text`), used as a StoredMessage parameter."""

    def __init__(self, code: str, params: dict | None, fallback: str = ""):
        self.code, self.code_params, self.fallback = code, params or {}, fallback

    def __str__(self) -> str:
        return stored_text_render(self.code, self.code_params, self.fallback)


def _param(value) -> dict | str:
    """A parameter as kept: a nested message, a lazy label by its message id, or text."""
    if isinstance(value, StoredMessage):
        return value.params
    if isinstance(value, StoredCode):
        return {"code": value.code, "params": value.code_params, "fallback": value.fallback}
    if isinstance(value, Promise):  # e.g. a choice label: translated again when read
        with translation.override(None):
            return {"msgid": str(value), "params": {}}
    return str(value)


@stored_text(MESSAGE)
def _render_message(params: dict) -> str:
    values = {}
    for key, value in (params.get("params") or {}).items():
        if isinstance(value, dict) and "code" in value:
            value = stored_text_render(
                value["code"], value.get("params"), value.get("fallback", "")
            )
        elif isinstance(value, dict):
            value = _render_message(value)
        values[key] = value
    text = gettext(params["msgid"])
    return (text % values if values else text) + str(params.get("suffix") or "")
