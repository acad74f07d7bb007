from django.urls import path

from . import claim_views

app_name = "claims"

urlpatterns = [
    path("", claim_views.claim_list, name="list"),
    path("<int:pk>/", claim_views.claim_detail, name="detail"),
    path("<int:pk>/submit/", claim_views.claim_submit, name="submit"),
    path("<int:pk>/approve/", claim_views.claim_approve, name="approve"),
    path("<int:pk>/reject/", claim_views.claim_reject, name="reject"),
    path("lines/<int:pk>/approve/", claim_views.line_approve, name="line_approve"),
]
