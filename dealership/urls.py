from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import (
    tablet,
    views,
    views_due,
    views_links,
    views_privacy,
    views_tokens,
    views_webhooks,
    views_wechat,
)
from .roles import public_view
from .security import ThrottledLoginView
from .sms import views as sms_views

handler500 = "dealership.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    # SMS providers' callbacks (dealership.sms.views): delivery receipts and replies.
    path("sms/aliyun/<str:token>/report/", sms_views.aliyun_report, name="sms_aliyun_report"),
    path("sms/aliyun/<str:token>/reply/", sms_views.aliyun_reply, name="sms_aliyun_reply"),
    path("sms/tencent/<str:token>/report/", sms_views.tencent_report, name="sms_tencent_report"),
    path("sms/tencent/<str:token>/reply/", sms_views.tencent_reply, name="sms_tencent_reply"),
    path("search/", views.search, name="search"),
    path("tablet/hand-back/", tablet.locked, name="tablet_locked"),
    path("customers/new/", views_privacy.customer_create, name="customer_create"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/consent/", views_privacy.customer_consent, name="customer_consent"),
    path("privacy/", views_privacy.privacy_requests, name="privacy_requests"),
    path("privacy/<int:pk>/", views_privacy.privacy_request, name="privacy_request"),
    path(
        "privacy/<int:pk>/export/",
        views_privacy.privacy_request_export,
        name="privacy_request_export",
    ),
    path(
        "privacy/<int:pk>/delete/",
        views_privacy.privacy_request_delete,
        name="privacy_request_delete",
    ),
    path("customers/<int:pk>/advisor/", views.customer_advisor, name="customer_advisor"),
    path(
        "customers/<int:pk>/links/revoke/",
        views_links.customer_link_revoke,
        name="customer_link_revoke",
    ),
    path(
        "customers/<int:pk>/links/revoke-all/",
        views_links.customer_links_revoke_all,
        name="customer_links_revoke_all",
    ),
    path(
        "customers/<int:pk>/wechat/unbind/",
        views_wechat.customer_wechat_unbind,
        name="customer_wechat_unbind",
    ),
    path("wechat/oauth/start/", views_wechat.oauth_start, name="wechat_oauth_start"),
    path("wechat/oauth/callback/", views_wechat.oauth_callback, name="wechat_oauth_callback"),
    path("account/tokens/", views_tokens.api_tokens, name="api_tokens"),
    path(
        "account/tokens/<int:pk>/rename/",
        views_tokens.api_token_rename_view,
        name="api_token_rename",
    ),
    path(
        "account/tokens/<int:pk>/revoke/",
        views_tokens.api_token_revoke_view,
        name="api_token_revoke",
    ),
    path(
        "customers/<int:customer_pk>/vehicles/new/",
        views.vehicle_create,
        name="vehicle_create",
    ),
    path("vehicles/<int:pk>/", views.vehicle_detail, name="vehicle_detail"),
    path("vehicles/<int:pk>/edit/", views.vehicle_edit, name="vehicle_edit"),
    path("vehicles/<int:pk>/owner/", views.vehicle_change_owner, name="vehicle_change_owner"),
    path("settings/", views.store_rules, name="store_rules"),
    path("due/", views_due.due_queue, name="due_queue"),
    path("due/<int:pk>/complete/", views_due.due_complete, name="due_complete"),
    path("due/ops/", views_due.due_ops, name="due_ops"),
    path("due/<int:pk>/retry/", views_due.due_retry, name="due_retry"),
    path("webhooks/", views_webhooks.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/edit/", views_webhooks.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/rotate/", views_webhooks.webhook_rotate, name="webhook_rotate"),
    path(
        "webhooks/deliveries/<int:pk>/replay/", views_webhooks.webhook_replay, name="webhook_replay"
    ),
    path("appointments/", include("appointments.urls")),
    path("reception/", include("reception.urls")),
    path("orders/", include("workorders.urls")),
    path("claims/", include("workorders.claim_urls")),
    path("workshop/", include("workshop.urls")),
    path("delivery/", include("delivery.urls")),
    path("followup/", include("followup.urls")),
    path("loancars/", include("loancars.urls")),
    path("reports/", include("reports.urls")),
    path("portal/", include("portal.urls")),
    path(
        "login/",
        public_view(ThrottledLoginView.as_view()),
        name="login",
    ),
    path("logout/", public_view(auth_views.LogoutView.as_view()), name="logout"),
    path("i18n/setlang/", public_view(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("api/", include("dealership.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves swagger-ui's start-up code as a script file: no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
