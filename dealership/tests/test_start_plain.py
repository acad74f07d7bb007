"""The start page's check that a panel's context is plain values (`start._plain`) walks
nested containers without recursion: any non-plain value anywhere makes it not plain."""

from collections import OrderedDict, defaultdict
from datetime import date, datetime, time
from decimal import Decimal

from django.utils.functional import lazy

from dealership import start


def test_nested_plain_values_are_plain():
    row = {"n": 1, "f": 1.5, "d": Decimal("2.50"), "on": date(2026, 1, 1), "flag": True}
    row |= {"at": datetime(2026, 1, 1, 9), "clock": time(9), "none": None, "text": "苏E"}
    assert start._plain({"rows": [row, (row, [row, []]), OrderedDict(a=[(1, "x")])]})
    assert start._plain({}) and start._plain([]) and start._plain("x")


def test_a_value_that_is_not_plain_anywhere_makes_the_context_not_plain():
    deep = {"rows": [{"a": [1, (2, {"b": [3, {"c": None}]})]}]}
    assert start._plain(deep)
    for odd in (object(), lazy(str, str)("a lazy text"), start.mark_safe("<b>"), {1, 2}, b"x"):
        deep["rows"][0]["a"][1][1]["b"][1]["c"] = odd
        assert not start._plain(deep), odd
    assert not start._plain({"rows": [{1: "key not text"}]})
    assert not start._plain({("a",): 1})


def test_a_plain_context_that_does_not_pickle_still_gets_a_key_of_its_values():
    panel = start.StartPanel(key="k", template="t.html", roles=(), context=dict, order=1)
    rows = defaultdict(lambda: 0, {"n": 1})  # plain values, but the lambda does not pickle
    assert start._plain({"rows": rows})
    key = start._panel_key(panel, {"rows": rows})  # by repr, as before: no error
    assert key == start._panel_key(panel, {"rows": rows})
    rows["n"] = 2
    assert key != start._panel_key(panel, {"rows": rows})
    one, two = ({"rows": {"n": n}} for n in (1, 2))
    assert start._panel_key(panel, one) != start._panel_key(panel, two)
