"""The header menu. Each app registers its entries in its AppConfig.ready().

Every staff page shows it, so a role set's entries are worked out once per process (the
URL configuration and the roles decide them; labels stay lazy, translated when the page
renders in its language) and kept until an entry is registered again.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from .roles import has_role, user_roles


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: object
    roles: tuple[str, ...]
    order: int
    more: bool = False  # a less frequent entry: under the menu's "More" dropdown
    more_for: tuple[str, ...] = ()  # ... for users with one of these roles only


_ITEMS: dict[str, NavItem] = {}
# (role names, URL conf, script prefix) -> the entries: the same for everyone with those roles.
_BY_ROLES: dict[tuple, list[dict]] = {}


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
    _BY_ROLES.clear()


def nav_for(user) -> list[dict]:
    """The menu entries `user` sees: dicts with url, label, url_name, more (do not change
    them: they are shared by every user with the same roles)."""
    key = (user_roles(user), get_urlconf(), get_script_prefix())
    entries = _BY_ROLES.get(key)
    if entries is None:
        entries = _BY_ROLES[key] = _entries_for(user)
    return entries


def _entries_for(user) -> list[dict]:
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
