import pytest

from dealership.notifications import sms_outbox

from .factories import make_vehicle, make_workshop


@pytest.fixture
def workshop(db):
    return make_workshop()


@pytest.fixture
def vehicle(db):
    return make_vehicle()


@pytest.fixture
def advisor(make_staff):
    return make_staff("advisor")


@pytest.fixture(autouse=True)
def _clean_outbox():
    sms_outbox.clear()
    yield
    sms_outbox.clear()
