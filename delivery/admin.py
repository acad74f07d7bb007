"""Read-only in the admin: money and delivery states change only through the services."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Delivery, InvoiceCounter, Payment, Refund, Settlement, SettlementLine


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SettlementLineInline(admin.TabularInline):
    model = SettlementLine
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentInline(SettlementLineInline):
    model = Payment


class RefundInline(SettlementLineInline):
    model = Refund


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["invoice_number", "visit", "status", "amount_due", "settled_at", "settled_by"]
    list_filter = ["status"]
    search_fields = ["invoice_number", "visit__number"]
    inlines = [SettlementLineInline, PaymentInline, RefundInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["visit", "final_check_at", "gate_pass_number", "handed_back_at"]
    search_fields = ["visit__number", "gate_pass_number"]


@admin.register(InvoiceCounter)
class InvoiceCounterAdmin(admin.ModelAdmin):
    list_display = ["key", "last_number"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
