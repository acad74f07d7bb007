"""Local fake servers for Alibaba Cloud SMS and Tencent Cloud SMS (their HTTP contracts).

Each runs `http.server.ThreadingHTTPServer` on 127.0.0.1:0 in a thread and behaves like
the provider as far as we use it: it checks the request signature with the secret it
knows (wrong: the provider's own error code), validates the number, enforces a rate limit
per number, answers with the provider's error codes on demand, can fail with HTTP 500
after taking the message (the answer lost), and can hang until released (the client's
time-out). It keeps what it "delivered" and drops a duplicate of an already accepted
OutId / SessionContext (delivered once), and builds the receipts and replies it would push.
"""

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote


class _FakeServer:
    """The shared part: a server in a thread, the behaviour switches, what it received."""

    def __init__(self, *, rate_limit: int = 5):
        self.mode = "ok"  # ok | error:<code> | 500 | accept_then_500 | hang
        self.rate_limit = rate_limit
        self.requests: list[dict] = []  # every request that passed the signature check
        self.delivered: list[dict] = []  # messages that went out (once per key)
        self.by_key: dict[str, str] = {}  # key → provider id
        self.per_number: dict[str, int] = {}
        self.release = threading.Event()  # lets a hanging request finish
        self.hanging = threading.Event()  # set while a request hangs
        self._lock = threading.Lock()
        self._serial = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = fake.handle(self.headers, raw)
                body = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a time-out test)

            def log_message(self, *args):
                """No access log: the fake's requests stay out of the test output."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:06d}"

    def _take(self, *, number: str, key: str, record: dict, prefix: str):
        """Accept one message: (id, None), or (None, "rate") past the per-number limit.

        A key seen before gets the first id back and is not delivered again.
        """
        with self._lock:
            if key and key in self.by_key:
                return self.by_key[key], None
            if self.per_number.get(number, 0) >= self.rate_limit:
                return None, "rate"
            self.per_number[number] = self.per_number.get(number, 0) + 1
            ref = self._next_id(prefix)
            if key:
                self.by_key[key] = ref
            self.delivered.append({**record, "id": ref})
            return ref, None

    def _hang(self) -> None:
        self.hanging.set()
        self.release.wait(30)


# ------------------------------------------------------------------ Alibaba Cloud


def _aliyun_encode(value: str) -> str:
    return quote(str(value), safe="~")


class FakeAliyunSms(_FakeServer):
    """Dysmsapi 2017-05-25 SendSms (RPC style, signature version 1.0, HMAC-SHA1)."""

    def __init__(self, *, access_key_id, access_key_secret, sign_name, templates, **kwargs):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = set(templates)
        self.nonces: set[str] = set()
        super().__init__(**kwargs)

    def handle(self, headers, raw: bytes) -> tuple[int, dict]:
        params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        request_id = self._next_id("REQ-")
        signature = params.pop("Signature", "")
        if params.get("AccessKeyId") != self.access_key_id:
            return 404, {
                "Code": "InvalidAccessKeyId.NotFound",
                "Message": "Specified access key is not found.",
                "RequestId": request_id,
            }
        canonical = "&".join(
            f"{_aliyun_encode(k)}={_aliyun_encode(params[k])}" for k in sorted(params)
        )
        to_sign = f"POST&{_aliyun_encode('/')}&{_aliyun_encode(canonical)}"
        expected = base64.b64encode(
            hmac.new(f"{self.access_key_secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if not hmac.compare_digest(signature, expected):
            return 400, {
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature is not matched with our calculation.",
                "RequestId": request_id,
            }
        with self._lock:
            if params.get("SignatureNonce") in self.nonces:
                return 400, {
                    "Code": "SignatureNonceUsed",
                    "Message": "Specified signature nonce was used already.",
                    "RequestId": request_id,
                }
            self.nonces.add(params.get("SignatureNonce", ""))
        self.requests.append(params)
        if self.mode == "hang":
            self._hang()
        if self.mode == "500":
            return 500, {"Code": "ServiceUnavailable", "RequestId": request_id}
        if self.mode.startswith("error:"):
            code = self.mode.split(":", 1)[1]
            return 200, {"Code": code, "Message": code, "RequestId": request_id}
        number = params.get("PhoneNumbers", "")
        if not re.fullmatch(r"1[3-9]\d{9}", number):
            return 200, {
                "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                "Message": "非法手机号",
                "RequestId": request_id,
            }
        if params.get("SignName") != self.sign_name:
            return 200, {
                "Code": "isv.SMS_SIGNATURE_ILLEGAL",
                "Message": "签名不合法",
                "RequestId": request_id,
            }
        if params.get("TemplateCode") not in self.templates:
            return 200, {
                "Code": "isv.SMS_TEMPLATE_ILLEGAL",
                "Message": "模板不合法",
                "RequestId": request_id,
            }
        template_params = json.loads(params.get("TemplateParam") or "{}")
        too_long = [k for k, v in template_params.items() if k != "link" and len(str(v)) > 20]
        if too_long:
            return 200, {
                "Code": "isv.PARAM_LENGTH_LIMIT",
                "Message": f"参数超出长度限制 {too_long}",
                "RequestId": request_id,
            }
        biz_id, refused = self._take(
            number=number,
            key=params.get("OutId", ""),
            record={
                "to": number,
                "template": params["TemplateCode"],
                "params": template_params,
                "out_id": params.get("OutId", ""),
            },
            prefix="BIZ",
        )
        if refused:
            return 200, {
                "Code": "isv.BUSINESS_LIMIT_CONTROL",
                "Message": "触发号码天级流控Permits:5",
                "RequestId": request_id,
            }
        if self.mode == "accept_then_500":
            return 500, {"Code": "InternalError", "RequestId": request_id}
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def receipt(self, biz_id: str, *, success: bool = True, err_code: str = "DELIVERED") -> list:
        """The SmsReport push for one message (HTTP batch push: a JSON array)."""
        sent = next(item for item in self.delivered if item["id"] == biz_id)
        return [
            {
                "phone_number": sent["to"],
                "send_time": "2026-12-04 10:00:00",
                "report_time": "2026-12-04 10:00:05",
                "success": success,
                "err_code": err_code,
                "err_msg": "用户接收成功" if success else "用户接收失败",
                "sms_size": "1",
                "biz_id": biz_id,
                "out_id": sent["out_id"],
            }
        ]

    @staticmethod
    def reply(mobile: str, content: str) -> list:
        """The SmsUp push of one uplink message."""
        return [
            {
                "phone_number": mobile,
                "send_time": "2026-12-04 10:01:00",
                "content": content,
                "sign_name": "星辰汽车",
                "dest_code": "1234",
                "sequence_id": 1,
            }
        ]


# ------------------------------------------------------------------ Tencent Cloud


class FakeTencentSms(_FakeServer):
    """sms.tencentcloudapi.com SendSms 2021-01-11, TC3-HMAC-SHA256."""

    def __init__(self, *, secret_id, secret_key, sdk_app_id, sign_name, templates, **kwargs):
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.templates = set(templates)
        super().__init__(**kwargs)

    def _error(self, code: str, message: str, request_id: str) -> tuple[int, dict]:
        # Tencent Cloud answers errors with HTTP 200 and Response.Error.
        return 200, {
            "Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}
        }

    def _signature_ok(self, headers, raw: bytes) -> str:
        """ "" when the TC3 signature matches, else the error code."""
        auth = headers.get("Authorization", "")
        match = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d\d-\d\d)/sms/tc3_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            auth,
        )
        if not match:
            return "AuthFailure.SignatureFailure"
        secret_id, date, signed_headers, signature = match.groups()
        if secret_id != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        timestamp = int(headers.get("X-TC-Timestamp", "0") or 0)
        if abs(time.time() - timestamp) > 300:
            return "AuthFailure.SignatureExpire"
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != date:
            return "AuthFailure.SignatureFailure"
        names = signed_headers.split(";")
        if "content-type" not in names or "host" not in names:
            return "AuthFailure.SignatureFailure"
        canonical_headers = "".join(
            f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in names
        )
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                canonical_headers,
                signed_headers,
                hashlib.sha256(raw).hexdigest(),
            ]
        )
        scope = f"{date}/sms/tc3_request"
        to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )

        def sign(key: bytes, msg: str) -> bytes:
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        key = sign(sign(sign(f"TC3{self.secret_key}".encode(), date), "sms"), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return "" if hmac.compare_digest(signature, expected) else "AuthFailure.SignatureFailure"

    def handle(self, headers, raw: bytes) -> tuple[int, dict]:
        request_id = self._next_id("req-")
        if headers.get("X-TC-Action") != "SendSms" or headers.get("X-TC-Version") != "2021-01-11":
            return self._error("InvalidAction", "action or version unknown", request_id)
        failure = self._signature_ok(headers, raw)
        if failure:
            return self._error(
                failure, "The provided credentials could not be validated.", request_id
            )
        payload = json.loads(raw)
        self.requests.append(payload)
        if self.mode == "hang":
            self._hang()
        if self.mode == "500":
            return 502, {"message": "bad gateway"}
        if payload.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId", request_id)
        if payload.get("SignName") != self.sign_name:
            return self._error(
                "FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批", request_id
            )
        if payload.get("TemplateId") not in self.templates:
            return self._error(
                "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批", request_id
            )
        if self.mode.startswith("error:"):
            return self._error(self.mode.split(":", 1)[1], "on demand", request_id)
        (number,) = payload["PhoneNumberSet"]
        key = payload.get("SessionContext", "")
        status = {
            "PhoneNumber": number,
            "Fee": 1,
            "SessionContext": key,
            "IsoCode": "CN",
        }
        if not re.fullmatch(r"\+861[3-9]\d{9}", number):
            status.update(
                SerialNo="",
                Code="InvalidParameterValue.IncorrectPhoneNumber",
                Message="手机号格式错误",
            )
        else:
            serial, refused = self._take(
                number=number,
                key=key,
                record={
                    "to": number,
                    "template": payload["TemplateId"],
                    "params": payload.get("TemplateParamSet", []),
                    "session": key,
                },
                prefix="2433:",
            )
            if refused:
                status.update(
                    SerialNo="",
                    Code="LimitExceeded.PhoneNumberDailyLimit",
                    Message="单个手机号日下发短信条数超过设定的上限",
                )
            else:
                status.update(SerialNo=serial, Code="Ok", Message="send success")
        if self.mode == "accept_then_500":
            return 500, {"message": "internal error"}
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}

    def receipt(self, serial: str, *, success: bool = True, errmsg: str = "DELIVRD") -> list:
        sent = next(item for item in self.delivered if item["id"] == serial)
        return [
            {
                "user_receive_time": "2026-12-04 10:00:05",
                "nationcode": "86",
                "mobile": sent["to"].removeprefix("+86"),
                "report_status": "SUCCESS" if success else "FAIL",
                "errmsg": errmsg,
                "description": "用户短信送达成功" if success else "用户短信未送达",
                "sid": serial,
            }
        ]

    @staticmethod
    def reply(mobile: str, text: str) -> dict:
        return {
            "extend": "",
            "mobile": mobile,
            "nationcode": "86",
            "sign": "星辰汽车",
            "text": text,
            "time": int(time.time()),
        }
