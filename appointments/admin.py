from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Appointment, AppointmentLine, Campaign, Holiday, OpeningHours


class AppointmentLineInline(admin.TabularInline):
    model = AppointmentLine
    extra = 0
    raw_id_fields = ["operation", "part"]


@admin.register(Appointment)
class AppointmentAdmin(SimpleHistoryAdmin):
    """Read-mostly: status moves go through the services (the pages), never through here."""

    list_display = ["start", "vehicle", "customer", "advisor", "status", "channel"]
    list_filter = ["status", "channel"]
    search_fields = ["vehicle__plate", "customer__mobile", "customer__name"]
    raw_id_fields = ["customer", "vehicle", "advisor", "booked_by", "rebooked_from"]
    readonly_fields = [
        "status",
        "start",
        "end",
        "confirmed_at",
        "arrived_at",
        "no_show_at",
        "cancelled_at",
    ]
    inlines = [AppointmentLineInline]


@admin.register(Campaign)
class CampaignAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name_zh", "kind", "models_match", "active", "ends_on"]
    list_filter = ["kind", "active"]


admin.site.register(OpeningHours, SimpleHistoryAdmin)
admin.site.register(Holiday, SimpleHistoryAdmin)
