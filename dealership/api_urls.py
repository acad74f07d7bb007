"""Every app's API under /api/ (included by dealership.urls).

/api/customers/, /api/vehicles/ (dealership.api), /api/appointments/, /api/reception/,
/api/orders/ (with the promise suggestion, workorders.api_promise), /api/workshop/,
/api/delivery/ (with the day close, delivery.api_day_close), /api/followup/, /api/reports/
(reports.api), /api/integrations/ (webhooks and the caller's API tokens,
dealership.api_integrations), /api/customers/{id}/links|consent|wechat-unbind/ and
/api/privacy-requests/ (dealership.api_customers_privacy), /api/customers/{id}/portal-link/
(portal.api), /api/reception/lounge-display/ (reception.api_lounge),
/api/followup/enquiries/ (followup.api_enquiries), /api/workshop/desk-calls/,
/api/workshop/visits/{id}/ask-desk/ and /api/workshop/roster/ (workshop.api_desk_roster),
/api/customers/{id}/advisor/ (dealership.api_customer_advisor), /api/loancars/ (loancars.api).
The schema is at /api/schema/ and the browsable docs at /api/docs/ (dealership.urls).
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
    path("orders/", include("workorders.api_promise")),
    path("workshop/", include("workshop.api")),
    path("delivery/", include("delivery.api")),
    path("delivery/", include("delivery.api_day_close")),
    path("followup/", include("followup.api")),
    path("reports/", include("reports.api_urls")),
    path("integrations/", include("dealership.api_integrations")),
    # issue 18.1 parity: the customer page's links, consent, WeChat and portal link, the
    # privacy requests, the lounge display link
    path("", include("dealership.api_customers_privacy")),
    path("", include("portal.api")),
    path("reception/", include("reception.api_lounge")),
    # issue 18.1 parity for issue 20's pages: enquiries
    path("followup/", include("followup.api_enquiries")),
    # help at the desk and the roster week
    path("workshop/", include("workshop.api_desk_roster")),
    # the customer's own advisor
    path("", include("dealership.api_customer_advisor")),
    # courtesy cars
    path("loancars/", include("loancars.api")),
    # Anything else under /api/ (but the schema and docs, routed after this include):
    # a JSON 404 rather than the HTML page, so API clients always get the documented body.
    re_path(r"^(?!schema/|docs/)[\s\S]*\Z", api.ApiNotFound.as_view(), name="api-not-found"),
]
