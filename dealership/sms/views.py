"""The providers' callbacks: delivery receipts and customers' replies (public, POST JSON).

Neither provider signs these pushes, so each URL carries the secret `SMS_CALLBACK_SECRET`,
compared in constant time; a wrong one gets 403 and changes nothing. Each answers with
the body its provider expects, also for an id we do not know (the provider would retry).
"""

import json
import logging

from django.conf import settings
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..roles import public_view
from .inbound import sms_receipt_apply, sms_reply_receive

logger = logging.getLogger(__name__)

# Items read from one push; a provider batches far fewer.
MAX_ITEMS = 500

ALIYUN_OK = {"code": 0, "msg": "成功"}
TENCENT_OK = {"result": 0, "errmsg": "OK"}


def _authorised(token: str) -> bool:
    secret = settings.SMS_CALLBACK_SECRET
    return bool(secret) and constant_time_compare(token, secret)


def _items(request, *, single: bool = False) -> list[dict] | None:
    """The pushed JSON as a list of objects (a single object for Tencent's reply)."""
    try:
        data = json.loads(request.body or b"null")
    except ValueError:
        return None
    if single and isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return None
    return data[:MAX_ITEMS]


def _text(item: dict, name: str, limit: int = 100) -> str:
    value = item.get(name)
    return "" if value is None else str(value)[:limit]


def _callback(provider: str, *, ok: dict, refused: dict, bad: dict, single=False):
    def decorator(handle):
        @public_view
        @csrf_exempt
        @require_POST
        def view(request, token: str):
            if not _authorised(token):
                logger.warning("sms %s callback with a wrong secret refused", provider)
                return JsonResponse(refused, status=403)
            items = _items(request, single=single)
            if items is None:
                return JsonResponse(bad, status=400)
            for item in items:
                handle(item)
            return JsonResponse(ok)

        view.__name__ = handle.__name__
        return view

    return decorator


_ALIYUN = {
    "ok": ALIYUN_OK,
    "refused": {"code": 403, "msg": "forbidden"},
    "bad": {"code": 400, "msg": "bad request"},
}
_TENCENT = {
    "ok": TENCENT_OK,
    "refused": {"result": 403, "errmsg": "forbidden"},
    "bad": {"result": 400, "errmsg": "bad request"},
}


@_callback("aliyun", **_ALIYUN)
def aliyun_report(item: dict) -> None:
    sms_receipt_apply(
        provider="aliyun",
        provider_ref=_text(item, "biz_id"),
        delivered=item.get("success") in (True, "true"),
        code=_text(item, "err_code", 50),
        detail=_text(item, "err_msg", 200),
    )


@_callback("aliyun", **_ALIYUN)
def aliyun_reply(item: dict) -> None:
    sms_reply_receive(
        provider="aliyun", mobile=_text(item, "phone_number", 30), text=_text(item, "content", 500)
    )


@_callback("tencent", **_TENCENT)
def tencent_report(item: dict) -> None:
    sms_receipt_apply(
        provider="tencent",
        provider_ref=_text(item, "sid"),
        delivered=item.get("report_status") == "SUCCESS",
        code=_text(item, "errmsg", 50),
        detail=_text(item, "description", 200),
    )


@_callback("tencent", single=True, **_TENCENT)
def tencent_reply(item: dict) -> None:
    sms_reply_receive(
        provider="tencent", mobile=_text(item, "mobile", 30), text=_text(item, "text", 500)
    )
