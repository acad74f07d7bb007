import pytest

from dealership import notifications

N = "dealership.notifications."


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def sms(settings):
    """Texts go to the recording SMS provider (the notification interface's test double)."""
    settings.NOTIFICATION_BACKENDS = {"sms": N + "SmsBackend", "email": N + "LogBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = N + "RecordingSmsProvider"
    notifications.sms_outbox.clear()
    yield notifications.sms_outbox
    notifications.sms_outbox.clear()


@pytest.fixture(autouse=True)
def _empty_rate_counters():
    """Each test counts its own sign-in attempts."""
    from django.core.cache import cache

    cache.clear()
