"""Jobs: dispatch, clock on, pause, clock off. Every move allowed works; every other is refused
with a clear message and changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dealership.due import KINDS
from dealership.errors import DomainError
from dealership.models import DueTask, TimelineEvent
from reception.models import Visit
from reception.states import HoldReason, VisitStatus
from workorders.selectors import order_in_force
from workshop import duties, services
from workshop.models import ClockEntry, Job
from workshop.selectors import clocked_hours_by_line
from workshop.states import JOB_STATES, SELF_CHECK_ITEMS, JobStatus, PauseReason

from .factories import make_signed_visit, make_technician, refusal_code

pytestmark = pytest.mark.django_db

J = JobStatus
V = VisitStatus
ALL_CHECKS = [key for key, _label in SELF_CHECK_ITEMS]


def _dispatch_one(*, job, technician, bay, actor):
    """Dispatch one job as the board does: the caller saw who had it (see `jobs_dispatch`)."""
    return services.jobs_dispatch(
        visit=job.visit,
        job_ids=[job.pk],
        technician=technician,
        bay=bay,
        actor=actor,
        expected={job.pk: job.technician_id},
    )


def _jobs(visit):
    services.jobs_materialise(visit_ids=[visit.pk])
    return list(Job.objects.filter(visit=visit).order_by("position"))


def _dispatch(visit, tech, bay, actor, jobs=None):
    jobs = jobs or _jobs(visit)
    return services.jobs_dispatch(
        visit=visit, job_ids=[j.pk for j in jobs], technician=tech, bay=bay, actor=actor
    )


def _snapshot(job):
    job = Job.objects.get(pk=job.pk)
    return (job.status, job.technician_id, job.bay_id, job.version, job.actual_hours)


# ---------------------------------------------------------------------------- materialise


def test_each_labour_line_of_the_signed_order_becomes_one_job_once():
    visit = make_signed_visit(jobs=3, hours="1.50")
    assert services.jobs_materialise() == 3
    assert services.jobs_materialise() == 0
    jobs = list(Job.objects.filter(visit=visit).order_by("position"))
    assert [j.position for j in jobs] == [1, 2, 3]
    assert all(j.status == J.WAITING and str(j.hours) == "1.50" for j in jobs)


def test_a_visit_not_signed_yet_has_no_jobs():
    make_signed_visit(status=V.CHECKED_IN)
    assert services.jobs_materialise() == 0


# ---------------------------------------------------------------------------- dispatch


def test_dispatching_the_whole_order_signs_for_the_car_and_starts_the_promise_watch(
    controller, tech, bay
):
    visit = make_signed_visit(jobs=2)
    jobs = _dispatch(visit, tech, bay, controller)

    visit.refresh_from_db()
    assert visit.status == V.DISPATCHED
    assert visit.handed_over_to == controller and visit.handed_over_at is not None
    assert {(j.status, j.technician_id, j.bay_id) for j in Job.objects.filter(visit=visit)} == {
        (J.DISPATCHED, tech.pk, bay.pk)
    }
    assert len(jobs) == 2
    assert DueTask.objects.filter(kind=duties.PROGRESS_CHECK, assigned_to=visit.advisor).exists()
    assert DueTask.objects.filter(kind=duties.PROMISE_CHECK, slot=duties.SAME_DAY).exists()
    assert TimelineEvent.objects.filter(kind="workshop.dispatched", subject_id=visit.pk).exists()


def test_one_job_can_go_to_one_technician_and_the_next_to_another(controller, bay):
    first, second = make_technician(), make_technician()
    visit = make_signed_visit(jobs=2)
    job_a, job_b = _jobs(visit)
    _dispatch_one(job=job_a, technician=first, bay=bay, actor=controller)
    _dispatch_one(job=job_b, technician=second, bay=None, actor=controller)
    assert Job.objects.get(pk=job_a.pk).technician == first
    assert Job.objects.get(pk=job_b.pk).technician == second


def test_a_second_controller_dispatching_the_same_job_is_refused_and_told_who(
    controller, make_staff, tech, bay
):
    other_controller = make_staff("workshop_controller")
    other_tech = make_technician()
    visit = make_signed_visit(jobs=1)
    (job,) = _jobs(visit)
    seen_by_both = Job.objects.get(pk=job.pk)

    _dispatch_one(job=seen_by_both, technician=tech, bay=bay, actor=controller)
    before = _snapshot(job)
    with pytest.raises(DomainError) as refused:
        _dispatch_one(job=seen_by_both, technician=other_tech, bay=None, actor=other_controller)

    message = refused.value.messages[0]
    assert "already dispatched" in message or "已由" in message
    assert str(controller) in message and tech.name in message
    assert _snapshot(job) == before


def test_a_controller_re_dispatches_a_job_not_started_when_they_saw_who_had_it(controller, bay):
    first, second = make_technician(), make_technician()
    visit = make_signed_visit(jobs=1)
    (job,) = _jobs(visit)
    _dispatch_one(job=job, technician=first, bay=bay, actor=controller)
    services.jobs_dispatch(
        visit=visit,
        job_ids=[job.pk],
        technician=second,
        bay=bay,
        actor=controller,
        expected={job.pk: first.pk},
    )
    assert Job.objects.get(pk=job.pk).technician == second


@pytest.mark.parametrize(
    "status", [V.CHECKED_IN, V.WORK_DONE, V.QC_PASSED, V.READY_FOR_PICKUP, V.CANCELLED]
)
def test_dispatch_is_refused_when_the_car_is_not_in_the_workshop(status, controller, tech):
    visit = make_signed_visit(jobs=1, status=V.ORDER_SIGNED)
    (job,) = _jobs(visit)
    Visit.objects.filter(pk=visit.pk).update(status=status)
    with pytest.raises(DomainError):
        _dispatch_one(job=job, technician=tech, bay=None, actor=controller)
    assert Job.objects.get(pk=job.pk).status == J.WAITING


def test_dispatch_needs_jobs_and_an_active_technician(controller, tech):
    visit = make_signed_visit(jobs=1)
    (job,) = _jobs(visit)
    with pytest.raises(DomainError):
        services.jobs_dispatch(visit=visit, job_ids=[], technician=tech, bay=None, actor=controller)
    tech.active = False
    tech.save()
    with pytest.raises(DomainError):
        _dispatch_one(job=job, technician=tech, bay=None, actor=controller)
    assert Job.objects.get(pk=job.pk).status == J.WAITING


# ---------------------------------------------------------------------------- every move


def _job_in(status, tech, bay):
    """A one-job visit whose job is in `status` (set directly: a test shortcut)."""
    visit_status = {
        J.WAITING: V.ORDER_SIGNED,
        J.DISPATCHED: V.DISPATCHED,
        J.DONE: V.WORK_DONE,
    }.get(status, V.IN_PROGRESS)
    visit = make_signed_visit(jobs=1, status=visit_status)
    (job,) = _jobs(visit)
    now = timezone.now()
    fields = {"status": status}
    if status not in (J.WAITING, J.PROPOSED):
        fields.update(technician=tech, bay=bay, dispatched_at=now)
    if status == J.IN_PROGRESS:
        fields.update(clocked_on_at=now - timedelta(minutes=30), started_at=now)
        ClockEntry.objects.create(job=job, technician=tech, started_at=fields["clocked_on_at"])
    if status == J.DONE:
        fields.update(finished_at=now, self_checked_at=now, self_check=ALL_CHECKS)
    Job.objects.filter(pk=job.pk).update(**fields)
    Visit.objects.filter(pk=visit.pk).update(handed_over_at=now)
    return Job.objects.get(pk=job.pk)


MOVES = {
    # service: (the statuses it moves a job from, the status it moves to)
    "dispatch": ({J.WAITING, J.DISPATCHED, J.PAUSED}, J.DISPATCHED),
    "clock_on": ({J.DISPATCHED, J.PAUSED}, J.IN_PROGRESS),
    "pause": ({J.IN_PROGRESS}, J.PAUSED),
    "clock_off": ({J.IN_PROGRESS}, J.DONE),
}


def _run(move, job, tech, controller, bay):
    if move == "dispatch":
        return services.jobs_dispatch(
            visit=job.visit,
            job_ids=[job.pk],
            technician=tech,
            bay=bay,
            actor=controller,
            expected={job.pk: job.technician_id},
        )
    if move == "clock_on":
        return services.job_clock_on(job=job, actor=tech.user)
    if move == "pause":
        return services.job_pause(job=job, actor=tech.user, reason=PauseReason.BREAK)
    return services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)


def test_the_services_stay_inside_the_job_table():
    for allowed_from, to in MOVES.values():
        for status in allowed_from:
            assert JOB_STATES.allows(status, to), (status, to)


@pytest.mark.parametrize("move", sorted(MOVES))
@pytest.mark.parametrize("status", list(J), ids=str)
def test_every_job_move_is_allowed_exactly_from_its_table_states(
    move, status, tech, controller, bay
):
    job = _job_in(status, tech, bay)
    allowed_from, to = MOVES[move]
    before = _snapshot(job)
    if status in allowed_from:
        _run(move, job, tech, controller, bay)
        assert Job.objects.get(pk=job.pk).status == to
    else:
        with pytest.raises(DomainError) as refused:
            _run(move, job, tech, controller, bay)
        assert refused.value.messages[0]
        assert _snapshot(job) == before


# ---------------------------------------------------------------------------- clocking


@pytest.fixture
def dispatched(controller, tech, bay):
    visit = make_signed_visit(jobs=2)
    _dispatch(visit, tech, bay, controller)
    return visit, list(Job.objects.filter(visit=visit).order_by("position"))


def test_clocking_on_starts_the_work_and_the_car_is_in_progress(dispatched, tech):
    visit, (job, _other) = dispatched
    services.job_clock_on(job=job, actor=tech.user)
    visit.refresh_from_db()
    assert visit.status == V.IN_PROGRESS and visit.work_started_at
    job.refresh_from_db()
    assert job.status == J.IN_PROGRESS and job.clocked_on_at and job.started_at
    assert ClockEntry.objects.filter(job=job, ended_at__isnull=True).count() == 1


def test_clocking_on_a_second_job_at_once_is_refused(dispatched, tech):
    _visit, (job, other) = dispatched
    services.job_clock_on(job=job, actor=tech.user)
    before = _snapshot(other)
    with pytest.raises(DomainError) as refused:
        services.job_clock_on(job=other, actor=tech.user)
    assert refusal_code(refused.value) == "busy"
    assert str(job) in refused.value.messages[0]
    assert _snapshot(other) == before
    assert ClockEntry.objects.filter(technician=tech, ended_at__isnull=True).count() == 1


def test_clocking_on_a_job_dispatched_to_someone_else_is_refused(dispatched):
    _visit, (job, _other) = dispatched
    stranger = make_technician()
    before = _snapshot(job)
    with pytest.raises(DomainError) as refused:
        services.job_clock_on(job=job, actor=stranger.user)
    assert refusal_code(refused.value) == "not_yours"
    assert _snapshot(job) == before
    assert not ClockEntry.objects.filter(technician=stranger).exists()


def test_clocking_on_a_job_not_dispatched_is_refused(tech):
    visit = make_signed_visit(jobs=1)
    (job,) = _jobs(visit)
    with pytest.raises(DomainError) as refused:
        services.job_clock_on(job=job, actor=tech.user)
    assert refusal_code(refused.value) == "not_yours"


def test_a_log_in_without_a_technician_cannot_clock(dispatched, controller):
    _visit, (job, _other) = dispatched
    with pytest.raises(DomainError) as refused:
        services.job_clock_on(job=job, actor=controller)
    assert refusal_code(refused.value) == "not_a_technician"


def test_pause_needs_a_reason_and_other_needs_words(dispatched, tech):
    _visit, (job, _other) = dispatched
    services.job_clock_on(job=job, actor=tech.user)
    with pytest.raises(DomainError):
        services.job_pause(job=job, actor=tech.user, reason="coffee")
    with pytest.raises(DomainError):
        services.job_pause(job=job, actor=tech.user, reason=PauseReason.OTHER)
    assert Job.objects.get(pk=job.pk).status == J.IN_PROGRESS


def test_pausing_for_parts_with_nothing_else_running_puts_the_car_on_hold(tech, controller, bay):
    visit = make_signed_visit(jobs=1)
    (job,) = _dispatch(visit, tech, bay, controller)
    services.job_clock_on(job=job, actor=tech.user)
    services.job_pause(job=job, actor=tech.user, reason=PauseReason.AWAITING_PARTS)
    visit.refresh_from_db()
    assert (visit.status, visit.hold_reason) == (V.ON_HOLD, HoldReason.AWAITING_PARTS)
    services.job_clock_on(job=job, actor=tech.user)
    visit.refresh_from_db()
    assert (visit.status, visit.hold_reason) == (V.IN_PROGRESS, "")


def test_a_break_does_not_put_the_car_on_hold(dispatched, tech):
    visit, (job, _other) = dispatched
    services.job_clock_on(job=job, actor=tech.user)
    services.job_pause(job=job, actor=tech.user, reason=PauseReason.BREAK)
    visit.refresh_from_db()
    assert visit.status == V.IN_PROGRESS
    assert Job.objects.get(pk=job.pk).pause_reason == PauseReason.BREAK


def test_clock_off_needs_every_self_check_item(dispatched, tech):
    _visit, (job, _other) = dispatched
    services.job_clock_on(job=job, actor=tech.user)
    with pytest.raises(DomainError) as refused:
        services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS[:-1])
    assert refusal_code(refused.value) == "self_check_incomplete"
    assert Job.objects.get(pk=job.pk).status == J.IN_PROGRESS
    assert ClockEntry.objects.get(job=job).ended_at is None


def test_actual_hours_add_up_the_stretches_and_the_last_job_done_means_work_done(dispatched, tech):
    visit, jobs = dispatched
    for job in jobs:
        services.job_clock_on(job=job, actor=tech.user)
        # 45 minutes of work before the pause, recorded on the open stretch.
        ClockEntry.objects.filter(job=job, ended_at__isnull=True).update(
            started_at=timezone.now() - timedelta(minutes=45)
        )
        services.job_pause(job=job, actor=tech.user, reason=PauseReason.BREAK)
        services.job_clock_on(job=job, actor=tech.user)
        services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)
    done = Job.objects.get(pk=jobs[0].pk)
    assert done.status == J.DONE and done.self_checked_at
    assert 0.74 <= float(done.actual_hours) <= 0.8
    assert ClockEntry.objects.filter(job=done).count() == 2
    visit.refresh_from_db()
    assert visit.status == V.WORK_DONE


def test_the_watch_kinds_are_registered():
    for kind in (
        duties.ADDITION_CALL,
        duties.ADDITION_LINK,
        duties.PROGRESS_CHECK,
        duties.PROMISE_CHECK,
        duties.PROMISE_ALERT,
        duties.PROMISE_NOTICE,
    ):
        assert kind in KINDS


def test_clocked_hours_are_offered_per_line_of_the_order_in_force(dispatched, tech):
    visit, (job, other) = dispatched
    services.job_clock_on(job=job, actor=tech.user)
    ClockEntry.objects.filter(job=job).update(started_at=timezone.now() - timedelta(minutes=90))
    services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)
    order = order_in_force(visit)
    hours = clocked_hours_by_line(order=order)
    lines = {line.position: line.pk for line in order.lines.all()}
    assert float(hours[lines[job.position]]) == pytest.approx(1.5, abs=0.02)
    assert hours[lines[other.position]] == 0
