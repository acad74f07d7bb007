"""The boards' queries compiled by Django once per process, then only sent.

Every board screen polls the page (the workshop board, the appointment board), and
building and compiling its querysets cost the process more CPU than PostgreSQL spends
answering them (about 1 ms each, 4 ms for the technicians' query with its subqueries, 1.6 ms
for the week's capacity with its line sums). The SQL text and its parameters depend only on
what the builder is given (constants, the day, the board's filters), so they are kept per
builder and arguments; the rows come back as the queryset would give them.

Only on PostgreSQL, whose driver hands back the Python values the queryset would (aware
datetimes, decimals). On the embedded SQLite (`make run`) values need Django's converters
(a datetime is text there), so the queryset runs as built.
"""

from collections.abc import Callable
from functools import lru_cache

from django.db import connection
from django.db.models import QuerySet

Builder = Callable[..., QuerySet]


# A board's few queries per filter and day (the appointment board's per week shown).
@lru_cache(maxsize=256)
def _compiled(build: Builder, args: tuple) -> tuple[type, str, tuple]:
    query = build(*args).query
    return (query.model, *query.sql_with_params())


def _kept() -> bool:
    return connection.vendor == "postgresql"


def value_rows(build: Builder, *args) -> list[dict]:
    """`build(*args)`, a `.values()` queryset, as its list of dicts."""
    if not _kept():
        return list(build(*args))
    _model, sql, params = _compiled(build, args)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def value_tuples(build: Builder, *args) -> list[tuple]:
    """`build(*args)`, a `.values_list()` queryset, as its list of tuples."""
    if not _kept():
        return list(build(*args))
    _model, sql, params = _compiled(build, args)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def flat_values(build: Builder, *args) -> list:
    """`build(*args)`, a `.values_list(name, flat=True)` queryset, as its list."""
    if not _kept():
        return list(build(*args))
    _model, sql, params = _compiled(build, args)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def instances(build: Builder, *args) -> list:
    """`build(*args)`, a queryset of whole rows (annotations included), as model instances."""
    if not _kept():
        return list(build(*args))
    model, sql, params = _compiled(build, args)
    return list(model.objects.raw(sql, params))
