"""Queries compiled by Django once per process, then only sent.

Pages polled all day (the workshop and appointment boards) and detail pages (the archive)
read a dozen small querysets, and building and compiling each cost the process several times
what PostgreSQL spends answering it (about 1 ms of CPU a query against 0.1 ms of answer; 4 ms
for the board's technicians with their subqueries). The SQL text depends only on the builder
and what it is given, so:

- `ids` (a customer's, a vehicle's) and moments (tonight's end, the time of the request) are
  sent as parameters: the builder is compiled once with stand-ins, the places where they
  appear among the parameters are noted, and each call sends the same SQL with its own
  values (a moment as Django sends it: as it is to PostgreSQL, as UTC text to SQLite);
- `fixed` arguments (a board's day bounds and filters, a limit) are compiled into the kept
  SQL, one compilation per value: they must be few, and a builder must depend on nothing
  else (not the clock, a rule or the language).

The rows come back as the queryset would give them: Django's converters for each column
(JSON, and SQLite's dates) are applied as `.values()` applies them. A query that cannot be
kept so (an id that is no plain parameter, related rows) runs as the queryset.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.db import connection, models
from django.db.models import QuerySet

Builder = Callable[..., QuerySet]

# Stand-ins, one per argument: integers an id column takes as they are (within a 32-bit
# primary key), never a limit or a constant of a builder; moments no row or builder holds.
MARKER = 987_654_300
MOMENT = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)

_MOMENT_FIELD = models.DateTimeField()


def _sent(value):
    """An argument as the builder's queryset sends it as a parameter."""
    if isinstance(value, datetime):
        return _MOMENT_FIELD.get_db_prep_value(value, connection)
    return value


def _kinds(args: tuple) -> tuple:
    return tuple(datetime if isinstance(value, datetime) else int for value in args)


def _stand_in(kind: type, position: int):
    if kind is datetime:
        return MOMENT + timedelta(microseconds=position)
    return MARKER + position


def _slot(value, sent: list) -> int | None:
    """The argument a parameter stands for, or None for a constant of the builder."""
    if isinstance(value, bool):
        return None
    return next(
        (
            position
            for position, each in enumerate(sent)
            if type(each) is type(value) and each == value
        ),
        None,
    )


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple  # per parameter: the argument it stands for, or None for a constant
    names: tuple  # the columns' names as `.values()` names them
    model_names: tuple  # of `names`, the model's own columns (`instances`)
    converters: tuple  # (position, converters, expression)
    model: type


@lru_cache(maxsize=256)
def _compiled(build: Builder, fixed: tuple, kinds: tuple) -> _Compiled | None:
    stand_ins = [_stand_in(kind, position) for position, kind in enumerate(kinds)]
    queryset = build(*fixed, *stand_ins)
    query = queryset.query
    compiler = query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    sent = [_sent(value) for value in stand_ins]
    slots = tuple(_slot(value, sent) for value in params)
    if set(slots) - {None} != set(range(len(kinds))) or any(str(each) in sql for each in sent):
        return None  # a stand-in did not become a plain parameter: run the queryset
    if query.select_related or query.extra_select or query.deferred_loading[0]:
        return None  # neither `.values()` nor the model's own columns
    model_names = ()
    if query.selected:  # `.values()`, in its order (as ValuesIterable names them)
        names = tuple(query.selected)
    else:
        model_names = tuple(field.attname for field in query.model._meta.concrete_fields)
        names = (*model_names, *query.annotation_select)
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = tuple(
        (position, tuple(found), expression)
        for position, (found, expression) in compiler.get_converters(fields).items()
    )
    return _Compiled(sql, tuple(params), slots, names, model_names, converters, query.model)


def _rows(compiled: _Compiled, args: tuple) -> list[list]:
    args = [_sent(value) for value in args]
    params = [
        value if slot is None else args[slot]
        for value, slot in zip(compiled.params, compiled.slots, strict=True)
    ]
    width = len(compiled.names)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = [list(row[:width]) for row in cursor.fetchall()]
    for position, converters, expression in compiled.converters:
        for row in rows:
            value = row[position]
            for convert in converters:
                value = convert(value, expression, connection)
            row[position] = value
    return rows


def value_rows(build: Builder, *ids: int, fixed: tuple = ()) -> list[dict]:
    """`build(*fixed, *ids)`, a `.values()` queryset, as its list of dicts.

    `ids` (ids and aware moments) are sent as parameters; `fixed` (a limit, a constant) are
    compiled into the SQL, one compilation per value: they must be few."""
    compiled = _compiled(build, fixed, _kinds(ids))
    if compiled is None:
        return list(build(*fixed, *ids))
    names = compiled.names
    return [dict(zip(names, row, strict=True)) for row in _rows(compiled, ids)]


def instances(build: Builder, *ids: int, fixed: tuple = ()) -> list:
    """`build(*fixed, *ids)`, a queryset of whole rows (no related rows), as model
    instances; its annotations, if any, as their attributes."""
    compiled = _compiled(build, fixed, _kinds(ids))
    if compiled is None:
        return list(build(*fixed, *ids))
    model, names, width = compiled.model, compiled.names, len(compiled.model_names)
    found = []
    for row in _rows(compiled, ids):
        instance = model.from_db(connection.alias, compiled.model_names, row[:width])
        for name, value in zip(names[width:], row[width:], strict=True):
            setattr(instance, name, value)
        found.append(instance)
    return found


def value_tuples(build: Builder, *ids: int, fixed: tuple = ()) -> list[tuple]:
    """`build(*fixed, *ids)`, a `.values_list()` queryset, as its list of tuples."""
    compiled = _compiled(build, fixed, _kinds(ids))
    if compiled is None:
        return list(build(*fixed, *ids))
    return [tuple(row) for row in _rows(compiled, ids)]


def flat_values(build: Builder, *ids: int, fixed: tuple = ()) -> list:
    """`build(*fixed, *ids)`, a `.values_list(name, flat=True)` queryset, as its list."""
    compiled = _compiled(build, fixed, _kinds(ids))
    if compiled is None:
        return list(build(*fixed, *ids))
    return [row[0] for row in _rows(compiled, ids)]
