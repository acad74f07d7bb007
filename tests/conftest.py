"""Fixtures shared by the project-wide tests in this folder."""

import pytest

from tests.stores import build_flow_store


@pytest.fixture
def flow_store(settings, tmp_path):
    """The whole-flow tests' store (tests/stores.py): staff, technicians, catalogue, a car."""
    return build_flow_store(settings, tmp_path)
