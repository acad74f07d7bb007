"""`{% load access %}` then `{% url_if_allowed "app:name" pk as url %}{% if url %}…{% endif %}`.

A link to another app's page shows only when that app is installed and the
user's role may open the page (the view's `allowed_roles`), so no one is
shown a link that answers 403.
"""

from django import template
from django.urls import NoReverseMatch, resolve, reverse

from dealership.roles import has_role

register = template.Library()


@register.simple_tag(takes_context=True)
def url_if_allowed(context, url_name: str, *args) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    try:
        url = reverse(url_name, args=args)
    except NoReverseMatch:
        return ""
    roles = getattr(resolve(url).func, "allowed_roles", None)
    if roles is None or has_role(user, roles):
        return url
    return ""
