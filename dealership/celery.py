import logging.config
import os

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

app = Celery("dealership")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_the_site_logging(loglevel=None, **kwargs):
    """The worker and beat log through settings.LOGGING, like the web processes: the same
    handlers with the personal-data filter (dealership.pii), instead of the handlers Celery
    would otherwise put on the root logger without it. `--loglevel` still sets the level."""
    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
