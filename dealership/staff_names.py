"""A staff member's name in value rows (`.values()`), as `str(user)` prints it, without
building a user per row: the boards and lists print dozens."""

from functools import lru_cache

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


def name_in(row: dict, relation: str) -> str:
    """The name of `relation` in a row read with `name_columns(relation)`; "" for nobody."""
    first_name, last_name, username = (row[f"{relation}_{field}"] for field in NAME_FIELDS)
    return "" if username is None else staff_name(first_name, last_name, username)
