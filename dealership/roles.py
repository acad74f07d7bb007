"""Staff roles (Django groups) and the one access check every view uses.

A view declares the roles that may use it with `@role_required(...)` (function
views) or `RoleRequiredMixin.allowed_roles` (class views). The declaration is
kept on the view as `allowed_roles`, so the permission-matrix test can read it
from the URL conf and a view without a rule fails that test.
"""

from collections.abc import Iterable
from functools import wraps

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADVISOR = "advisor", _("Service advisor")
    WORKSHOP_CONTROLLER = "workshop_controller", _("Workshop controller")
    TECHNICIAN = "technician", _("Technician")
    QC_INSPECTOR = "qc_inspector", _("QC inspector")
    CASHIER = "cashier", _("Cashier")
    CUSTOMER_CARE = "customer_care", _("Customer care")
    SERVICE_MANAGER = "service_manager", _("Service manager")
    # 索赔员: handles the manufacturer's warranty claims (issue 16 item 3).
    CLAIMS_CLERK = "claims_clerk", _("Claims clerk")
    ADMIN = "admin", _("Administrator")


ALL_STAFF = tuple(Role)
FRONT_DESK = (Role.ADVISOR, Role.CASHIER, Role.CUSTOMER_CARE, Role.SERVICE_MANAGER)


def user_roles(user) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {Role.ADMIN}
        user._role_names = cached
    return cached


def has_role(user, roles: Iterable[str]) -> bool:
    names = user_roles(user)
    return Role.ADMIN in names or bool(names & set(roles))


def check_role(user, roles: Iterable[str]) -> None:
    if not has_role(user, roles):
        raise PermissionDenied(_("Your role may not use this page."))


def role_required(*roles: str):
    """Log-in plus one of `roles` (the administrator passes every check)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            check_role(request.user, roles)
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)
        return wrapped

    return decorator


def public_view(view):
    """Marks a view that needs no log-in (customer links, log-in page)."""
    view.allowed_roles = None
    return view


class RoleRequiredMixin(LoginRequiredMixin):
    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        check_role(request.user, self.allowed_roles)
        return super().dispatch(request, *args, **kwargs)

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        view.allowed_roles = frozenset(cls.allowed_roles)
        return view
