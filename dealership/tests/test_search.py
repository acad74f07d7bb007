import pytest
from django.urls import reverse

from dealership.selectors import search
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    zhang = CustomerFactory(name="张伟", mobile="13812345678")
    li = CustomerFactory(name="李娜", mobile="13987654321")
    return {
        "zhang": zhang,
        "li": li,
        "corolla": VehicleFactory(owner=zhang, plate="苏E12345", vin="1M8GDM9AXKP042788"),
        "camry": VehicleFactory(owner=li, plate="苏AD67890", vin="11111111111111111"),
    }


@pytest.mark.parametrize(
    ("query", "expected_vehicle"),
    [
        ("E123", "corolla"),
        ("e123", "corolla"),
        ("苏e·123", "corolla"),
        ("KP0427", "corolla"),
        ("D678", "camry"),
    ],
)
def test_vehicle_found_by_plate_or_vin_fragment(fleet, query, expected_vehicle):
    assert search(query).vehicles == [fleet[expected_vehicle]]


@pytest.mark.parametrize(
    ("query", "expected_customer"),
    [("2345678", "zhang"), ("138 1234", "zhang"), ("李娜", "li"), ("张伟", "zhang")],
)
def test_customer_found_by_phone_or_name_fragment(fleet, query, expected_customer):
    assert search(query).customers == [fleet[expected_customer]]


def test_a_name_fragment_ignores_case_and_one_without_case_is_matched_as_it_is():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    wang = CustomerFactory(name="Wang Fang", mobile="13700001111")
    guest = CustomerFactory(name="客户2041", mobile="13600002222")
    assert search("wang f").customers == [wang]
    with CaptureQueriesContext(connection) as queries:
        assert search("户204").customers == [guest]
    names = [
        q["sql"] for q in queries.captured_queries if '"dealership_customer"."name"' in q["sql"]
    ]
    assert names and not any("UPPER(" in sql for sql in names)


def test_one_character_query_asks_for_more():
    result = search("苏")
    assert result.too_short and result.empty


def test_search_page_query_count_does_not_grow_with_matches(
    advisor_client, django_assert_max_num_queries
):
    for i in range(40):
        customer = CustomerFactory(name=f"测试客户{i}")
        VehicleFactory(owner=customer)
    # session, user, groups, store rules, vehicles, customers, prefetch of their vehicles
    with django_assert_max_num_queries(8):
        response = advisor_client.get(reverse("search"), {"q": "测试客户"})
    assert response.status_code == 200
    assert response.content.decode().count("测试客户") >= 30


def test_htmx_search_returns_only_the_results_fragment(advisor_client, fleet):
    response = advisor_client.get(reverse("search"), {"q": "E123"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "苏E12345" in html
    assert "<html" not in html


@pytest.mark.parametrize("role", ["advisor", "customer_care", "cashier"])
@pytest.mark.parametrize(
    "query", ["E123", "1", "138 1234", "李娜", "苏", "1111", "nothing", "  张伟 "]
)
def test_the_page_rows_are_the_matches_of_search_as_the_viewer_may_see_them(fleet, role, query):
    from django.contrib.auth.models import Group

    from dealership.selectors import search_rows
    from dealership.tests.factories import UserFactory
    from dealership.visibility import can_search_by_phone, shown

    VehicleFactory(owner=fleet["li"], plate=None, vin="22222222222222222")  # no plate yet
    fleet["li"].company = "李氏贸易"
    fleet["li"].save()
    viewer = UserFactory()
    viewer.groups.add(Group.objects.get_or_create(name=role)[0])
    by_phone = can_search_by_phone(viewer)
    result = search(query, by_phone=by_phone)
    rows = search_rows(query, viewer, by_phone=by_phone)
    assert (rows["query"], rows["too_short"], rows["empty"], rows["truncated"]) == (
        result.query,
        result.too_short,
        result.empty,
        result.truncated,
    )
    assert [
        (v["url"], v["plate"], v["vin"], v["owner_name"], v["owner_mobile"])
        for v in rows["vehicles"]
    ] == [
        (
            reverse("vehicle_detail", args=[v.pk]),
            v.plate,
            v.vin,
            v.owner.name,
            shown(viewer, "mobile", v.owner.mobile),
        )
        for v in result.vehicles
    ]
    assert [
        (c["url"], c["name"], c["company"], c["mobile"], [v["plate"] for v in c["vehicles"]])
        for c in rows["customers"]
    ] == [
        (
            reverse("customer_detail", args=[c.pk]),
            c.name,
            shown(viewer, "company", c.company or ""),
            shown(viewer, "mobile", c.mobile),
            [v.plate for v in c.vehicles.all()],
        )
        for c in result.customers
    ]
