import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from dealership.roles import Role


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The demo makes a dozen staff: hashing their passwords the production way costs seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Signatures and photos are files: keep them out of the shared var/ folder.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def english_messages():
    # Service tests match the English messages; pages are requested with their own language.
    with translation.override("en"):
        yield


@pytest.fixture
def role_groups(transactional_db):
    """The role groups come from a data migration; a transactional test's flush removes them."""
    for role in Role:
        Group.objects.get_or_create(name=role)
