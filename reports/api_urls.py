"""The reports' API, mounted at /api/reports/ by dealership.api_urls."""

from rest_framework import routers

from . import api

router = routers.SimpleRouter()
router.register("figures", api.ReportFiguresViewSet, basename="report-figures")
router.register("visits", api.ReportVisitsViewSet, basename="report-visits")
router.register("targets", api.ReportTargetViewSet, basename="report-targets")
urlpatterns = router.urls
