import pytest
from django.contrib.auth.models import Group

from dealership.roles import Role
from dealership.tests.factories import BayFactory

from .factories import make_technician


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every visit has an advisor: hashing their test password the production way costs ~0.2 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def controller(make_staff):
    return make_staff("workshop_controller")


@pytest.fixture
def inspector(make_staff):
    return make_staff("qc_inspector")


@pytest.fixture
def tech(db):
    return make_technician()


@pytest.fixture
def bay(db):
    return BayFactory()


@pytest.fixture
def role_groups(transactional_db):
    """The role groups come from a data migration; a transactional test's flush removes them."""
    for role in Role:
        Group.objects.get_or_create(name=role)
