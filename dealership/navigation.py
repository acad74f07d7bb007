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


_ITEMS: dict[str, NavItem] = {}


def register_nav(url_name: str, label, roles, order: int) -> None:
    _ITEMS[url_name] = NavItem(url_name=url_name, label=label, roles=tuple(roles), order=order)


def nav_for(user) -> list[dict]:
    entries = []
    for item in sorted(_ITEMS.values(), key=lambda i: i.order):
        if not has_role(user, item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        entries.append({"url": url, "label": item.label, "url_name": item.url_name})
    return entries
