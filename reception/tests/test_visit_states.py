"""The visit's state table: every allowed move works, every other move is refused unchanged."""

import pytest

from dealership.errors import DomainError
from dealership.models import TimelineEvent
from reception.models import Visit, VisitTransition
from reception.services import visit_cancel, visit_transition
from reception.states import (
    ALLOWED,
    NOT_REPAIRED_MOVES,
    OPEN_STATUSES,
    TIMESTAMP_FIELD,
    HoldReason,
    NotRepairedReason,
    VisitStatus,
)
from reception.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

S = VisitStatus
ALLOWED_MOVES = [(src, dst) for src, targets in ALLOWED.items() for dst in sorted(targets)]
FORBIDDEN_MOVES = [(src, dst) for src in S for dst in S if dst not in ALLOWED[src]]


def _move_kwargs(to):
    if to == S.ON_HOLD:
        return {"hold_reason": HoldReason.AWAITING_PARTS}
    if to == S.CANCELLED:
        return {"reason": "客户临时取消"}
    return {}


def test_the_table_has_every_status_and_the_happy_path_is_connected():
    assert set(ALLOWED) == set(S)
    path = [
        S.CHECKED_IN,
        S.ORDER_SIGNED,
        S.DISPATCHED,
        S.IN_PROGRESS,
        S.ON_HOLD,
        S.IN_PROGRESS,
        S.WORK_DONE,
        S.QC_FAILED,
        S.REWORK,
        S.IN_PROGRESS,
        S.WORK_DONE,
        S.QC_PASSED,
        S.READY_FOR_PICKUP,
        S.SETTLED,
        S.DELIVERED,
        S.CLOSED,
    ]
    for src, dst in zip(path, path[1:], strict=False):
        assert dst in ALLOWED[src], (src, dst)
    assert {s for s in S if S.CANCELLED in ALLOWED[s]} == set(OPEN_STATUSES)


@pytest.mark.parametrize("move", ALLOWED_MOVES, ids=lambda m: f"{m[0]}->{m[1]}")
def test_every_allowed_move_writes_status_timestamp_history_and_timeline(move, make_staff):
    src, dst = move
    actor = make_staff("advisor")
    # The not-repaired exit is open only to a visit with that outcome recorded (below).
    outcome = NotRepairedReason.DECLINED if move in NOT_REPAIRED_MOVES else ""
    visit = VisitFactory(status=src, not_repaired_reason=outcome)
    version = visit.version

    moved = visit_transition(visit=visit, to=dst, actor=actor, **_move_kwargs(dst))

    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == dst == visit.status == moved.status
    assert stored.version == version + 1
    if dst in TIMESTAMP_FIELD:
        assert getattr(stored, TIMESTAMP_FIELD[dst]) is not None
    change = VisitTransition.objects.get(visit=visit)
    assert (change.from_status, change.to_status, change.actor) == (src, dst, actor)
    assert TimelineEvent.objects.filter(kind=f"visit.{dst}", subject_id=visit.pk).exists()
    assert stored.history.first().history_change_reason


@pytest.mark.parametrize("move", FORBIDDEN_MOVES, ids=lambda m: f"{m[0]}->{m[1]}")
def test_every_forbidden_move_is_refused_and_changes_nothing(move, make_staff):
    src, dst = move
    visit = VisitFactory(status=src)
    before = Visit.objects.filter(pk=visit.pk).values().get()

    with pytest.raises(DomainError) as error:
        visit_transition(visit=visit, to=dst, actor=make_staff("advisor"), **_move_kwargs(dst))

    assert "cannot move" in str(error.value.messages[0]) or "不能" in error.value.messages[0]
    assert Visit.objects.filter(pk=visit.pk).values().get() == before
    assert not VisitTransition.objects.exists()


def test_hold_needs_a_reason_and_leaving_it_clears_the_reason(make_staff):
    actor = make_staff("workshop_controller")
    visit = VisitFactory(status=S.IN_PROGRESS)
    with pytest.raises(DomainError):
        visit_transition(visit=visit, to=S.ON_HOLD, actor=actor)
    visit_transition(
        visit=visit, to=S.ON_HOLD, actor=actor, hold_reason=HoldReason.AWAITING_APPROVAL
    )
    assert (visit.hold_reason, visit.on_hold_since is not None) == ("awaiting_approval", True)
    visit_transition(visit=visit, to=S.IN_PROGRESS, actor=actor)
    assert (visit.hold_reason, visit.on_hold_since) == ("", None)


def test_work_started_keeps_the_first_time_and_qc_failure_counts_a_rework(make_staff):
    actor = make_staff("workshop_controller")
    visit = VisitFactory(status=S.DISPATCHED)
    visit_transition(visit=visit, to=S.IN_PROGRESS, actor=actor)
    first_start = visit.work_started_at
    for to in (S.WORK_DONE, S.QC_FAILED, S.REWORK, S.IN_PROGRESS):
        visit_transition(visit=visit, to=to, actor=actor)
    assert visit.work_started_at == first_start
    assert visit.rework_count == 1


def test_cancelling_needs_a_reason_and_frees_the_key_tag(make_staff):
    actor = make_staff("advisor")
    visit = VisitFactory(key_tag="K7")
    with pytest.raises(DomainError) as error:
        visit_cancel(visit=visit, actor=actor, reason="  ")
    assert error.value.field == "reason"
    visit_cancel(visit=visit, actor=actor, reason="客户改约下周")
    assert (visit.status, visit.cancel_reason) == (S.CANCELLED, "客户改约下周")
    VisitFactory(key_tag="K7")  # the tag can be used again


def test_a_stale_version_is_refused(make_staff):
    visit = VisitFactory()
    Visit.objects.filter(pk=visit.pk).update(version=5)
    with pytest.raises(DomainError) as error:
        visit_transition(
            visit=visit,
            to=S.CANCELLED,
            actor=make_staff("advisor"),
            reason="x",
            expected_version=4,
        )
    assert error.value.code == "stale"


def test_unknown_timestamp_names_are_a_programming_error(make_staff):
    with pytest.raises(TypeError):
        visit_transition(
            visit=VisitFactory(), to=S.ORDER_SIGNED, actor=make_staff("advisor"), status="closed"
        )


def test_a_status_line_written_in_chinese_reads_in_english_with_english_status_names(make_staff):
    from django.utils import translation

    actor = make_staff("advisor")
    visit = VisitFactory()
    with translation.override("zh-hans"):
        visit_cancel(visit=visit, actor=actor, reason="客户改约下周")
    line = TimelineEvent.objects.filter(subject_id=visit.pk, kind="visit.cancelled").get()
    with translation.override("en"):
        english = line.summary_text
    with translation.override("zh-hans"):
        chinese = line.summary_text
    assert english.startswith(f"{visit.number}: ")
    assert str(S.CANCELLED.label) not in chinese or english != chinese
    with translation.override("en"):
        assert str(S.CANCELLED.label) in english
    assert english.endswith("(客户改约下周)") and chinese.endswith("(客户改约下周)")
    assert english != chinese


@pytest.mark.parametrize("move", sorted(NOT_REPAIRED_MOVES))
def test_the_not_repaired_exit_is_refused_unchanged_without_that_outcome(move, make_staff):
    src, dst = move
    visit = VisitFactory(status=src)
    before = Visit.objects.filter(pk=visit.pk).values().get()

    with pytest.raises(DomainError) as error:
        visit_transition(visit=visit, to=dst, actor=make_staff("advisor"))

    assert error.value.code == "transition_not_allowed"
    assert Visit.objects.filter(pk=visit.pk).values().get() == before
    assert not VisitTransition.objects.exists()
