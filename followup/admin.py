"""Read-only in the admin: complaints and surveys change only through the services (actions log)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Complaint, ComplaintAction, DailyScan, Survey


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ComplaintActionInline(admin.TabularInline):
    model = ComplaintAction
    extra = 0
    can_delete = False
    readonly_fields = ("at", "kind", "text", "actor")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer", "category", "severity", "status", "owner", "opened_at")
    list_filter = ("status", "severity", "category", "source")
    search_fields = ("number", "customer__name", "customer__mobile")
    inlines = [ComplaintActionInline]


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    list_display = ("customer", "overall", "explanation", "on_time", "car_clean", "taken_at")


@admin.register(DailyScan)
class DailyScanAdmin(ReadOnlyAdmin):
    list_display = ("day", "finished_at", "counts")
