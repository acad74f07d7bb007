"""API of the customer page's "text the customer a portal link" button (issue 18.1, parity):
the same service (`portal.services.portal_link_send`) and roles as the page.

Mounted at /api/ by dealership.api_urls: POST /api/customers/{id}/portal-link/.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import routers, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewSet
from dealership.models import Customer
from dealership.views import CUSTOMER_VIEWERS

from . import services


class PortalLinkSentSerializer(serializers.Serializer):
    sent = serializers.BooleanField(help_text="False: the message could not be sent (see error).")
    channel = serializers.CharField(help_text="How it went (sms, wechat, ...).")
    status = serializers.CharField(help_text="The message's state.")
    error = serializers.CharField(help_text="Why it could not be sent; empty when sent.")
    detail = serializers.CharField(help_text="The page's message, in the caller's language.")


class CustomerPortalLinkViewSet(ApiViewSet):
    """Text the customer a link to their portal (revocable with the customer's links):
    every role that sees customers, as on the customer page."""

    queryset = Customer.objects.all()
    serializer_class = PortalLinkSentSerializer
    read_roles = CUSTOMER_VIEWERS
    write_roles = CUSTOMER_VIEWERS

    @extend_schema(
        summary="Text the customer a link to the portal",
        request=None,
        responses={200: PortalLinkSentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="portal-link")
    def portal_link(self, request, pk=None):
        message = services.portal_link_send(
            customer=self.get_object(),
            actor=request.user,
            base_url=request.build_absolute_uri("/"),
        )
        if message.error:
            detail = _("The portal link could not be sent: %(error)s") % {"error": message.error}
        else:
            detail = _("The portal link was sent to the customer.")
        return Response(
            {
                "sent": not message.error,
                "channel": message.channel,
                "status": message.status,
                "error": message.error,
                "detail": detail,
            }
        )


router = routers.SimpleRouter()
router.register("customers", CustomerPortalLinkViewSet, basename="customer-portal")
urlpatterns = router.urls  # mounted at /api/ by dealership.api_urls
