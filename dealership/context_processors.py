from .navigation import nav_for
from .roles import user_roles
from .rules import rule


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "nav_items": [],
            "store_name": rule("store.name"),
            "store_phone": rule("store.phone"),
            "store_address": rule("store.address"),
        }
    return {
        "nav_items": nav_for(user),
        "user_role_names": user_roles(user),
        "store_name": rule("store.name"),
    }
