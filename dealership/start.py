"""Where each role starts: its own work, not a list of recently registered customers.

Apps register in their AppConfig.ready(), like the menu (`navigation.py`), so this bottom app
never imports the apps above it. A role whose work is one page (the technician's jobs, the QC
list) lands on that page; the advisor and the manager start on the home page made of the
panels the apps register for them (today's arrivals, cars on site, approvals waiting; the
day's figures and alerts).

A panel's template reads only `panel` (a test holds every registered panel to it), so a
panel whose context is plain values (text, numbers, dates, lists and dicts of them) is
rendered once and its HTML cached under a digest of those values, the template, the
language and the time zone: a change to anything it shows is a new key, nothing to
invalidate. Any other context (model rows, objects) is rendered each time.
"""

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.core.cache import cache
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from .fragments import digest
from .roles import Role, user_roles

# The home page is everyone's landing page; a panel's rows stay while nothing changes.
PANEL_CACHE_SECONDS = 10 * 60
_PLAIN_TYPES = (str, int, float, Decimal, date, datetime, time, type(None))


@dataclass(frozen=True)
class StartPanel:
    key: str
    template: str
    roles: tuple[str, ...]
    context: Callable
    order: int


_PAGES: dict[str, tuple[int, str]] = {}
_PANELS: dict[str, StartPanel] = {}


def register_start_page(role: str, url_name: str, order: int) -> None:
    """`role` starts on `url_name`; a person with several roles starts on the lowest order."""
    _PAGES[role] = (order, url_name)


def register_start_panel(key: str, *, template: str, roles, context: Callable, order: int) -> None:
    """A panel of the home page for `roles`; `context(request)` gives the template's context."""
    _PANELS[key] = StartPanel(
        key=key, template=template, roles=tuple(roles), context=context, order=order
    )


def _roles_of(user) -> set[str]:
    roles = set(user_roles(user))
    if Role.ADMIN in roles:
        return roles | {Role.SERVICE_MANAGER}
    return roles


def start_url_for(user) -> str | None:
    """The page the user lands on, or None for the home page's panels."""
    roles = _roles_of(user)
    if roles & {Role.ADVISOR, Role.SERVICE_MANAGER}:
        return None
    choices = sorted(_PAGES[role] for role in roles if role in _PAGES)
    for _order, url_name in choices:
        try:
            return reverse(url_name)
        except NoReverseMatch:
            continue
    return None


_PLAIN_SET = frozenset((*_PLAIN_TYPES, bool))


def _plain(value) -> bool:
    """Values whose repr is all they show: a digest of them stands for the panel's HTML.

    Walked without recursion, a value's type looked up in a set first: a panel of a hundred
    rows holds a thousand values, and the recursive walk cost a home page about a
    millisecond."""
    plain_types = _PLAIN_SET
    waiting = [value]
    while waiting:
        value = waiting.pop()
        if type(value) in plain_types:
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return False
                if type(item) not in plain_types:
                    waiting.append(item)
        elif isinstance(value, list | tuple):
            waiting.extend(item for item in value if type(item) not in plain_types)
        else:
            return False
    return True


def _panel_key(panel: StartPanel, context: dict) -> str:
    what = (
        panel.template,
        translation.get_language(),
        timezone.get_current_timezone_name(),
        sorted(context.items()),
    )
    try:
        # Pickled, not repr'd: a digest of the same plain values in a quarter of the time.
        return "start:panel:" + digest(what)
    except (pickle.PicklingError, TypeError, AttributeError):  # e.g. a defaultdict(lambda)
        return "start:panel:" + hashlib.blake2b(repr(what).encode(), digest_size=16).hexdigest()


def _render(panel: StartPanel, context: dict) -> str:
    return get_template(panel.template).render({"panel": context})


def panels_for(request) -> list[dict]:
    """The user's panels in order, each with its `html`: from the cache when its values
    were shown before, else rendered (and cached when they are plain values)."""
    roles = _roles_of(request.user)
    panels = [
        (panel, {"key": panel.key, "template": panel.template, **panel.context(request)})
        for panel in sorted(_PANELS.values(), key=lambda p: p.order)
        if roles & set(panel.roles)
    ]
    keys = {panel.key: _panel_key(panel, context) for panel, context in panels if _plain(context)}
    found = cache.get_many(keys.values())
    missing = {}
    for panel, context in panels:
        key = keys.get(panel.key)
        html = found.get(key) if key else None
        if html is None:
            html = _render(panel, context)
            if key:
                missing[key] = html
        # Rendered by the panel's template, which escaped every value.
        context["html"] = mark_safe(html)  # noqa: S308
    if missing:
        cache.set_many(missing, PANEL_CACHE_SECONDS)
    return [context for _panel, context in panels]
