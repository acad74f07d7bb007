"""The project URL conf plus this issue's API, as the project mounts it (see reception/api.py)."""

from django.urls import include, path

from dealership.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/reception/", include("reception.api")),
    path("api/orders/", include("workorders.api")),
    *project_urlpatterns,
]
