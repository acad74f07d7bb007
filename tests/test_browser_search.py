import pytest

from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_advisor_logs_in_and_finds_a_vehicle_by_plate_fragment(page, login, make_staff):
    owner = CustomerFactory(name="陈静", mobile="13612345678")
    VehicleFactory(owner=owner, plate="苏E7K2M9", vin="1M8GDM9AXKP042788", model="凯美瑞 Camry")
    VehicleFactory(plate="苏A12345")
    login(make_staff("advisor"))

    page.fill("#q", "7k2")  # lower case, a fragment: the advisor types what they see
    page.wait_for_selector("#vehicle-results")
    rows = page.locator("#vehicle-results tbody tr")
    assert rows.count() == 1
    assert "苏E7K2M9" in rows.first.inner_text()
    assert "陈静" in rows.first.inner_text()
    page.shot("search-zh")

    rows.first.locator("a").first.click()
    page.wait_for_url("**/vehicles/*/")
    assert "1M8GDM9AXKP042788" in page.content()
    assert page.locator("text=变更车主").count() >= 1  # the page is in Chinese
    page.shot("vehicle-zh")


@pytest.mark.language("en")
def test_the_language_switch_shows_the_page_in_english(page, login, make_staff):
    login(make_staff("advisor"))
    assert page.locator("text=Log out").count() == 1
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.locator("text=退出").count() == 1
