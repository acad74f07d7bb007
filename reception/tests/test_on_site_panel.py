"""The start page's cars-on-site panel reads its own narrow rows (`on_site_panel_rows`): they
must print what the cars-on-site page's rows print, and a change shows at once."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from dealership.models import Customer
from reception import selectors
from reception.models import Visit
from reception.states import VisitStatus

from .factories import VisitFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


def _panel(client) -> str:
    page = client.get("/").content.decode()
    return page.split('id="start-on-site"')[1].split("</article>")[0]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_panel_rows_are_the_pages_rows_less_what_the_panel_does_not_print(language):
    VisitFactory(promised_at=timezone.now() + timedelta(hours=3), vehicle__plate="苏EDA12345")
    VisitFactory(status=VisitStatus.ORDER_SIGNED, vehicle__plate="")
    VisitFactory(status=VisitStatus.DELIVERED)  # not on site
    with translation.override(language):
        page_rows = selectors.on_site_rows()
        panel_rows = selectors.on_site_panel_rows()
    assert len(panel_rows) == len(page_rows) == 2
    for panel_row, page_row in zip(panel_rows, page_rows, strict=True):
        assert panel_row == {key: page_row[key] for key in panel_row}
    assert panel_rows[0]["promised_text"] or panel_rows[1]["promised_text"]


def test_a_new_promised_time_and_a_renamed_customer_show_on_the_panel_at_once(advisor_client):
    visit = VisitFactory(promised_at=timezone.now() + timedelta(hours=3))
    first = _panel(advisor_client)
    assert visit.customer.name in first
    later = visit.promised_at + timedelta(days=1, hours=2, minutes=7)
    Visit.objects.filter(pk=visit.pk).update(promised_at=later)
    Customer.objects.filter(pk=visit.customer_id).update(name="改名后的客户")
    changed = _panel(advisor_client)
    assert f"{timezone.localtime(later):%m-%d %H:%M}" in changed
    assert "改名后的客户" in changed
