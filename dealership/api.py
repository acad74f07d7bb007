"""The shared API base and the customers/vehicles endpoints.

Every app's API builds on these classes, so the whole API behaves alike:

- `RolePermission`: reads need one of `view.read_roles`, writes one of `view.write_roles`
  (the same role tuples the pages use; the administrator passes every check);
- `api_exception_handler`: a refused business action (`DomainError`, any Django
  `ValidationError`) becomes a 400 with the messages by field (`non_field_errors` when the
  message names none); every other error is `{"detail": "..."}`;
- `Pagination`: `?page=` and `?page_size=` (at most 200);
- `request_too_large`: a body over Django's request limits is a 413 (`{"detail": ...}`);
  `PhotoField`: one photo over the per-file limit is a 400 on its field, in the page's words;
- `ErrorDocumentingSchema` (the DEFAULT_SCHEMA_CLASS): every operation documents its
  400/401/403/404/405 answers, and a write with a body its 413, so the OpenAPI schema
  describes each response the API can give (414 from the web server too);
- `add_operation_links` (a spectacular postprocessing hook): OpenAPI links from the
  operations that give an object's id to those that take it (stateful fuzzing).

`ApiViewMixin` bundles these for a view or viewset.
"""

import base64
import binascii
import logging
import re

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    TooManyFieldsSent,
    ValidationError,
)
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from . import images, selectors, services
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


def request_too_large() -> Response:
    """The one answer to a body over Django's request limits (DATA_UPLOAD_MAX_MEMORY_SIZE,
    DATA_UPLOAD_MAX_NUMBER_FIELDS; files in a multipart body do not count): 413."""
    return Response(
        {
            "detail": gettext(
                "The request is too large (at most %(mb)s MB without files); "
                "send the photos as files (multipart)."
            )
            % {"mb": round(settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024), 1)}
        },
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def api_exception_handler(exc, context):
    """DRF's handler, plus Django's ValidationError/DomainError and a body that cannot be
    parsed as field messages (400: every 400 is `{field: [messages]}`), and
    a body over Django's request limits as 413 (`request_too_large`).

    Any other error is logged with its traceback and answered as a JSON 500
    (`{"detail": ...}`, no internals), so an API client always gets JSON.
    """
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, exceptions.ParseError):
        # A body that is not JSON (or not the form it says): a 400 like every other, its
        # message for the whole request.
        exc = exceptions.ValidationError({"non_field_errors": [str(exc.detail)]})
    elif isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    elif isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return request_too_large()
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
        "title": "FieldErrors",
        "description": "Messages by field (a list of texts; a nested object or list for the "
        "parts of a list or object field); `non_field_errors` for the whole request.",
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {}},
                {"type": "object", "additionalProperties": {}},
            ]
        },
    },
    description="Refused: the request or the business rule says why, by field.",
)
DETAIL = {
    "type": "object",
    "title": "ErrorDetail",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _detail(text: str) -> OpenApiResponse:
    return OpenApiResponse(response=DETAIL, description=text)


# The answers every operation can give: any request may carry a bad query parameter (400),
# come without a valid token (401), from a role without the right (403), for a page or id
# that is not there (404) or with another method (405).
COMMON_ERRORS = {
    "400": FIELD_ERRORS,
    "401": _detail("Not logged in (session or `Authorization: Token ...`)."),
    "403": _detail("Logged in, but the role may not use this endpoint or this object."),
    "404": _detail("No such object (or page of a list)."),
    "405": _detail("Method not allowed."),
    # Said by the web server in front (gunicorn: a request line over 4 KB), not by
    # the API, so its body is the server's page and is left undocumented.
    "414": OpenApiResponse(description="URI too long for the web server."),
}
# Only an operation that reads a body can find it too large (`request_too_large`) or in
# a media type it does not parse.
BODY_ERRORS = {
    "413": _detail(
        "The body is over the request limit (DATA_UPLOAD_MAX_MEMORY_SIZE, files excluded): "
        "send photos as files (multipart)."
    ),
    "415": _detail("The body's Content-Type is not one the operation takes."),
}


class ErrorDocumentingSchema(AutoSchema):
    """The default schema, plus the error answers every endpoint can give (the API's
    DEFAULT_SCHEMA_CLASS, so every view gets them). An answer the operation declares
    itself is kept as it is.

    Read-only choice fields may hold "" (a model field with blank=True, e.g. no hold
    reason), so their documented enum admits it.
    """

    def _is_list_view(self, serializer=None):
        # A viewset whose `list` answers one object (a week of the roster, the loans page's
        # three lists) says so with `list_answers_one_object = True`: no array, no paging.
        if getattr(self.view, "list_answers_one_object", False):
            return False
        return super()._is_list_view(serializer)

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
        errors = dict(COMMON_ERRORS)
        if self.method in WRITE_METHODS and self._get_request_body() is not None:
            errors.update(BODY_ERRORS)
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


# ----------------------------------------------------------- links between operations

ID_IN_PATH = "{id}/"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _collection_name(path: str) -> str | None:
    """The resource a path names: `visits` for /api/reception/visits/ and .../visits/{id}/."""
    head = path.split(ID_IN_PATH, 1)[0].rstrip("/")
    return head.rsplit("/", 1)[-1] or None


def _links_from(path: str, method: str, operation: dict) -> list[tuple[str, str, str]]:
    """(response code, resource name, where its id is) for each object `operation` names."""
    responses = operation.get("responses", {})
    found = []
    if ID_IN_PATH in path:
        code = "201" if "201" in responses else "200"
        if code in responses:
            found.append((code, _collection_name(path), "$request.path.id"))
        # A create under an object (POST .../visits/{id}/belongings/) names the new one too.
        tail = path.split(ID_IN_PATH, 1)[1].strip("/")
        if method == "post" and "201" in responses and tail and "/" not in tail:
            found.append(("201", tail, "$response.body#/id"))
        return found
    if method == "post" and "201" in responses:
        found.append(("201", _collection_name(path), "$response.body#/id"))
    elif method == "get" and "200" in responses:
        body = str(responses["200"].get("content", {}))
        if "#/components/schemas/Paginated" in body:  # a page: its first row
            found.append(("200", _collection_name(path), "$response.body#/results/0/id"))
    return found


def add_operation_links(result, generator, request, public):
    """Spectacular postprocessing hook: OpenAPI links from each operation that gives an
    object's id to the operations on that object (schemathesis's stateful phase follows them).

    - a create (POST on a collection, 201 with `id`) → every operation on `<name>/{id}/...`,
      in any app (a visit checked in at reception is the visit of /api/delivery/visits/{id}/);
    - a list (`results[0].id`) → the same operations, so a run also reaches existing rows;
    - an operation on `<name>/{id}/...` → the others on the same object (`$request.path.id`);
    - a create under an object (`visits/{id}/belongings/`) → the operations on the new one.
    """
    paths = result.get("paths", {})
    consumers: dict[str, list[str]] = {}
    for path, item in paths.items():
        if ID_IN_PATH not in path or path.count("{") != 1:
            continue
        for method, operation in item.items():
            if method in HTTP_METHODS and "operationId" in operation:
                consumers.setdefault(_collection_name(path), []).append(operation["operationId"])
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for code, name, source in _links_from(path, method, operation):
                for operation_id in consumers.get(name, []):
                    if operation_id == operation.get("operationId"):
                        continue
                    links = operation["responses"][code].setdefault("links", {})
                    links[operation_id] = {
                        "operationId": operation_id,
                        "parameters": {"id": source},
                    }
    return result


class ApiViewMixin:
    """Role permission, error format and pagination in one base (the error schema is
    every view's: REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"])."""

    permission_classes = [RolePermission]
    pagination_class = Pagination
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


# ------------------------------------------------------------------------- photos

_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]{1,40};base64,", re.IGNORECASE)


