"""One settings module, read from environment variables with safe local defaults.

`DJANGO_ENV=production` turns on the production rules: a real `SECRET_KEY` is
required, cookies are secure, HTTPS is enforced. `.env.example` lists every
variable.
"""

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.checks.security.base import _check_secret_key as _strong_secret_key
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DJANGO_ENV = os.environ.get("DJANGO_ENV", "local")
PRODUCTION = DJANGO_ENV == "production"

_DEFAULT_SECRET_KEY = "local-insecure-key-change-me"  # noqa: S105 - refused in production below
SECRET_KEY = os.environ.get("SECRET_KEY", _DEFAULT_SECRET_KEY)
# Django's own strength rule (the one `check --deploy` applies): 50+ characters, 5+
# different ones, not a generated 'django-insecure-' key. "k9" * 40 is refused.
if PRODUCTION and (SECRET_KEY == _DEFAULT_SECRET_KEY or not _strong_secret_key(SECRET_KEY)):
    raise ImproperlyConfigured(
        "DJANGO_ENV=production needs SECRET_KEY set to a random value: 50+ characters, "
        "at least 5 different ones, not starting with 'django-insecure-'."
    )

DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Where customers reach the store's site: links in messages are absolute with it
# (a message sent by a worker or `seed_demo` has no request to take the host from).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Our apps first: their templates and translations take precedence over third-party ones.
INSTALLED_APPS = [
    "dealership",
    "appointments",
    "reception",
    "workorders",
    "workshop",
    "delivery",
    "followup",
    "loancars",
    "reports",
    "portal",
    "demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # the widgets' templates, for FORM_RENDERER
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "django_htmx",
    "simple_history",
    "axes",
    "csp",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "dealership.security.RefuseNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The store's rules read once per request, at their first use (dealership/rules.py).
    "dealership.rules.RulesPinnedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff pages, customer-link pages and files: Cache-Control no-store (static files are
    # answered by WhiteNoise above and stay cacheable).
    "dealership.security.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After a customer signed on the staff tablet: only the hand-back screen until the staff
    # member's password (dealership/tablet.py).
    "dealership.tablet.TabletLockMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dealership.urls"
WSGI_APPLICATION = "dealership.wsgi.application"
ASGI_APPLICATION = "dealership.asgi.application"
AUTH_USER_MODEL = "dealership.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

FORM_RENDERER = "dealership.forms_renderer.FormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dealership.context_processors.navigation",
            ],
        },
    },
]

# DATABASE_URL selects the database. Unset: the embedded SQLite file under var/.
# Set but unreachable: Django fails loudly at the first query; there is no fallback.
# Connections live 60 s and are checked before each request reuses them, so a database
# restart costs the requests in flight (a 503 page), not every later one.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# The cache belongs in a Redis database of its own: Django's cache.clear() is FLUSHDB; in the
# broker's database it would empty the Celery queue (due tasks would go out only when reclaimed).
REDIS_CACHE_URL = os.environ.get("REDIS_CACHE_URL", REDIS_URL)
# `make test` runs the tests in one process per core (pytest-xdist workers gw0, gw1, …). Each
# has its own test database (pytest-django's suffix) and, here, its own Redis databases (the
# given numbers plus twice the worker's number) and file cache, so that one worker's
# cache.clear() or queue never reaches another's tests.
TEST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def _worker_database(url: str) -> str:
    if not url:
        return url
    number = re.search(r"/(\d+)$", url)  # redis://host:port/N; no number is database 0
    base, database = (url[: number.start()], int(number[1])) if number else (url, 0)
    return f"{base}/{database + 2 * TEST_WORKER}"


if TEST_WORKER:
    REDIS_URL, REDIS_CACHE_URL = _worker_database(REDIS_URL), _worker_database(REDIS_CACHE_URL)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "dealership.cache.ResilientRedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "servicedesk"),
            # A Redis that does not answer is a cache miss after 0.5 s, not a hung page.
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                # Lazy texts in cached values unpickle without a new class each (issue 21).
                "serializer": "dealership.cache.CacheSerializer",
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / ("cache" + (f"-gw{TEST_WORKER}" if TEST_WORKER else "")),
        }
    }
