"""Issue 15 item 12: `seed_demo` makes one consistent day in progress, relative to now."""

import io
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Appointment
from dealership.models import DueTask, Message
from reception.models import Visit
from workshop import selectors as workshop_selectors
from workshop.services import DISPATCHABLE_VISIT

pytestmark = pytest.mark.django_db(transaction=False)

LINK = re.compile(r"/(?:appointments|workshop)/[\w/-]+")


@pytest.fixture
def demo(django_capture_on_commit_callbacks):
    started = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    return started


def test_the_demo_store_is_one_consistent_day(demo):
    started = demo
    today = timezone.localdate()

    # Appointments today: one arrived (checked in from its booking), one no-show, some to come.
    todays = Appointment.objects.filter(start__date=today)
    assert todays.filter(status="arrived", visit__isnull=False).exists()
    assert todays.filter(status="no_show").count() == 1
    open_today = todays.filter(status__in=("booked", "confirmed"))
    assert open_today.exists()
    # The demo keeps today's bookings and calls inside today (none after 23:30 / 23:50):
    # in the store's last hour some are due already, by design.
    if timezone.localtime(started).hour < 23:
        assert open_today.filter(start__gte=started).exists()
        # Nothing was overdue the moment the store was made.
        overdue = DueTask.objects.filter(
            state__in=("pending", "claimed"), for_person=True, due_at__lt=started
        )
        assert not overdue.exists(), [(t.kind, t.due_at) for t in overdue]
    # Follow-up calls are due after their car left, and there are calls on today's lists.
    for task in DueTask.objects.filter(kind__startswith="followup.", subject_type__model="visit"):
        visit = Visit.objects.get(pk=task.subject_id)
        assert visit.delivered_at is not None and task.due_at >= visit.delivered_at, task.kind
    end_of_today = timezone.localtime(started).replace(hour=23, minute=59, second=59)
    assert DueTask.objects.filter(
        kind="followup.care_call", state="pending", due_at__lte=end_of_today
    ).exists()

    # Each card's actions fit its status: no dispatch once the car has passed QC.
    board = workshop_selectors.board()
    cards = [card for lane in board.lanes for card in lane.cards]
    assert {card.visit.status for card in cards} >= {"qc_passed", "in_progress"}
    for card in cards:
        if card.visit.status not in DISPATCHABLE_VISIT:
            assert card.dispatchable == [], card.visit.status

    # Every link in a message is absolute, on the configured site.
    bodies = list(Message.objects.values_list("body", flat=True))
    assert any(LINK.search(body) for body in bodies)
    for body in bodies:
        for link in LINK.finditer(body):
            assert body[: link.start()].endswith(settings.SITE_URL), body
