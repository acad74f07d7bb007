"""WeChat Official Account (微信公众号): template messages and the openid of a customer.

The backend `WeChatBackend` is the notification interface's "wechat" channel
(`NOTIFICATION_BACKENDS["wechat"]`, set when `WECHAT_APP_ID` is): it sends a template
message to the customer's openid, with the portal link the message opens.

Access token: the stable-token endpoint (`POST /cgi-bin/stable_token`, normal mode), not
`GET /cgi-bin/token`. In normal mode a call while the token is valid returns the same
token, and the stable token is kept apart from the classic one: a second worker, host or
tool of the store asking for a token never invalidates the one our workers hold (the
classic endpoint issues a new token on each call, and the old one dies within five
minutes). So a cache lock keeps the calls down to one, and when the lock cannot be had
(Redis down) a worker may fetch on its own without harming the others.

The token is kept in Django's cache until shortly before it expires. An answer that says
the token is invalid or expired (40001, 40014, 42001) drops the cached token; the send is
tried once more with a fresh one.

Errors: a customer WeChat cannot reach (not following the account: 43004, an unknown
openid: 40003), a template WeChat does not know (40037), or a template the store has not
mapped raise `WeChatPermanent`: a retry cannot help, the notification falls back to
another channel. Rate limits (45009), system busy (-1), 5xx answers and time-outs raise
`DeliveryFailed`: the due task retries later.

Never twice: the duty's stable `key` goes to WeChat as `client_msg_id` (WeChat drops a
repeat within ten minutes) and every accepted key is kept in the cache with its msgid for
`WECHAT_SENT_KEY_DAYS`; a resend after a crash (the due task's transaction rolled back,
the cache write did not) answers that msgid without sending.
"""

import hashlib
import json
import logging
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .errors import DomainError
from .models import Customer, User
from .notifications import DeliveryFailed, DeliveryRejected, LogBackend
from .pii import mask_openid, mask_personal_data
from .services import timeline_record
from .stored_text import StoredMessage

logger = logging.getLogger(__name__)

# Cache keys, not secrets.
TOKEN_KEY = "wechat:access-token"  # noqa: S105
TOKEN_LOCK_KEY = "wechat:access-token:lock"  # noqa: S105
# A token is dropped from the cache this long before WeChat says it expires (WeChat renews a
# stable token five minutes ahead, the old one staying valid meanwhile).
TOKEN_MARGIN_SECONDS = 300
TOKEN_MIN_CACHE_SECONDS = 60
# Longer than one token fetch may take (the HTTP time-out), so a lock outlives its holder's
# work and a crashed holder's lock still goes away.
TOKEN_LOCK_SECONDS = 20
TOKEN_WAIT_POLL_SECONDS = 0.05

TOKEN_INVALID = frozenset({40001, 40014, 42001})
RECIPIENT_UNREACHABLE = frozenset({43004, 40003})
TEMPLATE_UNKNOWN = frozenset({40037})
# The store's credentials refused: every message would fail the same way.
CREDENTIALS_REFUSED = frozenset({40013, 40125, 40164, 41002, 41004})
OAUTH_CODE_REFUSED = frozenset({40029, 40163})

SENDING_LOCK_SECONDS = 60
OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
OAUTH_CODE_MAX_LENGTH = 128
# WeChat allows a state of up to 128 characters from [a-zA-Z0-9] only: the signed state is
# hex (issued-at, nonce, signature), no separators.
STATE_SALT = "dealership.wechat.oauth-state"
STATE_LENGTH = 8 + 32 + 40
VALUE_MAX_LENGTH = 200


class WeChatPermanent(DeliveryRejected):
    """WeChat cannot deliver this message, now or later: send it on another channel."""


class OAuthRefused(Exception):
    """The sign-in through WeChat is refused (forged or old state, a used or invalid code)."""


# ---------------------------------------------------------------- HTTP


def _api_url(path: str, query: dict | None = None) -> str:
    url = settings.WECHAT_API_BASE.rstrip("/") + path
    return f"{url}?{urllib.parse.urlencode(query)}" if query else url


