"""The home page's panels are rendered from `panel` alone and cached under a digest of
their values (dealership.start): a change shows at once, the same values give the same HTML."""

import pytest
from django.template.base import Node
from django.template.defaulttags import CsrfTokenNode
from django.template.loader import get_template

from dealership import start
from reception.tests.factories import VisitFactory
from workshop.models import Addition
from workshop.tests.test_board_cards import _names_read

pytestmark = pytest.mark.django_db


def _start_panels(client) -> str:
    return client.get("/").content.decode().split('<div class="start-panels">')[1]


@pytest.mark.parametrize("panel", start._PANELS.values(), ids=lambda panel: panel.key)
def test_a_panel_template_reads_only_its_panel(panel):
    found: set[str] = set()
    set_here: set[str] = set()
    nodelist = get_template(panel.template).template.nodelist
    assert not nodelist.get_nodes_by_type(CsrfTokenNode)  # the token is the visitor's own
    for node in nodelist:
        assert isinstance(node, Node)
        _names_read(node, found, set_here)
    assert "panel" in found
    assert found <= {"panel", "forloop", *set_here}, found - {"panel", "forloop", *set_here}


def test_a_changed_panel_shows_at_once_and_the_same_values_come_from_the_cache(
    client, make_staff, monkeypatch
):
    addition = Addition.objects.create(visit=VisitFactory(), title="更换雨刮片")
    client.force_login(make_staff("advisor"))
    first = _start_panels(client)
    assert "更换雨刮片" in first
    rendered = []
    render = start._render
    monkeypatch.setattr(start, "_render", lambda *args: rendered.append(args) or render(*args))
    assert _start_panels(client) == first
    assert rendered == []  # arrivals, cars on site, approvals waiting: all from the cache

    Addition.objects.filter(pk=addition.pk).update(title="更换刹车片")
    changed = _start_panels(client)
    assert "更换刹车片" in changed and "更换雨刮片" not in changed
    assert [panel.key for panel, _context in rendered] == ["approvals_waiting"]


def test_a_panel_of_objects_is_rendered_each_time_not_cached():
    assert start._plain({"rows": [{"plate": "苏E12345", "n": 1, "at": None}]})
    assert not start._plain({"rows": [object()]})
    assert not start._plain({"title": start.mark_safe("<b>")})  # escaped differently
