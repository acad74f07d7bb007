"""The shared API base and the customers/vehicles endpoints.

Every app's API builds on these classes, so the whole API behaves alike:

- `RolePermission`: reads need one of `view.read_roles`, writes one of `view.write_roles`
  (the same role tuples the pages use; the administrator passes every check);
- `api_exception_handler`: a refused business action (`DomainError`, any Django
  `ValidationError`) becomes a 400 with the messages by field (`non_field_errors` when the
  message names none); every other error is `{"detail": "..."}`;
- `Pagination`: `?page=` and `?page_size=` (at most 200);
- `ErrorDocumentingSchema`: every operation documents its 400/401/403/404 answers, so
  the OpenAPI schema describes each response the API can give (414 from the web server too).

`ApiViewMixin` bundles these for a view or viewset.
"""

import logging

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    TooManyFieldsSent,
    ValidationError,
)
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from . import selectors, services
from .models import Customer, Vehicle
from .roles import has_role
from .views import CUSTOMER_EDITORS, CUSTOMER_VIEWERS
from .visibility import can_search_by_phone, serialize_customer_fields

logger = logging.getLogger("django.request")


def validation_detail(error: ValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as `{field: [messages]}` (`non_field_errors` for the rest)."""
    if hasattr(error, "error_dict"):
        detail: dict[str, list[str]] = {}
        for field, errors in error.error_dict.items():
            name = "non_field_errors" if field == "__all__" else field
            detail.setdefault(name, []).extend(str(m) for e in errors for m in e.messages)
        return detail
    return {"non_field_errors": [str(m) for m in error.messages]}


def api_exception_handler(exc, context):
    """DRF's handler, plus Django's ValidationError/DomainError as field messages (400), and
    a body over Django's request limits as 413.

    Any other error is logged with its traceback and answered as a JSON 500
    (`{"detail": ...}`, no internals), so an API client always gets JSON.
    """
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    elif isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return Response(
            {"detail": gettext("The request is too large. Send photos as files (multipart).")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        logger.error(
            "Internal Server Error: %s",
            getattr(request, "path", "?"),
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"status_code": 500, "request": getattr(request, "_request", request)},
        )
        set_rollback()
        response = Response(
            {"detail": gettext("The server failed on this request. It was logged; try again.")},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return response


class RolePermission(permissions.BasePermission):
    """Reads for `view.read_roles`, writes for `view.write_roles` (the pages' own rules).

    A viewset whose actions differ names them in `action_roles = {action: roles}`.
    """

    message = "Your role may not use this part of the API."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            roles = view.read_roles
        else:
            roles = getattr(view, "action_roles", {}).get(
                getattr(view, "action", None), getattr(view, "write_roles", ())
            )
        return has_role(request.user, roles)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# ---------------------------------------------------------------- schema of the errors

FIELD_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {},
        "description": "Messages by field; `non_field_errors` for the whole request.",
    },
    description="Refused: the request or the business rule says why, by field.",
)
DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def _detail(text: str) -> OpenApiResponse:
    return OpenApiResponse(response=DETAIL, description=text)


class ErrorDocumentingSchema(AutoSchema):
    """The default schema, plus the error answers every endpoint can give.

    Read-only choice fields may hold "" (a model field with blank=True, e.g. no hold
    reason), so their documented enum admits it.
    """

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and "enum" in result
            and "" not in result["enum"]
        ):
            result["enum"] = [*result["enum"], ""]
        return result

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {
            "400": FIELD_ERRORS,
            "401": _detail("Not logged in (session or `Authorization: Token ...`)."),
            "403": _detail("Logged in, but the role may not use this endpoint."),
            "404": _detail("No such object."),
            "405": _detail("Method not allowed."),
            # Said by the web server in front (gunicorn: a request line over 4 KB), not by
            # the API, so its body is the server's page and is left undocumented.
            "414": OpenApiResponse(description="URI too long for the web server."),
        }
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


class ApiViewMixin:
    """Role permission, error format, pagination and error schema in one base."""

    permission_classes = [RolePermission]
    pagination_class = Pagination
    schema = ErrorDocumentingSchema()
    read_roles: tuple = ()
    write_roles: tuple = ()

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        """After log-in and role checks: a query parameter with a NUL character is a 400
        (PostgreSQL refuses NUL in text, which would otherwise surface as a 500)."""
        super().initial(request, *args, **kwargs)
        bad = sorted(
            name
            for name, values in request.query_params.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        )
        if bad:
            message = str(ProhibitNullCharactersValidator.message)
            raise exceptions.ValidationError({name: [message] for name in bad})


class ApiViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """A GenericViewSet with the shared base (add the mixins you need).

    Ids in paths are whole numbers of at most 9 digits: anything else is a 404.
    """

    lookup_value_regex = r"[0-9]{1,9}"


class ApiNotFound(APIView):
    """Any other path under /api/: the API's JSON 404 (not Django's HTML page), whatever
    the method and log-in. No data lies behind it, so nobody needs a role for it."""

    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)
    schema = None

    def get_exception_handler(self):
        return api_exception_handler

    def refuse(self, request, *args, **kwargs):
        raise exceptions.NotFound()

    get = post = put = patch = delete = refuse


def int_param(request, name: str) -> int | None:
    """A query parameter that must be a whole number; a bad one is a 400, not a 500."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise exceptions.ValidationError({name: ["A whole number is required."]}) from exc
    if not 0 <= number <= 2**31 - 1:
        raise exceptions.ValidationError({name: ["Out of range."]})
    return number


# ------------------------------------------------------------------ customers, vehicles


class VehicleBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = ["id", "vin", "plate", "brand", "model"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    vehicles = VehicleBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", *Customer.EDITABLE_FIELDS, "created_at", "vehicles"]
        read_only_fields = ["id", "created_at", "vehicles"]
        # Field checks are the model's (run by the service's full_clean), so the API
        # and the page refuse the same input with the same message.
        extra_kwargs = {
            "mobile": {"validators": []},
            "mobile_alt": {"validators": []},
        }

    def to_representation(self, instance):
        """Each contact field as the caller's role may see it, as on the pages
        (dealership.visibility: phones and e-mail masked, the rest empty for the workshop)."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        return serialize_customer_fields(request.user if request else None, data)


class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    """Customers by name; `?q=` finds by name or mobile. Writes go through the services."""

    serializer_class = CustomerSerializer
    read_roles = CUSTOMER_VIEWERS
    write_roles = CUSTOMER_EDITORS

    def get_queryset(self):
        queryset = Customer.objects.prefetch_related("vehicles").order_by("name", "id")
        query = (self.request.query_params.get("q") or "").strip()
        if query:
            found = Q(name__icontains=query)
            if can_search_by_phone(self.request.user):
                found |= Q(mobile__contains=query)
            queryset = queryset.filter(found)
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="Name, or mobile for the roles that see it in full"
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = services.customer_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.customer_update(
            customer=serializer.instance, actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = selectors.customer_detail(serializer.instance.pk)


class VehicleSerializer(serializers.ModelSerializer):
    owner_name = serializers.CharField(source="owner.name", read_only=True)

    class Meta:
        model = Vehicle
        fields = [
            "id",
            "vin",
            "plate",
            "owner",
            "owner_name",
            "brand",
            "model",
            "colour",
            "production_date",
            "registration_date",
            "handover_date",
            "last_odometer_km",
            "last_odometer_at",
            "created_at",
        ]
        read_only_fields = ["id", "owner_name", "last_odometer_at", "created_at"]
        extra_kwargs = {
            "vin": {"validators": []},
            "plate": {"validators": []},
            "last_odometer_km": {"max_value": 2_000_000},
        }

    def validate(self, attrs):
        if self.instance is not None and "owner" in attrs and attrs["owner"] != self.instance.owner:
            raise serializers.ValidationError(
                {"owner": ["Change the owner with POST .../change-owner/."]}
            )
        return attrs


class OwnerChangeSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())


class VehicleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    """Vehicles by plate; `?owner=` one customer's, `?q=` plate or VIN."""

    serializer_class = VehicleSerializer
    read_roles = CUSTOMER_VIEWERS
    write_roles = CUSTOMER_EDITORS

    def get_queryset(self):
        queryset = Vehicle.objects.select_related("owner").order_by("plate", "id")
        owner = int_param(self.request, "owner")
        if owner is not None:
            queryset = queryset.filter(owner_id=owner)
        query = (self.request.query_params.get("q") or "").strip().upper()
        if query:
            queryset = queryset.filter(Q(plate__contains=query) | Q(vin__contains=query))
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("owner", int, description="Only this customer's vehicles"),
            OpenApiParameter("q", str, description="Plate or VIN"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = services.vehicle_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("owner", None)
        serializer.instance = services.vehicle_update(
            vehicle=serializer.instance, actor=self.request.user, **data
        )

    @extend_schema(request=OwnerChangeSerializer, responses={200: VehicleSerializer})
    @action(detail=True, methods=["post"], url_path="change-owner")
    def change_owner(self, request, pk=None):
        vehicle = self.get_object()
        serializer = OwnerChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vehicle = services.vehicle_change_owner(
            vehicle=vehicle, new_owner=serializer.validated_data["owner"], actor=request.user
        )
        vehicle = Vehicle.objects.select_related("owner").get(pk=vehicle.pk)
        return Response(VehicleSerializer(vehicle).data, status=status.HTTP_200_OK)
