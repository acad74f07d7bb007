"""The OpenAPI schema is a contract: every operation documents the errors it can give, the
documented error bodies are the ones the API sends, and links join the operations that
give an object's id to those that take it (issue 18.5)."""

import json

import jsonschema
import pytest
from rest_framework.test import APIClient

from dealership.tests.factories import CustomerFactory
from dealership.tokens import api_token_issue

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def schema(make_staff):
    client = APIClient()
    client.force_authenticate(make_staff("advisor"))
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolved(schema, node):
    """A documented body schema with its `$ref`s replaced by the components they name."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolved(schema, schema["components"]["schemas"][name])
        return {key: _resolved(schema, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(schema, value) for value in node]
    return node


def _assert_documented(schema, path, method, response):
    """The answer's status is documented for the operation and its body matches."""
    documented = schema["paths"][path][method]["responses"]
    code = str(response.status_code)
    assert code in documented, (path, method, code)
    body_schema = documented[code]["content"]["application/json"]["schema"]
    jsonschema.validate(response.json(), _resolved(schema, body_schema))


def test_every_operation_documents_its_errors(schema):
    operations = _operations(schema)
    assert len(operations) > 80
    for path, method, operation in operations:
        codes = set(operation["responses"])
        assert {"400", "401", "403", "405"} <= codes, (path, method)
        if "{" in path:
            assert "404" in codes, (path, method)
        if method != "get" and "requestBody" in operation:
            assert {"400", "413", "415"} <= codes, (path, method)
        for code in ("401", "403", "404", "413", "415"):
            if code in codes:
                body = operation["responses"][code]["content"]["application/json"]["schema"]
                assert body["required"] == ["detail"], (path, method, code)
    # A read sends no body, so it cannot be too large.
    assert "413" not in schema["paths"]["/api/customers/"]["get"]["responses"]
    # What an operation declares itself is kept: the create's 201 is the customer.
    created = schema["paths"]["/api/customers/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Customer"
    }


def test_the_documented_error_bodies_are_the_ones_the_api_sends(schema, make_staff, settings):
    customer = CustomerFactory()
    detail = "/api/customers/{id}/"
    anonymous = APIClient()
    assert anonymous.get("/api/customers/").status_code == 401
    _assert_documented(schema, "/api/customers/", "get", anonymous.get("/api/customers/"))
    bad_token = APIClient(HTTP_AUTHORIZATION="Token " + "0" * 40)
    refused = bad_token.post("/api/customers/", {}, format="json")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
    _assert_documented(schema, "/api/customers/", "post", refused)

    technician = APIClient()
    technician.force_authenticate(make_staff("technician"))
    wrong_role = technician.get(f"/api/customers/{customer.pk}/")
    assert wrong_role.status_code == 403
    _assert_documented(schema, detail, "get", wrong_role)

    advisor = APIClient()
    _user, token = api_token_issue(user=make_staff("advisor"), name="schema test")
    advisor.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    missing = advisor.get("/api/customers/999999999/")
    assert missing.status_code == 404
    _assert_documented(schema, detail, "get", missing)
    no_page = advisor.get("/api/customers/", {"page": 999})
    assert no_page.status_code == 404
    _assert_documented(schema, "/api/customers/", "get", no_page)

    invalid = advisor.post("/api/customers/", {"name": "", "mobile": "12"}, format="json")
    assert invalid.status_code == 400 and "name" in invalid.json()
    _assert_documented(schema, "/api/customers/", "post", invalid)
    not_json = advisor.post("/api/customers/", "\x00", content_type="application/json")
    assert not_json.status_code == 400 and list(not_json.json()) == ["non_field_errors"]
    _assert_documented(schema, "/api/customers/", "post", not_json)
    not_a_type = advisor.post("/api/customers/", "name=x", content_type="text/csv")
    assert not_a_type.status_code == 415
    _assert_documented(schema, "/api/customers/", "post", not_a_type)
    nul = advisor.get("/api/customers/", {"q": "a\x00b"})
    assert nul.status_code == 400
    _assert_documented(schema, "/api/customers/", "get", nul)

    not_allowed = advisor.delete(f"/api/customers/{customer.pk}/")
    assert not_allowed.status_code == 405
    _assert_documented(schema, detail, "get", not_allowed)

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 104_858  # 0.1 MB
    too_large = advisor.post(
        "/api/customers/", {"name": "x" * 200_000, "mobile": "13800138000"}, format="json"
    )
    assert too_large.status_code == 413
    # In the caller's language (the store's default: Simplified Chinese).
    assert too_large.json() == {
        "detail": "请求过大（不含文件时最多 0.1 MB）；请以文件方式（multipart）上传照片。"
    }
    _assert_documented(schema, "/api/customers/", "post", too_large)


def _links(schema, path, method, code):
    links = schema["paths"][path][method]["responses"][code]["links"]
    return {name: link["parameters"]["id"] for name, link in links.items()}


def test_links_join_each_create_and_list_to_the_operations_on_its_object(schema):
    visit_created = _links(schema, "/api/reception/visits/", "post", "201")
    assert visit_created["reception_visits_retrieve"] == "$response.body#/id"
    assert visit_created["reception_visits_walkaround_create"] == "$response.body#/id"
    # The same visit in the other apps' endpoints.
    assert visit_created["delivery_visits_ready_create"] == "$response.body#/id"
    assert visit_created["workshop_visits_promise_create"] == "$response.body#/id"
    booked = _links(schema, "/api/appointments/appointments/", "post", "201")
    assert booked["appointments_appointments_retrieve"] == "$response.body#/id"
    assert booked["appointments_appointments_cancel_create"] == "$response.body#/id"
    listed = _links(schema, "/api/appointments/appointments/", "get", "200")
    assert listed["appointments_appointments_cancel_create"] == "$response.body#/results/0/id"
    shown = _links(schema, "/api/appointments/appointments/{id}/", "get", "200")
    assert shown["appointments_appointments_cancel_create"] == "$request.path.id"
    assert "appointments_appointments_retrieve" not in shown
    # A create under an object leads to the new object's own operations.
    belonging = _links(schema, "/api/reception/visits/{id}/belongings/", "post", "201")
    assert belonging["reception_belongings_destroy"] == "$response.body#/id"
    every_target = {
        link["operationId"]
        for _path, _method, operation in _operations(schema)
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    }
    known = {operation["operationId"] for _p, _m, operation in _operations(schema)}
    assert every_target <= known
