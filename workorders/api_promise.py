"""The suggested promise time of a work order through the API, as the order page shows it
while the order is a draft (`workorders.selectors.promise_suggestion`): the workshop's
queue shared by the active technicians, the order's hours and the store's margin.

Mounted at /api/orders/ by dealership.api_urls, beside the work order endpoints.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import routers, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from dealership.api import ApiViewSet
from reception.access import VIEWERS

from . import selectors
from .models import WorkOrder


class PromiseAnswerSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    is_draft = serializers.BooleanField()
    suggested_promised_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the car can be ready, as the order page suggests; null once signed.",
    )
    promised_at = serializers.DateTimeField(
        allow_null=True, help_text="The promise set on the order, if any."
    )


class WorkOrderPromiseViewSet(ApiViewSet):
    """The order page's promise suggestion, for the roles that see the order."""

    serializer_class = PromiseAnswerSerializer
    read_roles = VIEWERS
    queryset = WorkOrder.objects.all()

    @extend_schema(
        summary="The suggested promise time of a draft order, as its page shows it",
        responses={200: PromiseAnswerSerializer},
    )
    @action(detail=True, methods=["get"], url_path="promise-suggestion")
    def promise_suggestion(self, request, pk=None):
        order = self.get_object()
        suggestion = selectors.promise_suggestion(order) if order.is_draft else None
        body = {
            "order": order.pk,
            "is_draft": order.is_draft,
            "suggested_promised_at": suggestion,
            "promised_at": order.promised_at,
        }
        return Response(PromiseAnswerSerializer(body).data)


router = routers.SimpleRouter()
router.register("work-orders", WorkOrderPromiseViewSet, basename="work-order")
urlpatterns = router.urls  # mounted at /api/orders/ by dealership.api_urls
