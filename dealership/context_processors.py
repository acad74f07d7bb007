from .navigation import nav_for
from .roles import user_roles
from .rules import rule


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "nav_items": [],
            "nav_more": [],
            "store_name": rule("store.name"),
            "store_phone": rule("store.phone"),
            "store_address": rule("store.address"),
        }
    entries = nav_for(user)
    return {
        "nav_items": [entry for entry in entries if not entry["more"]],
        "nav_more": [entry for entry in entries if entry["more"]],
        "user_role_names": user_roles(user),
        "store_name": rule("store.name"),
    }
