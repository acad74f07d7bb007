"""Every state table (`dealership.transitions.TABLES`): every allowed move and every forbidden one.

The services' own tests walk the moves through the real services; this one
checks the shared helper against each table, so a table registered later is
walked too, and fails when a model with a status has no table.
"""

import pytest
from django.apps import apps

from dealership.errors import DomainError
from dealership.transitions import TABLES, move

STATUS_FIELDS = ("status", "state")


def _tables():
    return sorted(TABLES.values(), key=lambda table: table.name)


def _row(table, status):
    row = apps.get_model(table.model)()
    setattr(row, table.status_field, status)
    return row


def test_every_model_with_a_status_has_one_table():
    covered = {(table.model.lower(), table.status_field) for table in _tables()}
    missing = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label not in ("django_celery_beat", "axes")
        and not model.__name__.startswith("Historical")
        for field in model._meta.fields
        if field.name in STATUS_FIELDS
        and field.choices
        and (model._meta.label_lower, field.name) not in covered
    ]
    assert not missing, f"stateful models without a table in dealership.transitions: {missing}"


@pytest.mark.parametrize("table", _tables(), ids=lambda table: table.name)
def test_every_allowed_move_is_made(table):
    for current, to in table.moves():
        row = _row(table, current)
        assert move(table, row, to, save=False) == current
        assert getattr(row, table.status_field) == to
        stamp = table.stamps.get(to)
        if stamp:
            assert getattr(row, stamp) is not None, (table.name, to, stamp)


@pytest.mark.parametrize("table", _tables(), ids=lambda table: table.name)
def test_every_forbidden_move_is_refused_and_changes_nothing(table):
    for current, to in table.forbidden_moves():
        row = _row(table, current)
        before = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
        with pytest.raises(DomainError) as refused:
            move(table, row, to, save=False)
        assert refused.value.code == "transition_not_allowed"
        assert table.label(current) in refused.value.messages[0]
        after = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
        assert after == before, (table.name, current, to)