# Sessions are read on every request: with Redis, from the cache (written through to the
# database, so a flushed or unreachable Redis logs nobody out; dealership/cache.py makes an
# unreachable Redis a miss). Without Redis, from the database.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if REDIS_URL else "db")

# Log-in throttling (django-axes) on every log-in form, the admin's included: 5 failed
# log-ins for one user name from one client address lock that pair (only) for 15 minutes;
# the same user from another desk still gets in. Attempts live in the database (admin:
# Axes > Access attempts; `manage.py axes_reset` unlocks everyone).
# The logged-in user is read from the cache, with their roles (dealership/user_cache.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "dealership.user_cache.CachedModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A refused attempt during the lock-out does not start the 15 minutes again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "dealership.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "dealership.security.client_ip"
AXES_VERBOSE = False  # no start-up banner in every manage.py command's output
# The client address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies (the compose TLS
# proxy: 1) the address the outermost trusted proxy saw, read from X-Forwarded-For counting
# from the right, so a client cannot choose its own address by sending the header.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Who works how many hours today, for the board's dispatch suggestions: a dotted path to
# `provider(technicians, day) -> {technician id: hours}` (see workshop/dispatch.py).
# The default counts every active technician's full shift; a roster can answer instead.
WORKSHOP_HOURS_AVAILABLE = "workshop.dispatch.shift_hours"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# `make run` runs with DEBUG off (the real 404 page): WhiteNoise serves from the source folders.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    # Uploads (photos, signatures): a full disk is a clear form error, never a partial file.
    "default": {"BACKEND": "dealership.storage.MediaStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "service@dealership.example")

SESSION_COOKIE_AGE = 12 * 3600  # one working day
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts only from our own static files (no inline
# scripts or on*= handlers: static/js/app.js gives data-autosubmit, data-confirm and
# data-close-dialog), no eval. Styles may be inline (style="" attributes in templates, the
# admin and swagger-ui); images may be data: URLs (Pico's CSS icons). htmx's own indicator
# styles are off (meta htmx-config in base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport in
# absolute folders under var/, so the quick-start run needs no broker server.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The worker keeps settings.LOGGING (its masking filter) on the root logger: see
# dealership/celery.py, which answers Celery's setup_logging signal with it.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Celery's Django fixup closes the database connection around every task unless told to
# reuse it; reconnecting costs more than a due task itself. Recycle every 100 tasks.
CELERY_DB_REUSE_MAX = 100

# Due tasks (dealership.due): rows claimed per batch by the dispatcher; a claimed row nobody
# works on for this long goes back to the queue; first retry back-off, doubling each time.
DUE_TASK_BATCH_SIZE = int(os.environ.get("DUE_TASK_BATCH_SIZE", "500"))
# Rows per Celery message: locked and read together, performed together (reminders: one read and
# one write for all) or each in a savepoint of its own, committed together, at the latest after
# DUE_TASK_HOLD_SECONDS (a person cancelling one of them waits no longer than that and the row
# being sent). 50, not 20: a message's fixed round trips (lock, consent, two INSERTs, done marks,
# commit) are paid per 50 reminders; one worker's 10 000 reminders took 15-16 s instead of 23-25 s
# side by side on the loaded machine, 100 no better (19.7 s).
DUE_TASK_MESSAGE_SIZE = int(os.environ.get("DUE_TASK_MESSAGE_SIZE", "50"))
DUE_TASK_HOLD_SECONDS = float(os.environ.get("DUE_TASK_HOLD_SECONDS", "1"))
DUE_TASK_RECLAIM_AFTER_SECONDS = int(os.environ.get("DUE_TASK_RECLAIM_AFTER_SECONDS", "600"))
DUE_TASK_RETRY_BASE_SECONDS = int(os.environ.get("DUE_TASK_RETRY_BASE_SECONDS", "60"))
# Outbound webhooks (issue 18.4): tries before a dead letter, seconds to wait for an answer,
# and plain http to localhost (tests and development only; production posts to https).
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_ALLOW_LOCAL_HTTP = env_bool("WEBHOOK_ALLOW_LOCAL_HTTP", DEBUG)
WEBHOOK_SECRET_GRACE_HOURS = float(os.environ.get("WEBHOOK_SECRET_GRACE_HOURS", "24"))
# The certificate authorities a receiver's https certificate is checked against (a file);
# empty: the public ones (certifi). For a store whose receivers use an in-house CA.
WEBHOOK_CA_BUNDLE = os.environ.get("WEBHOOK_CA_BUNDLE", "")

# Notifications (dealership.notifications): a backend per channel. LogBackend only logs.
_NOTIFY = "dealership.notifications."
NOTIFICATION_BACKENDS = {
    "sms": os.environ.get("NOTIFICATION_SMS_BACKEND", _NOTIFY + "LogBackend"),
    "email": os.environ.get("NOTIFICATION_EMAIL_BACKEND", _NOTIFY + "LogBackend"),
}
NOTIFICATION_SMS_PROVIDER = os.environ.get("NOTIFICATION_SMS_PROVIDER", _NOTIFY + "HttpSmsProvider")
NOTIFICATION_SMS_URL = os.environ.get("NOTIFICATION_SMS_URL", "")
NOTIFICATION_SMS_TOKEN = os.environ.get("NOTIFICATION_SMS_TOKEN", "")


def _json_env(name: str) -> dict:
    """A JSON object from the environment (e.g. template codes per message kind)."""
    import json

    raw = os.environ.get(name, "").strip()
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f'{name} must be a JSON object: {{"template": "code"}}')
    return {str(key): str(code) for key, code in value.items()}


# SMS providers (dealership.sms): set NOTIFICATION_SMS_PROVIDER to
# dealership.sms.aliyun.AliyunSmsProvider or dealership.sms.tencent.TencentSmsProvider.
# Template codes per message kind: {"appointment_reminder": "SMS_123456789", ...}; a kind
# without a code is not sent by SMS (the message fails with the reason, nothing raw goes out).
SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "10"))
SMS_ALIYUN_ENDPOINT = os.environ.get("SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
SMS_ALIYUN_ACCESS_KEY_ID = os.environ.get("SMS_ALIYUN_ACCESS_KEY_ID", "")
SMS_ALIYUN_ACCESS_KEY_SECRET = os.environ.get("SMS_ALIYUN_ACCESS_KEY_SECRET", "")
SMS_ALIYUN_SIGN_NAME = os.environ.get("SMS_ALIYUN_SIGN_NAME", "")
SMS_ALIYUN_TEMPLATES = _json_env("SMS_ALIYUN_TEMPLATES")
SMS_TENCENT_ENDPOINT = os.environ.get("SMS_TENCENT_ENDPOINT", "https://sms.tencentcloudapi.com/")
SMS_TENCENT_REGION = os.environ.get("SMS_TENCENT_REGION", "ap-guangzhou")
SMS_TENCENT_SECRET_ID = os.environ.get("SMS_TENCENT_SECRET_ID", "")
SMS_TENCENT_SECRET_KEY = os.environ.get("SMS_TENCENT_SECRET_KEY", "")
SMS_TENCENT_SDK_APP_ID = os.environ.get("SMS_TENCENT_SDK_APP_ID", "")
SMS_TENCENT_SIGN_NAME = os.environ.get("SMS_TENCENT_SIGN_NAME", "")
SMS_TENCENT_TEMPLATES = _json_env("SMS_TENCENT_TEMPLATES")
# The secret part of the receipt and reply callback URLs given to the provider
# (/sms/<provider>/<secret>/report/ and .../reply/); empty: every callback is refused.
SMS_CALLBACK_SECRET = os.environ.get("SMS_CALLBACK_SECRET", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so a refused token answers 401 with `WWW-Authenticate: Token` (issue 18.2).
        "dealership.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Every operation documents its error answers (dealership.api).
    "DEFAULT_SCHEMA_CLASS": "dealership.api.ErrorDocumentingSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Service desk API",
    "DESCRIPTION": "After-sales front desk of a car dealership.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # swagger-ui from the drf-spectacular-sidecar package (our static files), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Links from the operations that give an object's id to those that take it (stateful fuzz).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "dealership.api.add_operation_links",
    ],
    # One name per choice set shared by several apps' serializers (keeps `check` quiet).
    "ENUM_NAME_OVERRIDES": {
        "PaymentMethodEnum": "workorders.models.PaymentMethod",
        "ContactChannelEnum": "dealership.models.ContactChannel",
        "LineKindEnum": "workorders.models.LineKind",
        "DamageKindEnum": "reception.models.DamageKind",
        "PrivacyRequestKindEnum": "dealership.models.PrivacyRequestKind",
        "PrivacyRequestChannelEnum": "dealership.models.PrivacyRequestChannel",
        "ConsentSourceEnum": "dealership.models.ConsentSource",
        "StaffConsentSourceEnum": "dealership.forms.STAFF_CONSENT_SOURCES",
        # Their names before the privacy API added other "channel" and "source" fields.
        "ChannelEnum": "appointments.models.Channel",
        "SourceEnum": "followup.models.ComplaintSource",
        "EnquiryChannelEnum": "followup.models.EnquiryChannel",
        "LoanCarStatusEnum": "loancars.models.CarStatus",
        "LoanStatusEnum": "loancars.models.LoanStatus",
        "FuelLevelEnum": "reception.models.FuelLevel",
    },
}

