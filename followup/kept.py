"""The call lists' queries compiled once per process, then only sent with each page's values.

The call lists and their tab counts are read on every poll of customer care's pages, and
building and compiling their querysets cost the process several times what PostgreSQL spends
answering them (about 1.5 ms of CPU a query against 0.4 ms of answer). The SQL text depends
only on the builder and its `fixed` arguments (the list's kinds, the viewer's roles, a
limit), so the builder is compiled once with stand-ins for the values that change from
page to page (a user's or a row's id, tonight's end, the moment of the request), the places
where the stand-ins appear among the parameters are noted, and each page sends the same SQL
with its own values.

As `dealership.compiled` (which takes ids only), but a stand-in may also be a moment: a
moment is sent as Django would send it (`DateTimeField.get_db_prep_value`: as it is to
PostgreSQL, as UTC text to SQLite). Rows come back as `.values()` gives them, with Django's
converters applied. A builder that does not keep its stand-ins as plain parameters runs as
the queryset.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.db import connection, models
from django.db.models import QuerySet

Builder = Callable[..., QuerySet]

# Stand-ins, one per argument (plus its position): an id column takes the integer as it is
# (within a 32-bit key); the moment is one no row and no constant of a builder holds.
STAND_IN_ID = 987_654_300
STAND_IN_MOMENT = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)

_MOMENT = models.DateTimeField()


def _sent(value):
    """A value as the builder's queryset would send it as a parameter."""
    if isinstance(value, datetime):
        return _MOMENT.get_db_prep_value(value, connection)
    return value


def _stand_in(kind: type, position: int):
    if kind is datetime:
        return STAND_IN_MOMENT + timedelta(microseconds=position)
    return STAND_IN_ID + position


@dataclass(frozen=True)
class _Kept:
    sql: str
    params: tuple
    slots: tuple  # per parameter: the argument it stands for, or None for a constant
    names: tuple  # the columns' names as `.values()` names them
    converters: tuple  # (position, converters, expression)


@lru_cache(maxsize=256)
def _kept(build: Builder, fixed: tuple, kinds: tuple, vendor: str) -> _Kept | None:
    stand_ins = [_stand_in(kind, position) for position, kind in enumerate(kinds)]
    queryset = build(*fixed, *stand_ins)
    query = queryset.query
    if not query.selected or query.extra_select:
        return None  # only `.values()` querysets are kept
    compiler = query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    sent = [_sent(value) for value in stand_ins]
    slots = tuple(
        next((position for position, each in enumerate(sent) if each == value), None)
        if isinstance(value, int | str | datetime) and not isinstance(value, bool)
        else None
        for value in params
    )
    if set(slots) - {None} != set(range(len(kinds))):
        return None  # a stand-in did not become a plain parameter: run the queryset
    if any(str(each) in sql for each in sent):
        return None  # a stand-in was written into the SQL text
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = tuple(
        (position, tuple(found), expression)
        for position, (found, expression) in compiler.get_converters(fields).items()
    )
    return _Kept(sql, tuple(params), slots, tuple(query.selected), converters)


def value_rows(build: Builder, *values, fixed: tuple = ()) -> list[dict]:
    """`build(*fixed, *values)`, a `.values()` queryset, as its list of dicts.

    `values` (ids and aware moments) are sent as parameters; `fixed` (kinds, roles, a limit)
    are compiled into the SQL, one compilation per value: they must be few and hashable."""
    kinds = tuple(datetime if isinstance(value, datetime) else int for value in values)
    kept = _kept(build, fixed, kinds, connection.vendor)
    if kept is None:
        return list(build(*fixed, *values))
    sent = [_sent(value) for value in values]
    params = [
        value if slot is None else sent[slot]
        for value, slot in zip(kept.params, kept.slots, strict=True)
    ]
    width = len(kept.names)
    with connection.cursor() as cursor:
        cursor.execute(kept.sql, params)
        rows = [list(row[:width]) for row in cursor.fetchall()]
    for position, converters, expression in kept.converters:
        for row in rows:
            value = row[position]
            for convert in converters:
                value = convert(value, expression, connection)
            row[position] = value
    names = kept.names
    return [dict(zip(names, row, strict=True)) for row in rows]
