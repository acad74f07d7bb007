"""The advisor's final check (终检) against the order."""

import pytest

from dealership.errors import DomainError
from dealership.models import TimelineEvent, Vehicle
from delivery import services
from delivery.models import Delivery, OldPartsHandling
from delivery.tests.factories import qc_passed_visit, ready_visit, signed_visit

pytestmark = pytest.mark.django_db


def _check(visit, order, **overrides):
    data = {
        "visit": visit,
        "actor": visit.advisor,
        "checked_line_ids": [line.pk for line in order.lines.all()],
        "odometer_km": visit.odometer_km + 4,
        "exterior_matches": True,
        "no_tools_left": True,
        "settings_restored": True,
        "belongings_present": True,
        "old_parts_handling": OldPartsHandling.SHOWN_DISPOSED,
    }
    data.update(overrides)
    return services.final_check_record(**data)


def test_a_complete_check_is_recorded_with_the_odometer():
    visit, order = ready_visit()
    delivery = _check(visit, order, notes="试车4公里")
    stored = Delivery.objects.get(visit=visit)
    assert stored.final_check_done and stored.final_check_by == visit.advisor
    assert stored.delivery_odometer_km == visit.odometer_km + 4
    assert sorted(stored.checked_line_ids) == sorted(line.pk for line in order.lines.all())
    assert delivery.final_check_notes == "试车4公里"
    assert Vehicle.objects.get(pk=visit.vehicle_id).last_odometer_km == visit.odometer_km + 4
    assert TimelineEvent.objects.filter(kind="delivery.final_check", subject_id=visit.pk).exists()


def test_it_may_be_done_right_after_qc_before_the_car_is_marked_ready():
    visit, order = qc_passed_visit()
    assert _check(visit, order).final_check_done


def _refused(visit, order, match, **overrides):
    with pytest.raises(DomainError, match=match):
        _check(visit, order, **overrides)
    assert not Delivery.objects.filter(visit=visit, final_check_at__isnull=False).exists()


def test_a_job_not_checked_as_done_is_named_and_refused():
    visit, order = ready_visit()
    first, second = order.lines.order_by("position")
    _refused(visit, order, f"Not every job.*{second.name_en}", checked_line_ids=[first.pk])


def test_an_odometer_below_check_in_is_refused():
    visit, order = ready_visit()
    _refused(visit, order, "below", odometer_km=visit.odometer_km - 1)


@pytest.mark.parametrize(
    ("point", "match"),
    [
        ("exterior_matches", "walk-around"),
        ("no_tools_left", "tool"),
        ("settings_restored", "seats, clock and radio"),
        ("belongings_present", "belongings"),
    ],
)
def test_each_point_of_the_check_must_hold(point, match):
    visit, order = ready_visit()
    _refused(visit, order, match, **{point: False})


def test_parts_the_customer_keeps_must_be_handed_over():
    visit, order = ready_visit(keep_old_parts=True)
    _refused(visit, order, "keeps the replaced parts", old_parts_handling=OldPartsHandling.DISPOSED)
    assert _check(visit, order, old_parts_handling=OldPartsHandling.HANDED_OVER).final_check_done


def test_parts_the_customer_does_not_want_are_not_handed_over():
    visit, order = ready_visit(keep_old_parts=False)
    _refused(visit, order, "did not want", old_parts_handling=OldPartsHandling.HANDED_OVER)
    assert _check(visit, order, old_parts_handling=OldPartsHandling.DISPOSED).final_check_done


def test_the_check_before_qc_pass_is_refused():
    visit, order = signed_visit()
    _refused(visit, order, "quality control")
