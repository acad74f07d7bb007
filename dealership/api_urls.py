"""Every app's API under /api/ (included by dealership.urls).

/api/customers/, /api/vehicles/ (dealership.api), /api/appointments/, /api/reception/,
/api/orders/, /api/workshop/, /api/delivery/, /api/followup/, /api/reports/
(reports.api). The schema is at
/api/schema/ and the browsable docs at /api/docs/ (dealership.urls).
"""

from django.urls import include, path, re_path
from rest_framework import routers

from . import api

router = routers.SimpleRouter()
router.register("customers", api.CustomerViewSet, basename="customer")
router.register("vehicles", api.VehicleViewSet, basename="vehicle")

urlpatterns = [
    path("", include(router.urls)),
    path("appointments/", include("appointments.api")),
    path("reception/", include("reception.api")),
    path("orders/", include("workorders.api")),
    path("workshop/", include("workshop.api")),
    path("delivery/", include("delivery.api")),
    path("followup/", include("followup.api")),
    path("reports/", include("reports.api_urls")),
    # Anything else under /api/ (but the schema and docs, routed after this include):
    # a JSON 404 rather than the HTML page, so API clients always get the documented body.
    re_path(r"^(?!schema/|docs/)[\s\S]*\Z", api.ApiNotFound.as_view(), name="api-not-found"),
]
