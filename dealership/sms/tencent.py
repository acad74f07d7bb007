"""Tencent Cloud SMS (`SendSms`, API 2021-01-11) through its documented HTTP API.

A JSON POST signed with TC3-HMAC-SHA256 (canonical request → string to sign → key
derived from the secret, the date and the service). Our stable key goes as
`SessionContext`; the answer's `SerialNo` is what the delivery receipt calls `sid`.
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings

from ..notifications import DeliveryFailed, DeliveryRejected, SmsProvider
from .http import provider_post, template_code

PROVIDER = "tencent"
SERVICE = "sms"
VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
PERMANENT_PREFIXES = (
    "AuthFailure.",
    "InvalidParameterValue.",
    "InvalidParameter.",
    "MissingParameter",
    "UnauthorizedOperation.",
    "UnsupportedOperation.",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.MissingTemplateToModify",
)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *, secret_id: str, secret_key: str, host: str, action: str, body: bytes, timestamp: int
) -> str:
    """The `Authorization` header of a TC3-HMAC-SHA256 signed POST to `/`."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n",
            "content-type;host;x-tc-action",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host;x-tc-action, Signature={signature}"
    )


def e164(mobile: str) -> str:
    return mobile if mobile.startswith("+") else f"+86{mobile}"


def _refusal(code: str, message: str) -> DeliveryFailed:
    reason = f"Tencent Cloud SMS {code}: {message}".strip()
    if code.startswith(PERMANENT_PREFIXES):
        return DeliveryRejected(reason)
    # LimitExceeded.* (rate limits), RequestLimitExceeded, InternalError.*, balance: later.
    return DeliveryFailed(reason)


class TencentSmsProvider(SmsProvider):
    def send(self, *, to, text, key, template="", params=None) -> str:
        code = template_code(settings.SMS_TENCENT_TEMPLATES, template, "Tencent Cloud")
        payload = {
            "PhoneNumberSet": [e164(to)],
            "SmsSdkAppId": settings.SMS_TENCENT_SDK_APP_ID,
            "SignName": settings.SMS_TENCENT_SIGN_NAME,
            "TemplateId": code,
            "TemplateParamSet": [str(value) for value in (params or {}).values()],
        }
        if key:
            payload["SessionContext"] = key
        body = json.dumps(payload, ensure_ascii=False).encode()
        host = urlsplit(settings.SMS_TENCENT_ENDPOINT).netloc.lower()
        timestamp = int(time.time())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=settings.SMS_TENCENT_SECRET_ID,
                secret_key=settings.SMS_TENCENT_SECRET_KEY,
                host=host,
                action="SendSms",
                body=body,
                timestamp=timestamp,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": settings.SMS_TENCENT_REGION,
        }
        _status, answer = provider_post(settings.SMS_TENCENT_ENDPOINT, data=body, headers=headers)
        response = answer.get("Response") or {}
        error = response.get("Error")
        if error:
            raise _refusal(str(error.get("Code", "")), str(error.get("Message", "")))
        statuses = response.get("SendStatusSet") or [{}]
        result = statuses[0]
        if result.get("Code") == "Ok" and result.get("SerialNo"):
            return str(result["SerialNo"])
        raise _refusal(str(result.get("Code", "")), str(result.get("Message", "")))