SIMPLE_HISTORY_HISTORY_ID_USE_UUID = False

# Customers' signed links (booking, progress, approvals) expire after this many days.
CUSTOMER_LINK_MAX_AGE_DAYS = int(os.environ.get("CUSTOMER_LINK_MAX_AGE_DAYS", "14"))
# How long a phone stays signed in to the customer portal.
PORTAL_SESSION_DAYS = int(os.environ.get("PORTAL_SESSION_DAYS", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every handler masks phones, e-mails, ID numbers, addresses and customers' link tokens.
    "filters": {"personal_data": {"()": "dealership.pii.PersonalDataFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes: lock-outs are warnings; every log-in's bookkeeping is not news.
        "axes": {"level": "WARNING"},
    },
}

# WeChat Official Account (dealership.wechat): template messages on the "wechat" channel and
# the customer's openid from WeChat's web authorisation. The channel exists when an app id is
# set. WECHAT_TEMPLATES is JSON: {"<message template>": {"template_id": "...",
# "fields": {"<WeChat field>": "<parameter>"}}}; "default" serves messages without their own.
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
WECHAT_OAUTH_BASE = os.environ.get("WECHAT_OAUTH_BASE", "https://open.weixin.qq.com")
try:
    WECHAT_TEMPLATES = json.loads(os.environ.get("WECHAT_TEMPLATES") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured("WECHAT_TEMPLATES is not valid JSON") from exc
if not isinstance(WECHAT_TEMPLATES, dict):
    raise ImproperlyConfigured("WECHAT_TEMPLATES must be a JSON object")
WECHAT_TIMEOUT_SECONDS = float(os.environ.get("WECHAT_TIMEOUT_SECONDS", "5"))
# How long an accepted message's key is remembered, so a resend is not sent twice.
WECHAT_SENT_KEY_DAYS = float(os.environ.get("WECHAT_SENT_KEY_DAYS", "7"))
WECHAT_OAUTH_STATE_MAX_AGE_SECONDS = int(
    os.environ.get("WECHAT_OAUTH_STATE_MAX_AGE_SECONDS", "600")
)
if WECHAT_APP_ID:
    NOTIFICATION_BACKENDS["wechat"] = "dealership.wechat.WeChatBackend"