def photo_too_large(size: int) -> str:
    """The page's words for a photo over `images.MAX_PHOTO_BYTES` (`photo_reencode`)."""
    return gettext("A photo may be at most %(mb)s MB; this one is %(size).1f MB.") % {
        "mb": images.MAX_PHOTO_BYTES // (1024 * 1024),
        "size": size / (1024 * 1024),
    }


@extend_schema_field(
    {
        "type": "string",
        "description": "A photo (JPEG, PNG, WebP or GIF, at most 12 MB): a file part of a "
        "multipart/form-data request, or a data URL `data:image/jpeg;base64,...` in JSON.",
    }
)
class PhotoField(serializers.Field):
    """A photo as a file part or a data URL, for every API that takes photos.

    The rule on sizes is the API's one rule: one photo over `images.MAX_PHOTO_BYTES` is a
    400 on this field with the page's message; a whole body over the request limit is a
    413 (`request_too_large`). The service then re-encodes the photo
    (`images.photo_reencode`): type and pixel limits are the page's, with its messages.
    With `blank_is_none`, an empty text means no photo.
    """

    def __init__(self, *, blank_is_none: bool = False, **kwargs):
        self.blank_is_none = blank_is_none
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if hasattr(data, "read") and hasattr(data, "size"):
            if data.size > images.MAX_PHOTO_BYTES:
                raise serializers.ValidationError(photo_too_large(data.size))
            return data
        not_sent_right = gettext("Send the photo as a file or a data URL.")
        if not isinstance(data, str):
            raise serializers.ValidationError(not_sent_right)
        text = data.strip()
        if not text and self.blank_is_none:
            return None
        prefix = _DATA_URL.match(text)
        if prefix is None:
            raise serializers.ValidationError(not_sent_right)
        payload = text[prefix.end() :]
        size = len(payload) * 3 // 4  # before decoding: base64 is 4 characters for 3 bytes
        if size > images.MAX_PHOTO_BYTES:
            raise serializers.ValidationError(photo_too_large(size))
        try:
            raw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError(
                gettext("This file is not a photo (JPEG, PNG, WebP or GIF).")
            ) from exc
        if not raw:
            raise serializers.ValidationError(
                gettext("This file is not a photo (JPEG, PNG, WebP or GIF).")
            )
        return SimpleUploadedFile("photo", raw)

    def to_representation(self, value):
        return value.url if value else None


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
