"""Personal data stays out of every process's log: the notification path, the web
processes (settings.LOGGING) and the Celery worker, which logs through the same config."""

import io
import logging

import pytest

from dealership.notifications import notify
from dealership.pii import PersonalDataFilter
from dealership.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

N = "dealership.notifications."


def test_a_notification_logs_neither_the_full_mobile_nor_the_text(settings, caplog):
    """What the Celery worker printed for every reminder: `message [sms] to 13900000100 …`
    followed by the whole text with the customer's name, car and link."""
    settings.NOTIFICATION_BACKENDS = {"sms": N + "LogBackend", "email": N + "LogBackend"}
    customer = CustomerFactory(name="韩梅梅", mobile="13900000100", email="meimei.han@example.com")
    with caplog.at_level(logging.INFO, logger="dealership.notifications"):
        sms = notify(customer=customer, template="reminder", context={"note": "明天9点保养"})
        email = notify(
            customer=customer, template="reminder", context={"note": "明天9点保养"}, channel="email"
        )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert sms.body and "明天9点保养" in sms.body  # the text was sent and is stored ...
    assert "明天9点保养" not in logged and "韩梅梅" not in logged  # ... but not logged
    assert "13900000100" not in logged and "139****0100" in logged
    assert "meimei.han@" not in logged and "@example.com" in logged
    assert email.to == "meimei.han@example.com"


def test_a_failed_send_logs_the_address_masked(settings, caplog):
    settings.NOTIFICATION_BACKENDS = {"sms": N + "SmsBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = N + "HttpSmsProvider"
    settings.NOTIFICATION_SMS_URL = "http://127.0.0.1:9/refused"  # nothing listens
    customer = CustomerFactory(mobile="13900000101")
    with caplog.at_level(logging.WARNING, logger="dealership.notifications"):
        notify(customer=customer, template="reminder", context={"note": "x"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "failed" in logged
    assert "13900000101" not in logged and "139****0101" in logged


def _root_console_handlers():
    return [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]


def test_the_celery_worker_logs_through_the_masking_config():
    """The worker's logging set-up (Celery's setup_logging signal, as `celery worker` runs
    it) keeps settings.LOGGING: its console handler with the filter, not Celery's own."""
    from dealership.celery import app

    assert app.conf.worker_hijack_root_logger is False
    app.log.already_setup = False
    app.log.setup_logging_subsystem(loglevel=logging.INFO)
    handlers = _root_console_handlers()
    assert handlers
    for handler in handlers:
        assert any(isinstance(f, PersonalDataFilter) for f in handler.filters)
        stream = io.StringIO()
        previous = handler.setStream(stream)
        try:
            logging.getLogger("celery.app.trace").warning(
                "Task failed for %s (%s)", "13900000100", "han.meimei@example.com"
            )
        finally:
            handler.setStream(previous)
        assert "13900000100" not in stream.getvalue() and "139****0100" in stream.getvalue()
        assert "han.meimei@" not in stream.getvalue()


def test_gunicorn_logs_carry_the_same_filter():
    from gunicorn.config import Config

    from dealership.gunicorn_log import MaskingLogger

    config = Config()
    config.set("errorlog", "-")
    config.set("accesslog", "-")
    logger = MaskingLogger(config)
    for handler in (*logger.error_log.handlers, *logger.access_log.handlers):
        assert any(isinstance(f, PersonalDataFilter) for f in handler.filters)
