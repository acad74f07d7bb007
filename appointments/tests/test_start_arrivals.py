"""The start page's arrivals read their own narrow rows (`selectors.arrival_cards`): they
must print what the board's day cards print, and a change shows at once. The board's day
reads its services by SQL kept per process: per day and per advisor filter."""

import pytest
from django.utils import timezone, translation

from appointments import selectors, services
from appointments.models import Appointment
from dealership.models import Customer

from .factories import days_ahead, local
from .test_views import book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_arrivals_are_the_days_cards_less_what_the_panel_does_not_print(
    advisor, workshop, language
):
    day = days_ahead(2)
    book(workshop, advisor, local(day, 9), waiting=True)
    cancelled = book(workshop, advisor, local(day, 10))
    services.appointment_cancel(appointment=cancelled, actor=advisor, reason="test")
    book(workshop, advisor, local(days_ahead(3), 9))  # another day
    with translation.override(language):
        cards = selectors.day_cards(day)
        arrivals = selectors.arrival_cards(day)
    assert len(arrivals) == len(cards) == 2
    for arrival, card in zip(arrivals, cards, strict=True):
        assert arrival == {key: card[key] for key in arrival}
    assert arrivals[0]["waiting"] and not arrivals[1]["waiting"]


def test_a_renamed_customer_and_a_cancelled_arrival_show_on_the_panel_at_once(
    client, advisor, workshop
):
    appointment = book(workshop, advisor, local(days_ahead(2), 9))
    # Moved to today by hand: booked today, a slot may already be past.
    today_at_noon = local(timezone.localdate(), 12)
    Appointment.objects.filter(pk=appointment.pk).update(start=today_at_noon)
    appointment.refresh_from_db()
    client.force_login(advisor)

    def panel():
        page = client.get("/").content.decode()
        return page.split('id="start-arrivals"')[1].split("</article>")[0]

    assert appointment.customer.name in panel()
    Customer.objects.filter(pk=appointment.customer_id).update(name="改名后的客户")
    services.appointment_cancel(appointment=appointment, actor=advisor, reason="test")
    changed = panel()
    assert "改名后的客户" in changed and "已取消" in changed


def test_the_days_cards_name_each_appointments_services_also_for_one_advisor(make_staff, workshop):
    mine, other = make_staff("advisor"), make_staff("advisor")
    day = days_ahead(4)
    a = book(workshop, mine, local(day, 9), advisor=mine)
    b = services.appointment_book(
        customer=a.vehicle.owner,
        vehicle=a.vehicle,
        start=local(day, 10),
        operations=[workshop["brakes"], workshop["inspect"]],
        actor=mine,
        advisor=other,
    )
    names = {op: workshop[op].name_zh for op in ("oil", "brakes", "inspect")}
    with translation.override("zh-hans"):
        every = {card["pk"]: card["services"] for card in selectors.day_cards(day)}
        only_mine = selectors._appointments_by_day(day, day, advisor=mine, days=1)[day]
    assert every == {a.pk: names["oil"], b.pk: f"{names['brakes']}, {names['inspect']}"}
    assert [(card["pk"], card["services"]) for card in only_mine] == [(a.pk, names["oil"])]
    # A line added to a booking shows on the next read (the SQL is kept, not the rows).
    Appointment.objects.get(pk=a.pk).lines.create(
        operation=workshop["inspect"], work_type="maintenance", hours=1, price=100
    )
    again = selectors._appointments_by_day(day, day, advisor=mine, days=1)[day]
    assert again[0]["services"] == f"{names['oil']}, {names['inspect']}"
