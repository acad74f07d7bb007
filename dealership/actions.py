"""The next actions a desk takes on a vehicle (book, check in, its open visit).

The customer and vehicle pages live in this bottom app; the steps above register what they
offer in their AppConfig.ready(), so this app imports none of them. An action is shown only
to a role that may open its page (`templatetags.access.url_if_allowed`'s rule).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import resolve

from .roles import has_role


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    url: str
    primary: bool = False


_PROVIDERS: list[tuple[int, Callable]] = []


def register_vehicle_actions(provider: Callable, order: int) -> None:
    """`provider(vehicle)` returns the Actions it offers for the vehicle (may be none)."""
    _PROVIDERS.append((order, provider))
    _PROVIDERS.sort(key=lambda item: item[0])


def vehicle_actions(user, vehicle) -> list[Action]:
    actions = []
    for _order, provider in _PROVIDERS:
        for action in provider(vehicle):
            roles = getattr(resolve(action.url.split("?")[0]).func, "allowed_roles", None)
            if roles is None or has_role(user, roles):
                actions.append(action)
    return actions
