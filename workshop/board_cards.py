"""The job board's cards, rendered once and cached under a digest of what they show.

A board of 60-100 cars spent most of its time in the template engine rendering cards that
had not changed since the last poll (every 15 s, on every screen). Each card's template
(`workshop/_board_card.html`) reads only the flat values `card_values` gives it and the
page's values (`PAGE_NAMES`); the cache key is a digest of all of them, the language and
the templates (`dealership.fragments.templates_digest`), so a change to anything a card
shows, or to the card's template in a deploy, is a new key: nothing to invalidate, nothing
stale. The CSRF token, different for every visitor, and the technician and bay options, the
same in every card's dispatch form but changed by any dispatch, are put in after the cache.
The board's cards together are kept under one more key, a digest of all their values: most
polls find the board unchanged and read one entry, lane by lane, not one per card (and each
process keeps its last few boards' entries itself, under the same keys).
"""

import threading
from collections import OrderedDict

from django.core.cache import cache
from django.template import Context
from django.template.loader import get_template
from django.utils import translation
from django.utils.safestring import mark_safe

from dealership.fragments import digest, templates_digest

from .selectors import Board, Card

CARD_TEMPLATE = "workshop/_board_card.html"
# Cards of a busy day stay while screens poll them; a changed card is a new key anyway.
CACHE_SECONDS = 10 * 60
# What the card template may read besides `card` (checked by the card template's test).
PAGE_NAMES = (
    "labels",
    "can_dispatch",
    "can_qc",
    "filter_inputs",
    "technician_options",
    "bay_options",
)
# Put in after the cache: they stand in the cached HTML as marks (no database text holds a NUL).
SPLICED = ("csrf_token", "technician_options", "bay_options")


# The last boards' lanes this process showed, by their key: the screens polling a board that
# has not changed find them here, without a trip to the cache and unpickling some 150 kB.
# A change is a new key, as in the cache; the oldest board goes first.
KEPT_BOARDS = 8
_kept: OrderedDict[str, dict] = OrderedDict()
_kept_lock = threading.Lock()


def _kept_lanes(key: str) -> dict | None:
    with _kept_lock:
        lanes = _kept.get(key)
        if lanes is not None:
            _kept.move_to_end(key)
        return lanes


def _keep_lanes(key: str, lanes: dict) -> None:
    with _kept_lock:
        _kept[key] = lanes
        while len(_kept) > KEPT_BOARDS:
            _kept.popitem(last=False)


def _mark(name: str) -> str:
    return f"\x00{name}\x00"


def _job_values(job) -> dict:
    suggested = getattr(job, "suggested", None)
    return {
        "pk_text": job.pk_text,
        "status": job.status,
        "status_label": job.status_label,
        "tag_class": job.tag_class,
        "label": job.label,
        "hours_text": job.hours_text,
        "actual_hours": str(job.actual_hours),
        "technician_name": job.technician_name,
        "bay_code": job.bay_code,
        "expect_text": job.expect_text,
        "clock_flag_label": job.clock_flag_label,
        "offer": job.offer,
        "suggested_pk": getattr(job, "suggested_pk", ""),
        "suggested_name": suggested.name if suggested else "",
    }


def card_values(card: Card) -> dict:
    """Everything one card prints, as plain values (the card template reads nothing else)."""
    visit = card.visit
    jobs = {job.pk: _job_values(job) for job in card.jobs}
    return {
        "pk_text": card.pk_text,
        "classes": card.classes,
        "plate": card.plate,
        "walk_in": visit.is_walk_in,
        "waits": visit.customer_waits,
        "carry_over": visit.carry_over,
        "risk": card.risk,
        "model": visit.vehicle.model,
        "url": visit.board_url,
        "dispatch_url": visit.dispatch_url,
        "number": visit.number,
        "lane": card.lane,
        "status": visit.status,
        "status_label": card.status_label,
        "hold_label": visit.hold_label,
        "in_status_text": card.in_status_text,
        "express": card.express,
        "express_overdue": card.express_overdue,
        "since_check_in_text": card.since_check_in_text,
        "promised_text": card.promised_text,
        "hours_text": card.hours_text,
        "left_text": card.left_text,
        "rework_reason": visit.rework_reason,
        "rework_reason_short": card.rework_reason_short,
        "rework_count": str(visit.rework_count),
        "jobs": list(jobs.values()),
        "dispatchable": [jobs[job.pk] for job in card.dispatchable],
        "waiting": bool(card.waiting),
        "additions": [
            {"url": addition.url, "title": addition.title} for addition in card.pending_additions
        ],
        "inspect_url": card.inspect_url,
        "delivery_url": card.delivery_url,
    }


def cards_attach(board: Board, page: dict, csrf_token: str) -> None:
    """Set `lane.html` on every lane of the board, its cards' HTML one after the other: from
    the cache, else rendered and cached.

    `page`: the page's values the card template reads (`PAGE_NAMES`).

    The whole board's cards are kept under one key too (a digest of every card's values):
    between two changes, screens polling the board read one entry, not one per card.
    """
    cards = [card for lane in board.lanes for card in lane.cards]
    if not cards:
        return
    spliced = {
        "csrf_token": csrf_token,
        "technician_options": str(page["technician_options"]),
        "bay_options": str(page["bay_options"]),
    }
    page_values = {name: page[name] for name in PAGE_NAMES} | {
        name: _mark(name) for name in SPLICED
    }
    # The templates' digest too: after a deploy that changes the card, no old card shows.
    page_key = digest((templates_digest(), translation.get_language(), sorted(page_values.items())))
    values = [card_values(card) for card in cards]
    # Pickled, not JSON: the values are strings and flags, and JSON escapes every Chinese
    # character (0.9 against 0.3 ms for a board of 70 cards). Each value names its lane,
    # so the digest of them all covers which lane each card stands in, in which order.
    board_key = f"workshop:cards:{page_key}:{digest(values)}"
    lanes = _kept_lanes(board_key)
    if lanes is None:
        lanes = cache.get(board_key)
        if lanes is None:
            lanes = _lanes_html(board, page_key, page_values, values)
            cache.set(board_key, lanes, CACHE_SECONDS)
        _keep_lanes(board_key, lanes)
    for lane in board.lanes:
        html = lanes[lane.key]
        for name, text in spliced.items():
            html = html.replace(_mark(name), text)
        # The template escaped every value; the token is letters and digits, the options
        # were built with format_html.
        lane.html = mark_safe(html)  # noqa: S308


def _lanes_html(board: Board, page_key: str, page_values: dict, values: list[dict]) -> dict:
    """Each lane's cards as HTML with the marks of `SPLICED` in it, by lane key: each card
    from the cache, else rendered and cached (a board changes a few cards at a time)."""
    keys = [f"workshop:card:{page_key}:{digest(value)}" for value in values]
    found = cache.get_many(keys)
    missing = {}
    context = None
    htmls = []
    for key, value in zip(keys, values, strict=True):
        html = found.get(key)
        if html is None:
            if context is None:
                template = get_template(CARD_TEMPLATE).template
                context = Context(page_values)
            with context.push(card=value):
                html = missing[key] = str(template.render(context))
        htmls.append(html)
    if missing:
        cache.set_many(missing, CACHE_SECONDS)
    lanes = {}
    position = 0
    for lane in board.lanes:
        count = len(lane.cards)
        # As the board's template put each card: on its own line, under the lane's title.
        lanes[lane.key] = "".join(
            f"\n        {html}" for html in htmls[position : position + count]
        )
        position += count
    return lanes
