"""The next actions a desk takes on a vehicle (book, check in, its open visit).

The customer and vehicle pages live in this bottom app; the steps above register what they
offer in their AppConfig.ready(), so this app imports none of them. A provider answers for
all of a page's vehicles at once, so the customer page asks the same number of queries
whatever the number of cars. An action is shown only to a role that may open its page
(`templatetags.access.url_if_allowed`'s rule).
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
    """`provider(vehicles)` returns, for each of the vehicles in turn, the Actions it offers
    for that vehicle (may be none)."""
    _PROVIDERS.append((order, provider))
    _PROVIDERS.sort(key=lambda item: item[0])


def vehicles_actions(user, vehicles: list) -> list[list[Action]]:
    """The actions the user may take on each of the vehicles, in the vehicles' order."""
    actions = [[] for _vehicle in vehicles]
    for _order, provider in _PROVIDERS:
        for offered, allowed in zip(provider(vehicles), actions, strict=True):
            allowed.extend(action for action in offered if _may_open(user, action))
    return actions


def vehicle_actions(user, vehicle) -> list[Action]:
    return vehicles_actions(user, [vehicle])[0]


def _may_open(user, action: Action) -> bool:
    roles = getattr(resolve(action.url.split("?")[0]).func, "allowed_roles", None)
    return roles is None or has_role(user, roles)
