"""How step 8 writes times for people: on the lists, the timeline and in refusals."""

from datetime import datetime

from django.utils import formats, timezone


def when_text(moment: datetime) -> str:
    """A moment in the store's time zone, to the minute: "2026-03-01 10:30"."""
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")
