import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every visit has an advisor: hashing their test password the production way costs ~0.2 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
