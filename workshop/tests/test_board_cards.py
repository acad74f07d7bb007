"""The board's cards are rendered once and cached under a digest of what they show
(workshop.board_cards): a change to a car shows at once, in each language and for each role,
and every visitor's forms carry their own CSRF token."""

import re
from datetime import timedelta

import pytest
from django.template import Variable
from django.template.base import FilterExpression, Node
from django.template.loader import get_template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dealership.models import Vehicle
from reception.models import Visit
from reception.states import HoldReason, VisitStatus
from workshop import board_cards, services

from .factories import make_signed_visit

pytestmark = pytest.mark.django_db

BOARD = reverse("workshop:board")
V = VisitStatus


def _card(page: str, visit) -> str:
    return page.split(f'id="visit-{visit.pk}"')[1].split("</article>")[0]


def _names_read(node, found: set[str], loop_names: set[str]) -> None:
    """The first part of every variable a template node reads (`card` of `card.plate`);
    `loop_names` gathers the names the template sets itself (loop variables, `as` names)."""
    loop_names.update(getattr(node, "loopvars", ()))
    if getattr(node, "asvar", None):
        loop_names.add(node.asvar)
    stack = list(vars(node).values())
    while stack:
        value = stack.pop()
        if isinstance(value, FilterExpression):
            if isinstance(value.var, Variable) and value.var.lookups:
                found.add(value.var.lookups[0])
            for _filter, args in value.filters:
                stack.extend(arg for _lookup, arg in args if isinstance(arg, Variable))
        elif isinstance(value, Variable) and value.lookups:
            found.add(value.lookups[0])
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif hasattr(value, "first") or hasattr(value, "value"):  # an {% if %} condition
            stack.extend(getattr(value, name, None) for name in ("first", "second", "value"))
    for child in getattr(node, "nodelist", None) or ():
        _names_read(child, found, loop_names)
    for _condition, nodelist in getattr(node, "conditions_nodelists", ()):
        for child in nodelist:
            _names_read(child, found, loop_names)
    for child in getattr(node, "nodelist_loop", None) or ():
        _names_read(child, found, loop_names)
    for child in getattr(node, "nodelist_empty", None) or ():
        _names_read(child, found, loop_names)


def test_the_card_template_reads_only_the_values_its_cache_key_covers():
    found: set[str] = set()
    loop_names: set[str] = set()
    for node in get_template(board_cards.CARD_TEMPLATE).template.nodelist:
        assert isinstance(node, Node)
        _names_read(node, found, loop_names)
    allowed = {"card", "csrf_token", "forloop", *board_cards.PAGE_NAMES, *loop_names}
    assert "card" in found and "labels" in found
    assert found <= allowed, found - allowed


