"""API of the customer page's own advisor (专属顾问, issue 18.1 parity): the same service
(`dealership.advisors.customer_advisor_set`), roles and messages as `views.customer_advisor`.

`POST /api/customers/{id}/advisor/` with `{"advisor": <user id>}` sets it, with
`{"advisor": null}` clears it (online bookings then go by rotation). Mounted at /api/ by
dealership.api_urls.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import routers, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from .advisors import advisors_active, customer_advisor_set
from .api import ApiViewSet
from .models import Customer, User
from .views import ADVISOR_SETTERS


class AdvisorInputSerializer(serializers.Serializer):
    advisor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(),
        allow_null=True,
        help_text="An active service advisor's user id; null: none (online bookings by rotation).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["advisor"].queryset = advisors_active()


class CustomerAdvisorSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="pk")
    advisor = serializers.IntegerField(source="advisor_id", allow_null=True)
    advisor_name = serializers.SerializerMethodField()
    detail = serializers.SerializerMethodField(help_text="The page's message.")

    def get_advisor_name(self, customer) -> str | None:
        return str(customer.advisor) if customer.advisor_id else None

    def get_detail(self, customer) -> str:
        return _("Own advisor saved.")


class CustomerAdvisorViewSet(ApiViewSet):
    """The customer's own advisor: set by the advisors and the service manager (the page's
    roles); an unknown customer is not found."""

    queryset = Customer.objects.all()
    serializer_class = CustomerAdvisorSerializer
    read_roles = ADVISOR_SETTERS
    write_roles = ADVISOR_SETTERS

    @extend_schema(
        summary="Set or clear the customer's own advisor (online bookings go to them)",
        request=AdvisorInputSerializer,
        responses={200: CustomerAdvisorSerializer},
    )
    @action(detail=True, methods=["post"])
    def advisor(self, request, pk=None):
        customer = self.get_object()
        serializer = AdvisorInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_advisor_set(
            customer=customer, advisor=serializer.validated_data["advisor"], actor=request.user
        )
        return Response(CustomerAdvisorSerializer(customer).data)


router = routers.SimpleRouter()
router.register("customers", CustomerAdvisorViewSet, basename="customer-advisor")
urlpatterns = router.urls  # mounted at /api/ by dealership.api_urls
