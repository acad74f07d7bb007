import pytest

from dealership.due import due_tasks_dispatch


@pytest.fixture
def run_dispatch(eager, django_capture_on_commit_callbacks):
    """run_dispatch(now=...) runs the beat dispatcher synchronously at that moment."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return due_tasks_dispatch(**kwargs)

    return run


@pytest.fixture
def care(make_staff):
    return make_staff("customer_care", username="care1")


@pytest.fixture
def manager(make_staff):
    return make_staff("service_manager", username="manager1")