def _call(url: str, *, payload: dict | None = None) -> dict:
    """One request to WeChat, the JSON answer; transport trouble raises `DeliveryFailed`."""
    if not url.startswith(("https://", "http://")):
        raise DeliveryFailed("WECHAT_API_BASE is not an http(s) address")
    data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=data,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="GET" if payload is None else "POST",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 - scheme checked above
            request, timeout=settings.WECHAT_TIMEOUT_SECONDS
        ) as response:
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"WeChat answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryFailed(f"WeChat did not answer: {exc.__class__.__name__}") from exc
    try:
        answer = json.loads(body or b"{}")
    except ValueError as exc:
        raise DeliveryFailed("WeChat answered something that is not JSON") from exc
    if not isinstance(answer, dict):
        raise DeliveryFailed("WeChat answered something that is not a JSON object")
    return answer


def _errcode(answer: dict) -> int:
    try:
        return int(answer.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def _describe(answer: dict) -> str:
    return f"WeChat errcode {_errcode(answer)}: {str(answer.get('errmsg', ''))[:200]}"


# ---------------------------------------------------------------- access token


def _fetch_token() -> tuple[str, int]:
    answer = _call(
        _api_url("/cgi-bin/stable_token"),
        payload={
            "grant_type": "client_credential",
            "appid": settings.WECHAT_APP_ID,
            "secret": settings.WECHAT_APP_SECRET,
            "force_refresh": False,
        },
    )
    code = _errcode(answer)
    token = str(answer.get("access_token") or "")
    if code in CREDENTIALS_REFUSED:
        logger.error("WeChat refused the app credentials: %s", _describe(answer))
        raise WeChatPermanent(_describe(answer))
    if code or not token:
        raise DeliveryFailed(_describe(answer))
    try:
        expires_in = int(answer.get("expires_in") or 0)
    except (TypeError, ValueError):
        expires_in = 0
    return token, expires_in


def access_token() -> str:
    """The cached access token, or a new one fetched by one worker while the others wait.

    The lock is a `cache.add`; a worker that cannot get it waits for the token to appear.
    When none appears while a lock would live (its holder crashed, or Redis is down and
    `add` always fails), it fetches itself: the stable token's normal mode makes that safe.
    """
    token = cache.get(TOKEN_KEY)
    if token:
        return token
    owner = secrets.token_hex(8)
    deadline = time.monotonic() + TOKEN_LOCK_SECONDS
    while not cache.add(TOKEN_LOCK_KEY, owner, timeout=TOKEN_LOCK_SECONDS):
        token = cache.get(TOKEN_KEY)
        if token:
            return token
        if time.monotonic() > deadline:
            return _fetch_and_cache()
        time.sleep(TOKEN_WAIT_POLL_SECONDS)
    try:
        # Whoever held the lock before may have stored a token since our first look.
        return cache.get(TOKEN_KEY) or _fetch_and_cache()
    finally:
        if cache.get(TOKEN_LOCK_KEY) == owner:
            cache.delete(TOKEN_LOCK_KEY)


def _fetch_and_cache() -> str:
    token, expires_in = _fetch_token()
    keep = max(expires_in - TOKEN_MARGIN_SECONDS, TOKEN_MIN_CACHE_SECONDS)
    cache.set(TOKEN_KEY, token, timeout=keep)
    logger.info("WeChat access token fetched, kept %s s", keep)
    return token


def access_token_forget(token: str) -> None:
    """Drop the cached token WeChat refused (not a newer one another worker stored)."""
    if cache.get(TOKEN_KEY) == token:
        cache.delete(TOKEN_KEY)


# ---------------------------------------------------------------- template messages


def template_data(template: str, params: dict) -> tuple[str, dict]:
    """The template id and the `data` of the message, by the store's mapping.

    `WECHAT_TEMPLATES[template]` (else `["default"]`) is
    `{"template_id": "...", "fields": {"<WeChat field>": "<parameter name>"}}`; each
    field's value is the parameter of that name (`title` and `body` are always there).
    """
    mapping = settings.WECHAT_TEMPLATES.get(template) or settings.WECHAT_TEMPLATES.get("default")
    if not isinstance(mapping, dict) or not mapping.get("template_id") or not mapping.get("fields"):
        raise WeChatPermanent(f"no WeChat template is set for message {template or '-'!r}")
    data = {}
    for field, name in mapping["fields"].items():
        if name not in params:
            raise WeChatPermanent(f"WeChat template {template!r}: no value for {name!r}")
        data[str(field)] = {"value": str(params[name])[:VALUE_MAX_LENGTH]}
    return str(mapping["template_id"]), data


def _sent_key(key: str) -> str:
    return "wechat:sent:" + hashlib.sha256(key.encode()).hexdigest()


def _client_msg_id(key: str) -> str:
    """The duty's key as WeChat's `client_msg_id` (at most 64 characters)."""
    return key if len(key) <= 64 else hashlib.sha256(key.encode()).hexdigest()


def template_send(*, openid: str, template: str, params: dict, url: str = "", key: str = "") -> str:
    """Send one template message; the msgid WeChat gave it.

    With a `key` already accepted, the msgid of that send, and nothing goes out.
    """
    if not OPENID.match(openid or ""):
        raise WeChatPermanent("not a WeChat openid")
    template_id, data = template_data(template, params)
    if key:
        done = cache.get(_sent_key(key))
        if done:
            logger.info("WeChat message %s already accepted as %s: not sent again", key, done)
            return done
        if not cache.add(_sent_key(key) + ":sending", 1, timeout=SENDING_LOCK_SECONDS):
            # Held by another worker, or the cache is unreachable: either way the due task
            # retries later rather than risk a second message.
            raise DeliveryFailed("this message is being sent by another worker (or no cache)")
    try:
        payload = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            payload["url"] = url
        if key:
            payload["client_msg_id"] = _client_msg_id(key)
        msgid = _send_with_token(payload)
        if key:
            cache.set(_sent_key(key), msgid, timeout=int(settings.WECHAT_SENT_KEY_DAYS * 86400))
        return msgid
    finally:
        if key:
            cache.delete(_sent_key(key) + ":sending")


def _send_with_token(payload: dict) -> str:
    for attempt in (1, 2):
        token = access_token()
        answer = _call(
            _api_url("/cgi-bin/message/template/send", {"access_token": token}), payload=payload
        )
        code = _errcode(answer)
        if code == 0:
            return str(answer.get("msgid", ""))
        if code in TOKEN_INVALID:
            access_token_forget(token)
            if attempt == 1:
                logger.info("WeChat refused the access token (%s): fetching a new one", code)
                continue
        if code in RECIPIENT_UNREACHABLE | TEMPLATE_UNKNOWN:
            raise WeChatPermanent(_describe(answer))
        raise DeliveryFailed(_describe(answer))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


class WeChatBackend(LogBackend):
    """The "wechat" channel of `dealership.notifications`: a template message to the openid."""

    def address(self, customer: Customer) -> str:
        return customer.wechat_openid

    def send(
        self,
        *,
        to: str,
        body: str,
        title: str,
        key: str,
        template: str = "",
        params: dict | None = None,
        url: str = "",
    ) -> str:
        values = {"title": title, "body": body, **(params or {})}
        try:
            msgid = template_send(openid=to, template=template, params=values, url=url, key=key)
        except DeliveryFailed as exc:
            logger.warning(
                "WeChat message to %s (%s) not sent: %s",
                mask_openid(to),
                key or "-",
                mask_personal_data(str(exc)),
            )
            raise
        logger.info("WeChat message to %s (%s) accepted: %s", mask_openid(to), key or "-", msgid)
        return msgid


# ---------------------------------------------------------------- web authorisation (OAuth)


def oauth_authorize_url(redirect_uri: str, state: str) -> str:
    """WeChat's silent authorisation page (snsapi_base): it comes back with `code` and `state`.

    WeChat wants the parameters in this order and the `#wechat_redirect` fragment.
    """
    query = urllib.parse.urlencode(
        [
            ("appid", settings.WECHAT_APP_ID),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", "snsapi_base"),
            ("state", state),
        ]
    )
    base = settings.WECHAT_OAUTH_BASE.rstrip("/")
    return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"


def oauth_openid(code: str) -> str:
    """The openid of whoever WeChat gave `code` to; an invalid or used code is refused."""
    if not code or len(code) > OAUTH_CODE_MAX_LENGTH:
        raise OAuthRefused(_("The sign-in through WeChat is not valid. Open the page again."))
    answer = _call(
        _api_url(
            "/sns/oauth2/access_token",
            {
                "appid": settings.WECHAT_APP_ID,
                "secret": settings.WECHAT_APP_SECRET,
                "code": code,
                "grant_type": "authorization_code",
            },
        )
    )
    errcode = _errcode(answer)
    openid = str(answer.get("openid") or "")
    if errcode in OAUTH_CODE_REFUSED or (not errcode and not OPENID.match(openid)):
        logger.info("WeChat refused an authorisation code: %s", _describe(answer))
        raise OAuthRefused(_("The sign-in through WeChat is not valid. Open the page again."))
    if errcode:
        raise DeliveryFailed(_describe(answer))
    return openid


def oauth_state_issue(nonce: str, *, now: float | None = None) -> str:
    """A signed state for one sign-in: issued-at, the session's nonce, an HMAC (hex only)."""
    issued = f"{int(now if now is not None else time.time()):08x}"
    return issued + nonce + _state_signature(issued + nonce)


def oauth_state_check(state: str, nonce: str, *, now: float | None = None) -> None:
    """Refuse a state that was forged, altered, is too old or belongs to another session."""
    refused = OAuthRefused(_("The sign-in through WeChat is not valid. Open the page again."))
    if not nonce or len(state or "") != STATE_LENGTH or not re.fullmatch(r"[0-9a-f]+", state):
        raise refused
    issued, state_nonce, signature = state[:8], state[8:40], state[40:]
    if not constant_time_compare(signature, _state_signature(issued + state_nonce)):
        raise refused
    if not constant_time_compare(state_nonce, nonce):
        raise refused
    age = (now if now is not None else time.time()) - int(issued, 16)
    if not 0 <= age <= settings.WECHAT_OAUTH_STATE_MAX_AGE_SECONDS:
        raise OAuthRefused(_("The sign-in through WeChat took too long. Open the page again."))


def _state_signature(value: str) -> str:
    return salted_hmac(STATE_SALT, value, algorithm="sha256").hexdigest()[:40]


def oauth_nonce() -> str:
    return secrets.token_hex(16)


# ---------------------------------------------------------------- the openid on the customer


def customer_by_openid(openid: str) -> Customer | None:
    if not openid:
        return None
    return Customer.objects.filter(wechat_openid=openid).first()


def openid_bind(*, customer: Customer, openid: str, actor: User | None = None) -> Customer:
    """Bind a WeChat openid to the customer (replacing theirs); one WeChat, one customer.

    An openid bound to another customer is refused: the desk unbinds it there first.
    """
    if not OPENID.match(openid or ""):
        raise DomainError(_("This is not a WeChat account id."), field="wechat_openid")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.wechat_openid == openid:
            return customer
        if Customer.objects.filter(wechat_openid=openid).exclude(pk=customer.pk).exists():
            raise DomainError(
                _("This WeChat account is bound to another customer; unbind it there first."),
                field="wechat_openid",
            )
        customer.wechat_openid = openid
        try:
            with transaction.atomic():
                customer.save(update_fields=["wechat_openid"])
        except IntegrityError as exc:  # bound elsewhere a moment ago
            raise DomainError(
                _("This WeChat account is bound to another customer; unbind it there first."),
                field="wechat_openid",
            ) from exc
        timeline_record(
            kind="customer.wechat_bound",
            summary=StoredMessage(gettext_noop("WeChat bound")),
            customer=customer,
            subject=customer,
            actor=actor,
        )
    logger.info("WeChat %s bound to customer %s", mask_openid(openid), customer.pk)
    return customer


def openid_unbind(*, customer: Customer, actor: User | None) -> bool:
    """Forget the customer's openid (they changed WeChat, or asked); False if none was bound."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if not customer.wechat_openid:
            return False
        customer.wechat_openid = ""
        customer.save(update_fields=["wechat_openid"])
        timeline_record(
            kind="customer.wechat_unbound",
            summary=StoredMessage(gettext_noop("WeChat unbound")),
            customer=customer,
            subject=customer,
            actor=actor,
        )
    return True


def portal_session_sign_in(session, openid: str) -> Customer | None:
    """After WeChat named the visitor: keep the openid; sign the customer bound to it into the
    portal (the keys the portal reads)."""
    customer = customer_by_openid(openid)
    if customer is not None:
        session.cycle_key()  # a new session id for a signed-in customer
        session["portal_customer"] = customer.pk
        session["portal_signed_in_at"] = timezone.now().isoformat()
    session["wechat_openid"] = openid
    return customer
