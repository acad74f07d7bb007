from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import LoanCar


@admin.register(LoanCar)
class LoanCarAdmin(SimpleHistoryAdmin):
    list_display = ("plate", "model", "status", "km")
    search_fields = ("plate", "model")
    # Lending and returning go through the services (lock, agreement, photos), never here.
    readonly_fields = ("status",)
