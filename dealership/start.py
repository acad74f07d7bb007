"""Where each role starts: its own work, not a list of recently registered customers.

Apps register in their AppConfig.ready(), like the menu (`navigation.py`), so this bottom app
never imports the apps above it. A role whose work is one page (the technician's jobs, the QC
list) lands on that page; the advisor and the manager start on the home page made of the
panels the apps register for them (today's arrivals, cars on site, approvals waiting; the
day's figures and alerts).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from .roles import Role, user_roles


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


def panels_for(request) -> list[dict]:
    roles = _roles_of(request.user)
    return [
        {"key": panel.key, "template": panel.template, **panel.context(request)}
        for panel in sorted(_PANELS.values(), key=lambda p: p.order)
        if roles & set(panel.roles)
    ]