def test_a_car_that_changes_shows_the_change_at_once(client, controller, tech, bay):
    client.force_login(controller)
    visit = make_signed_visit(jobs=1, promised_in=timedelta(hours=3))
    services.jobs_materialise()
    card = _card(client.get(BOARD).content.decode(), visit)
    assert f"@{bay.code}" not in card and 'class="job-waiting"' in card

    services.jobs_dispatch(
        visit=visit,
        job_ids=list(visit.jobs.values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    card = _card(client.get(BOARD).content.decode(), visit)
    assert tech.name in card and f"@{bay.code}" in card and 'class="job-dispatched"' in card

    promised = timezone.localtime(timezone.now() + timedelta(days=2)).replace(hour=17, minute=30)
    Visit.objects.filter(pk=visit.pk).update(promised_at=promised)
    Vehicle.objects.filter(pk=visit.vehicle_id).update(plate="沪Z99999")
    card = _card(client.get(BOARD).content.decode(), visit)
    assert f"{promised:%m-%d} 17:30" in card and "沪Z99999" in card


def test_a_deploy_that_changes_the_card_shows_no_old_card(client, controller, deploy_template):
    client.force_login(controller)
    visit = make_signed_visit(jobs=1)
    assert "data-deployed" not in _card(client.get(BOARD).content.decode(), visit)
    card_id = 'id="visit-{{ card.pk_text }}"'
    deploy_template(board_cards.CARD_TEMPLATE, card_id, f"{card_id} data-deployed")
    assert "data-deployed" in _card(client.get(BOARD).content.decode(), visit)


def test_the_cached_card_follows_the_language(client, controller):
    client.force_login(controller)
    visit = make_signed_visit(jobs=1)
    services.jobs_materialise()
    chinese = _card(client.get(BOARD).content.decode(), visit)
    client.cookies["django_language"] = "en"
    english = _card(client.get(BOARD).content.decode(), visit)
    assert "Promised" in english and "Dispatch" in english
    assert "Promised" not in chinese and "Dispatch" not in chinese


def test_the_cached_card_follows_the_role(client, controller, make_staff):
    dispatching = make_signed_visit(jobs=1)
    done = make_signed_visit(jobs=1, status=V.WORK_DONE)
    services.jobs_materialise()
    client.force_login(controller)
    page = client.get(BOARD).content.decode()
    assert '<details class="dispatch">' in _card(page, dispatching)
    assert reverse("workshop:qc_inspect", args=[done.pk]) in _card(page, done)

    client.force_login(make_staff("advisor"))
    page = client.get(BOARD).content.decode()
    assert '<details class="dispatch">' not in _card(page, dispatching)
    assert reverse("workshop:qc_inspect", args=[done.pk]) not in _card(page, done)


def test_each_visitor_dispatches_from_a_cached_card_with_their_own_token(make_staff, tech, bay):
    visit = make_signed_visit(jobs=1)
    services.jobs_materialise()
    job = visit.jobs.get()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(make_staff("workshop_controller"))
    second.force_login(make_staff("workshop_controller"))
    first.get(BOARD)  # renders and caches the card
    card = _card(second.get(BOARD).content.decode(), visit)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', card).group(1)
    response = second.post(
        reverse("workshop:dispatch", args=[visit.pk]),
        {
            "csrfmiddlewaretoken": token,
            "jobs": [job.pk],
            f"expect-{job.pk}": "",
            "technician": tech.pk,
            "bay": bay.pk,
        },
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.technician == tech


def test_a_dispatch_shows_the_new_load_in_every_cached_cards_technician_list(
    client, controller, tech, bay
):
    client.force_login(controller)
    dispatched, other = make_signed_visit(jobs=1), make_signed_visit(jobs=1)
    services.jobs_materialise()
    before = _card(client.get(BOARD).content.decode(), other)
    assert f"{tech.name} · 0.0/8.0 h" in before
    services.jobs_dispatch(
        visit=dispatched,
        job_ids=list(dispatched.jobs.values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    after = _card(client.get(BOARD).content.decode(), other)
    assert f"{tech.name} · 1.0/8.0 h" in after and "0.0/8.0 h" not in after


def _lane(page: str, key: str) -> str:
    return page.split(f'id="lane-{key}"')[1].split("</section>")[0]


def test_a_car_that_moves_lane_shows_in_its_new_lane_at_once(client, controller):
    """The whole board's cards are kept under one key too: an unchanged board is served from
    it, a card that changes lane is a new board."""
    client.force_login(controller)
    staying, moving = make_signed_visit(jobs=1), make_signed_visit(jobs=1)
    services.jobs_materialise()
    for _poll in range(2):  # the second poll finds the board kept
        waiting = _lane(client.get(BOARD).content.decode(), "waiting")
        assert f'id="visit-{staying.pk}"' in waiting and f'id="visit-{moving.pk}"' in waiting

    Visit.objects.filter(pk=moving.pk).update(
        status=V.ON_HOLD, hold_reason=HoldReason.AWAITING_PARTS
    )
    page = client.get(BOARD).content.decode()
    assert f'id="visit-{moving.pk}"' not in _lane(page, "waiting")
    assert f'id="visit-{staying.pk}"' in _lane(page, "waiting")
    assert f'id="visit-{moving.pk}"' in _lane(page, "on_hold")


def test_a_process_keeps_only_its_last_boards():
    for number in range(board_cards.KEPT_BOARDS + 3):
        board_cards._keep_lanes(f"test-board-{number}", {"waiting": str(number)})
    last = board_cards.KEPT_BOARDS + 2
    assert board_cards._kept_lanes(f"test-board-{last}") == {"waiting": str(last)}
    assert board_cards._kept_lanes("test-board-0") is None
    assert len(board_cards._kept) == board_cards.KEPT_BOARDS
