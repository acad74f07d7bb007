"""The header menu. Each app registers its entries in its AppConfig.ready()."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from .roles import has_role


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: object
    roles: tuple[str, ...]
    order: int
    more: bool = False  # a less frequent entry: under the menu's "More" dropdown
    more_for: tuple[str, ...] = ()  # ... for users with one of these roles only


_ITEMS: dict[str, NavItem] = {}


def register_nav(
    url_name: str, label, roles, order: int, *, more: bool = False, more_for=()
) -> None:
    _ITEMS[url_name] = NavItem(
        url_name=url_name,
        label=label,
        roles=tuple(roles),
        order=order,
        more=more,
        more_for=tuple(more_for),
    )


def nav_for(user) -> list[dict]:
    entries = []
    for item in sorted(_ITEMS.values(), key=lambda i: i.order):
        if not has_role(user, item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        entries.append(
            {
                "url": url,
                "label": item.label,
                "url_name": item.url_name,
                "more": item.more or bool(item.more_for and has_role(user, item.more_for)),
            }
        )
    return entries
