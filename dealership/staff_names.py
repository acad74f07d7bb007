"""A staff member's name in value rows (`.values()`), as `str(user)` prints it, without
building a user per row: the boards and lists print dozens."""

from functools import cache, lru_cache

from django.db.models import F

from .models import User

NAME_FIELDS = ("first_name", "last_name", "username")


def name_columns(relation: str) -> dict[str, F]:
    """The columns `name_in` reads: `.values(**name_columns("advisor"))`."""
    return {f"{relation}_{field}": F(f"{relation}__{field}") for field in NAME_FIELDS}


@lru_cache(maxsize=4096)
def staff_name(first_name: str, last_name: str, username: str) -> str:
    """`str(user)` from the three columns: it depends on nothing else (not the language),
    so each name is worked out once per process."""
    return str(User(first_name=first_name or "", last_name=last_name or "", username=username))


@cache
def _keys(relation: str) -> tuple[str, ...]:
    return tuple(f"{relation}_{field}" for field in NAME_FIELDS)


def name_in(row: dict, relation: str) -> str:
    """The name of `relation` in a row read with `name_columns(relation)`; "" for nobody.

    The three keys are worked out once per relation (a third of the time per row)."""
    first_key, last_key, username_key = _keys(relation)
    username = row[username_key]
    return "" if username is None else staff_name(row[first_key], row[last_key], username)
