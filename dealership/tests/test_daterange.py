"""`local_text` prints the lists' two patterns without strftime: the same digits."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from dealership.daterange import clock_text, local_text


@pytest.mark.parametrize("pattern", ["%m-%d %H:%M", "%H:%M", "%Y-%m-%d", "%d.%m. %H:%M:%S"])
def test_local_text_prints_as_strftime_in_the_current_time_zone(pattern):
    start = datetime(2026, 1, 1, 15, 4, 5, tzinfo=UTC)  # 01-01 23:04 in Beijing
    for hours in range(0, 24 * 400, 37):
        moment = start + timedelta(hours=hours, minutes=hours % 60)
        expected = timezone.localtime(moment).strftime(pattern)
        assert local_text(moment, pattern) == expected
        assert local_text(moment, pattern, tz=timezone.get_current_timezone()) == expected
    with timezone.override("Europe/Berlin"):
        assert local_text(start, "%m-%d %H:%M") == "01-01 16:04"
    assert local_text(start, "%m-%d %H:%M") == "01-01 23:04"


def test_local_text_of_nothing_is_empty_and_a_naive_moment_is_refused():
    assert local_text(None) == "" and local_text(None, "%H:%M") == ""
    with pytest.raises(ValueError):
        local_text(datetime(2026, 1, 1, 9, 5))


def test_clock_text_pads_hour_and_minute():
    assert clock_text(datetime(2026, 1, 1, 9, 5)) == "09:05"
    assert clock_text(datetime(2026, 1, 1, 23, 59)) == "23:59"
