from django.urls import include, path

from . import certificate, day_close_views, not_repaired_views, views
from .api import router

app_name = "delivery"

urlpatterns = [
    path("", views.board, name="board"),
    path("cashier/", views.cashier, name="cashier"),
    path("cashier/invoices.xlsx", views.tax_invoice_export, name="tax_invoice_export"),
    path("visits/<int:pk>/", views.visit_page, name="visit"),
    path("visits/<int:pk>/ready/", views.mark_ready, name="ready"),
    path("visits/<int:pk>/final-check/", views.final_check, name="final_check"),
    path("visits/<int:pk>/approval/", views.approve_overrun, name="approve_overrun"),
    path("visits/<int:pk>/settle/", views.settle, name="settle"),
    path("visits/<int:pk>/gate-pass/", views.issue_gate_pass, name="gate_pass"),
    path("visits/<int:pk>/gate-pass.pdf", views.gate_pass_pdf, name="gate_pass_pdf"),
    path("visits/<int:pk>/sheet.pdf", views.sheet_pdf, name="sheet_pdf"),
    path("visits/<int:pk>/hand-back/", views.hand_back, name="hand_back"),
    path(
        "visits/<int:pk>/hand-back/signature.png",
        views.handback_signature,
        name="handback_signature",
    ),
    path(
        "visits/<int:pk>/warranty-certificate.pdf",
        certificate.warranty_certificate,
        name="warranty_certificate_pdf",
    ),
    path("settlements/<int:pk>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("settlements/<int:pk>/void/", views.void, name="void"),
    path("settlements/<int:pk>/tax-invoice/", views.tax_invoice_issue, name="tax_invoice_issue"),
    path("settlements/<int:pk>/refund/", views.refund, name="refund"),
    # A car not repaired (delivery.not_repaired).
    path("visits/<int:pk>/not-repaired/", not_repaired_views.not_repaired, name="not_repaired"),
    path("visits/<int:pk>/waive-fee/", not_repaired_views.waive_fee, name="waive_fee"),
    path(
        "visits/<int:pk>/diagnosis-report.pdf",
        not_repaired_views.diagnosis_report_pdf,
        name="diagnosis_report_pdf",
    ),
    # The cashier's day close (日结): ?day=YYYY-MM-DD, today when absent.
    path("cashier/day-close/", day_close_views.day_close_page, name="day_close"),
    path("cashier/day-close/close/", day_close_views.day_close_submit, name="day_close_submit"),
    path("cashier/day-close/reopen/", day_close_views.day_close_reopen, name="day_close_reopen"),
    path("cashier/day-close.pdf", day_close_views.day_close_pdf, name="day_close_pdf"),
    path("cashier/day-closes/", day_close_views.day_close_list, name="day_closes"),
]

# The API, included at /api/delivery/ by the project's URL conf (dealership/api_urls.py).
api_urlpatterns = [path("", include(router.urls))]
