"""Read-only in the admin: jobs, additions and inspections change only through the services
(a status edited by hand would skip the state table, the locks and the timeline)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Addition, ClockEntry, Finding, Job, QualityCheck


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["visit", "code", "name_zh", "status", "technician", "bay", "actual_hours"]
    list_filter = ["status"]
    search_fields = ["visit__number", "code", "name_zh"]


@admin.register(ClockEntry)
class ClockEntryAdmin(ReadOnlyAdmin):
    list_display = ["job", "technician", "started_at", "ended_at", "end_reason"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["visit", "job", "note", "reported_by", "created_at"]


@admin.register(Addition)
class AdditionAdmin(ReadOnlyAdmin):
    list_display = ["visit", "title", "price", "status", "answer_channel", "answered_at"]
    list_filter = ["status", "safety_related"]


@admin.register(QualityCheck)
class QualityCheckAdmin(ReadOnlyAdmin):
    list_display = ["visit", "inspector", "at", "passed", "reason"]
