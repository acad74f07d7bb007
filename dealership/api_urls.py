"""Every app's API under /api/ (included by dealership.urls).

/api/customers/, /api/vehicles/ (dealership.api), /api/appointments/, /api/reception/,
/api/orders/, /api/workshop/, /api/delivery/, /api/followup/, /api/reports/
(dealership.reports.api). The schema is at
/api/schema/ and the browsable docs at /api/docs/ (dealership.urls).
"""

from django.urls import include, path, re_path
from rest_framework import routers

import delivery.urls

from . import api
from .reports import api as reports_api

router = routers.SimpleRouter()
router.register("customers", api.CustomerViewSet, basename="customer")
router.register("vehicles", api.VehicleViewSet, basename="vehicle")
router.register("reports/figures", reports_api.ReportFiguresViewSet, basename="report-figures")
router.register("reports/visits", reports_api.ReportVisitsViewSet, basename="report-visits")
router.register("reports/targets", reports_api.ReportTargetViewSet, basename="report-targets")

urlpatterns = [
    path("", include(router.urls)),
    path("appointments/", include("appointments.api")),
    path("reception/", include("reception.api")),
    path("orders/", include("workorders.api")),
    path("workshop/", include("workshop.api")),
    path("delivery/", include(delivery.urls.api_urlpatterns)),
    path("followup/", include("followup.api")),
    # Anything else under /api/ (but the schema and docs, routed after this include):
    # a JSON 404 rather than the HTML page, so API clients always get the documented body.
    re_path(r"^(?!schema/|docs/)[\s\S]*\Z", api.ApiNotFound.as_view(), name="api-not-found"),
]
