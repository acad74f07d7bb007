"""Help at the desk: the advisor asks for a technician, the board shows it until answered."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dealership.errors import DomainError
from dealership.models import TimelineEvent
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory
from workshop import desk_help, selectors
from workshop.models import DeskCall

from .factories import make_technician

pytestmark = pytest.mark.django_db

BOARD = reverse("workshop:board")


def _code(error) -> str:
    return error.value.error_list[0].code


def test_asking_puts_the_request_on_the_board_with_its_waiting_minutes(make_staff):
    visit = VisitFactory()
    call = desk_help.desk_call_ask(visit=visit, actor=visit.advisor, note="异响需要技师听")
    DeskCall.objects.filter(pk=call.pk).update(asked_at=timezone.now() - timedelta(minutes=7))
    board = selectors.board()
    assert [(c.pk, c.waiting_minutes) for c in board.desk_calls] == [(call.pk, 7)]
    assert TimelineEvent.objects.filter(kind="workshop.desk_call_asked").count() == 1


def test_a_second_request_for_the_same_car_is_refused_while_one_is_open():
    visit = VisitFactory()
    desk_help.desk_call_ask(visit=visit, actor=visit.advisor)
    with pytest.raises(DomainError) as error:
        desk_help.desk_call_ask(visit=visit, actor=visit.advisor)
    assert _code(error) == "already_asked"
    assert DeskCall.objects.count() == 1


def test_a_car_that_has_left_cannot_call_a_technician_and_a_long_note_is_refused():
    gone = VisitFactory(status=VisitStatus.DELIVERED)
    with pytest.raises(DomainError) as error:
        desk_help.desk_call_ask(visit=gone, actor=gone.advisor)
    assert _code(error) == "visit_gone"
    visit = VisitFactory()
    with pytest.raises(DomainError) as error:
        desk_help.desk_call_ask(visit=visit, actor=visit.advisor, note="长" * 201)
    assert error.value.error_dict["note"]
    assert not DeskCall.objects.exists()


def test_the_controller_answers_by_naming_the_technician_and_the_request_leaves_the_board(
    make_staff,
):
    controller = make_staff("workshop_controller")
    tech = make_technician()
    visit = VisitFactory()
    call = desk_help.desk_call_ask(visit=visit, actor=visit.advisor)
    answered = desk_help.desk_call_answer(call=call, technician=tech, actor=controller)
    assert answered.technician == tech and answered.answered_by == controller
    assert selectors.board().desk_calls == []
    with pytest.raises(DomainError) as error:
        desk_help.desk_call_answer(call=call, technician=make_technician(), actor=controller)
    assert _code(error) == "already_answered"
    answered.refresh_from_db()
    assert answered.technician == tech
    # Answered: the advisor may ask again for the same car.
    assert desk_help.desk_call_ask(visit=visit, actor=visit.advisor).is_open


@pytest.mark.django_db(transaction=True)
def test_two_advisors_asking_at_once_make_one_request(require_postgres, role_groups):
    """A race of two connections: PostgreSQL only (the in-memory SQLite test database locks
    whole tables and answers the second at once with an error)."""
    visit = VisitFactory()
    barrier = threading.Barrier(2)
    outcomes = []

    def ask():
        try:
            barrier.wait()
            desk_help.desk_call_ask(visit=visit, actor=visit.advisor)
            outcomes.append("asked")
        except DomainError as error:
            outcomes.append(error.error_list[0].code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_asked", "asked"]
    assert DeskCall.objects.filter(visit=visit).count() == 1


def test_the_advisor_asks_from_the_visit_page_and_the_controller_answers_on_the_board(
    client, make_staff
):
    advisor = make_staff("advisor")
    controller = make_staff("workshop_controller")
    tech = make_technician()
    visit = VisitFactory(advisor=advisor)
    client.force_login(advisor)
    page = client.get(visit.get_absolute_url()).content.decode()
    assert "请技师到前台" in page
    response = client.post(
        reverse("workshop:desk_call_ask", args=[visit.pk]),
        {"note": "客户想听异响", "next": visit.get_absolute_url()},
    )
    assert response.status_code == 302 and response.url == visit.get_absolute_url()
    page = client.get(visit.get_absolute_url()).content.decode()
    assert "等待车间主管" in page
    client.force_login(controller)
    board = client.get(BOARD).content.decode()
    call = DeskCall.objects.get()
    assert f'id="desk-call-{call.pk}"' in board and "客户想听异响" in board
    assert "已等待 0 分钟" in board
    shown = board.split(f'id="desk-call-{call.pk}"')[1].split("</form>")[0]
    asker = advisor.get_full_name() or advisor.username
    assert visit.vehicle.plate in shown and visit.number in shown and asker in shown
    client.post(reverse("workshop:desk_call_answer", args=[call.pk]), {"technician": tech.pk})
    assert f'id="desk-call-{call.pk}"' not in client.get(BOARD).content.decode()
    client.force_login(advisor)
    assert tech.name in client.get(visit.get_absolute_url()).content.decode()


def test_a_bad_answer_is_refused_with_a_message_and_changes_nothing(client, make_staff):
    visit = VisitFactory()
    call = desk_help.desk_call_ask(visit=visit, actor=visit.advisor)
    client.force_login(make_staff("workshop_controller"))
    response = client.post(
        reverse("workshop:desk_call_answer", args=[call.pk]), {"technician": "x" * 50}
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.is_open
    page = client.get(BOARD).content.decode()
    assert "技师" in page and f'id="desk-call-{call.pk}"' in page


def test_the_board_query_count_does_not_grow_with_desk_requests(client, make_staff):
    client.force_login(make_staff("workshop_controller"))
    desk_help.desk_call_ask(visit=VisitFactory(), actor=make_staff("advisor"))
    client.get(BOARD)  # warm the rule cache and content types
    with CaptureQueriesContext(connection) as one:
        client.get(BOARD)
    for _ in range(8):
        desk_help.desk_call_ask(visit=VisitFactory(), actor=make_staff("advisor"))
    with CaptureQueriesContext(connection) as nine:
        page = client.get(BOARD).content.decode()
    assert page.count('class="desk-call"') == 9
    assert len(nine.captured_queries) == len(one.captured_queries)


def test_the_boards_desk_calls_print_without_a_query_more(django_assert_num_queries):
    visit = VisitFactory()
    desk_help.desk_call_ask(visit=visit, actor=visit.advisor)
    with django_assert_num_queries(1):
        (call,) = selectors.open_desk_calls()
        shown = (call.plate, call.vin, call.number, call.asker, call.note, call.asked_at)
    assert shown[:3] == (visit.vehicle.plate, visit.vehicle.vin, visit.number)
    assert shown[3] == (visit.advisor.get_full_name() or visit.advisor.username)


def test_a_call_whose_asker_was_deleted_shows_the_car_without_a_name(client, make_staff):
    visit = VisitFactory()
    call = desk_help.desk_call_ask(visit=visit, actor=visit.advisor)
    DeskCall.objects.filter(pk=call.pk).update(asked_by=None)
    (shown,) = selectors.open_desk_calls()
    assert (shown.number, shown.asker) == (visit.number, "")
    client.force_login(make_staff("workshop_controller"))
    page = client.get(BOARD).content.decode()
    assert f'id="desk-call-{call.pk}"' in page and visit.number in page
