"""The project's URL conf, plus the delivery API at /api/delivery/ if the project does not
mount it (yet). The API tests use it so they pass either way."""

from django.urls import Resolver404, get_resolver, include, path

from dealership.urls import urlpatterns as project_urlpatterns
from delivery.urls import api_urlpatterns


def _mounted() -> bool:
    try:
        get_resolver("dealership.urls").resolve("/api/delivery/settlements/")
    except Resolver404:
        return False
    return True


urlpatterns = list(project_urlpatterns)
if not _mounted():
    urlpatterns.insert(0, path("api/delivery/", include(api_urlpatterns)))
