from django.urls import path

from . import views

app_name = "workorders"

urlpatterns = [
    path("visit/<int:visit_pk>/", views.for_visit, name="for_visit"),
    path("visit/<int:visit_pk>/start/", views.start, name="start"),
    path("<int:pk>/", views.order_detail, name="order"),
    path("<int:pk>/catalogue/", views.catalogue, name="catalogue"),
    path("<int:pk>/lines/", views.line_add, name="line_add"),
    path("lines/<int:pk>/", views.line_update, name="line_update"),
    path("lines/<int:pk>/remove/", views.line_remove, name="line_remove"),
    path("<int:pk>/terms/", views.terms, name="terms"),
    path("<int:pk>/sign/", views.sign, name="sign"),
    path("<int:pk>/revise/", views.revise, name="revise"),
    path("<int:pk>/pdf/", views.pdf, name="pdf"),
    path("<int:pk>/signature.png", views.signature, name="signature"),
    path(
        "visit/<int:visit_pk>/campaign/<int:campaign_pk>/",
        views.campaign_add,
        name="campaign_add",
    ),
    path(
        "visit/<int:visit_pk>/warranty-comeback/",
        views.warranty_comeback,
        name="warranty_comeback",
    ),
]
