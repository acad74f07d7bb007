from datetime import timedelta

from django.apps import AppConfig
from django.db.models.signals import pre_save
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DealershipConfig(AppConfig):
    name = "dealership"
    verbose_name = _("Store and master data")

    def ready(self):
        # Imported here, as Django requires: the registries and models load after the apps.
        from . import (
            notifications,  # noqa: F401 - registers the channel fallback rule
            tasks,  # noqa: F401 - hands the due-task runners to dealership.due
            user_cache,  # noqa: F401 - forgets a cached user when their row or roles change
            warranty,  # noqa: F401 - registers the vehicle warranty rule
        )
        from .due import register_kind
        from .navigation import register_nav
        from .roles import Role
        from .text import refuse_unfit_text
        from .views import CUSTOMER_VIEWERS

        pre_save.connect(refuse_unfit_text, dispatch_uid="dealership.text.refuse_unfit_text")

        # A 退订/TD reply by SMS withdraws consent to reminders and marketing (issue 19.2).
        from .consent import on_sms_reply
        from .sms.inbound import sms_reply_received

        sms_reply_received.connect(on_sms_reply, dispatch_uid="dealership.consent.on_sms_reply")

        # A write made with an API token names the token in its history row (issue 18.2).
        from simple_history.signals import pre_create_historical_record

        from .tokens import attribute_history_to_token

        pre_create_historical_record.connect(
            attribute_history_to_token, dispatch_uid="dealership.tokens.history"
        )

        register_nav("search", _("Search"), CUSTOMER_VIEWERS, 10)
        register_nav(
            "customer_create",
            pgettext_lazy("menu", "New customer"),
            (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE),
            15,
            more_for=(Role.SERVICE_MANAGER,),
        )
        register_nav(
            "due_queue",
            _("My calls"),
            (Role.ADVISOR, Role.CUSTOMER_CARE, Role.SERVICE_MANAGER),
            800,
        )
        register_nav(
            "due_ops", pgettext_lazy("menu", "Scheduled"), (Role.SERVICE_MANAGER,), 890, more=True
        )
        register_nav("webhooks", _("Webhooks"), (Role.SERVICE_MANAGER,), 895, more=True)
        register_nav(
            "privacy_requests", _("Privacy requests"), (Role.SERVICE_MANAGER,), 896, more=True
        )
        register_nav("store_rules", _("Settings"), (Role.SERVICE_MANAGER,), 900, more=True)

        # Outbound webhooks (issue 18.4): each event's delivery is a machine due task.
        from django.conf import settings

        from . import events, webhooks

        events.listen(webhooks.on_event)
        register_kind(
            webhooks.DELIVER,
            label=_("Webhook delivery"),
            handler=webhooks.deliver,
            max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
            on_failed=webhooks.delivery_dead,
        )

        # A plain reminder to the customer at a set time (payload: {"note": "..."}).
        register_kind(
            "customer.reminder",
            label=_("Reminder to the customer"),
            batch_handler="dealership.duties.send_reminders",
            late_cutoff=timedelta(hours=12),
        )
