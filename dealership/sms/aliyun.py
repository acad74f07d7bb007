"""Alibaba Cloud SMS (Dysmsapi 2017-05-25 `SendSms`) through its documented RPC HTTP API.

The request is form-encoded and signed with the RPC signature (version 1.0): the sorted,
percent-encoded parameters, HMAC-SHA1 with the AccessKey secret + "&", base64. Our stable
key goes as `OutId`, so a delivery receipt names the duty that sent it.
"""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings

from ..notifications import DeliveryFailed, DeliveryRejected, SmsProvider
from .http import provider_post, template_code

PROVIDER = "aliyun"
# Codes that no retry can fix: the number, the sign name, the template, the credentials.
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_SIGN_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.INVALID_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.DENY_IP_RANGE",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.ACCOUNT_ABNORMAL",
        "isv.PRODUCT_UN_SUBSCRIPT",
        "isv.PRODUCT_UNSUBSCRIBE",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "IncompleteSignature",
        "MissingParameter",
    }
)


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the RPC signature wants it (space %20, ~ kept)."""
    return quote(str(value), safe="~")


def rpc_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params)
    )
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsProvider(SmsProvider):
    def send(self, *, to, text, key, template="", params=None) -> str:
        code = template_code(settings.SMS_ALIYUN_TEMPLATES, template, "Alibaba Cloud")
        query = {
            "AccessKeyId": settings.SMS_ALIYUN_ACCESS_KEY_ID,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            "PhoneNumbers": to,
            "SignName": settings.SMS_ALIYUN_SIGN_NAME,
            "TemplateCode": code,
            "TemplateParam": json.dumps(params or {}, ensure_ascii=False),
        }
        if key:
            query["OutId"] = key
        query["Signature"] = rpc_signature(query, settings.SMS_ALIYUN_ACCESS_KEY_SECRET)
        data = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in query.items())
        status, answer = provider_post(
            settings.SMS_ALIYUN_ENDPOINT,
            data=data.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        result = str(answer.get("Code", ""))
        if status == 200 and result == "OK" and answer.get("BizId"):
            return str(answer["BizId"])
        reason = f"Alibaba Cloud SMS {result or status}: {answer.get('Message', '')}".strip()
        if result in PERMANENT_CODES:
            raise DeliveryRejected(reason)
        # Rate limits (isv.BUSINESS_LIMIT_CONTROL), throttling, balance, unknown: later.
        raise DeliveryFailed(reason)
