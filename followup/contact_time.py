"""The time of day the customer chose for follow-up calls, read from what the desk wrote.

The work order keeps the customer's choice of follow-up channel and time (`followup_channel`,
`followup_time`, filled from the customer record and confirmed with them). The time is a
short free text ("上午", "下午三点后", "evening"); the words for the four windows of the day
are recognised, and the care call is moved to the start of the chosen window at or after its
due time. A text naming no window leaves the call where it was.
"""

import re
from datetime import datetime, time, timedelta

from django.utils import timezone

# key: (first hour, end hour, words that name it). Checked in this order: "中午" before "午".
WINDOWS = {
    "morning": (9, 12, ("上午", "早上", "早晨", "morning", "am")),
    "noon": (12, 14, ("中午", "午休", "noon", "lunch")),
    "afternoon": (14, 18, ("下午", "afternoon", "pm")),
    "evening": (18, 20, ("晚上", "傍晚", "下班后", "evening", "after work")),
}


def window_of(text: str) -> str | None:
    """The window the text names (the first one found), or None."""
    words = (text or "").lower()
    found = [
        (words.find(word), key)
        for key, (_first, _end, names) in WINDOWS.items()
        for word in names
        if word in words and (not word.isascii() or _whole_word(words, word))
    ]
    return min(found)[1] if found else None


def _whole_word(words: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", words) is not None


def at_preferred_time(due_at: datetime, text: str) -> datetime:
    """`due_at`, or the start of the chosen window at or after it (local time)."""
    key = window_of(text)
    if key is None:
        return due_at
    first, end, _names = WINDOWS[key]
    local = timezone.localtime(due_at)
    day = local.date()
    if local.hour >= end:
        day += timedelta(days=1)
    elif first <= local.hour < end:
        return due_at
    return timezone.make_aware(datetime.combine(day, time(first, 0)))
