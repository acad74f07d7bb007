from django.urls import path

from . import insurance_views, lounge_views, views

app_name = "reception"

urlpatterns = [
    path("check-in/", views.check_in, name="check_in"),
    path("check-in/register/", views.register_walk_in, name="register_walk_in"),
    path("on-site/", views.on_site, name="on_site"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("visits/<int:pk>/concern/", views.concern_update, name="concern"),
    path("visits/<int:pk>/walkaround/", views.walkaround, name="walkaround"),
    path("visits/<int:pk>/walkaround/sign/", views.walkaround_sign, name="walkaround_sign"),
    path(
        "visits/<int:pk>/walkaround/signature.png",
        views.walkaround_signature,
        name="walkaround_signature",
    ),
    path("visits/<int:pk>/damage/", views.damage_add, name="damage_add"),
    path("damage/<int:pk>/remove/", views.damage_remove, name="damage_remove"),
    path("damage/<int:pk>/photo/", views.damage_photo, name="damage_photo"),
    path("visits/<int:pk>/belongings/", views.belonging_add, name="belonging_add"),
    path("belongings/<int:pk>/remove/", views.belonging_remove, name="belonging_remove"),
    path("visits/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("visits/<int:pk>/hand-over/", views.hand_over, name="hand_over"),
    path("visits/<int:pk>/key-tag.pdf", views.key_tag, name="key_tag"),
    path("progress/<str:token>/", views.progress, name="progress"),
    path("lounge/", lounge_views.lounge_settings, name="lounge_settings"),
    path("lounge/switch-off/", lounge_views.lounge_retire, name="lounge_retire"),
    path("lounge/tv/<str:token>/", lounge_views.lounge, name="lounge"),
    path("lounge/tv/<str:token>/board/", lounge_views.lounge_board, name="lounge_board"),
    path("visits/<int:pk>/insurance/", insurance_views.insurance_case, name="insurance"),
    path(
        "visits/<int:pk>/insurance/dismiss/",
        insurance_views.insurance_offer_dismiss,
        name="insurance_dismiss",
    ),
]
