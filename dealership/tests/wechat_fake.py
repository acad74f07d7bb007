"""A local fake of the WeChat Official Account API, on 127.0.0.1, in a thread.

It implements the HTTP contract our adapter uses, with WeChat's answers:
- `POST /cgi-bin/stable_token` (JSON appid, secret, grant_type, force_refresh): checks the
  app id (40013) and secret (40125); normal mode answers the current token while it is
  valid, a new one after it expired;
- `POST /cgi-bin/message/template/send?access_token=`: 40001 for an unknown token, 42001 for
  an expired one, 40037 for an unknown template, 40003 for an unknown openid, 43004 for a
  user who no longer follows; one message per openid + `client_msg_id`; can be told to
  answer an errcode, an HTTP status, or hang (then deliver late);
- `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`: the
  openid of a code it issued, once (40163 "code been used" on replay, 40029 unknown code).
"""

import contextlib
import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeWeChat:
    def __init__(self, *, appid: str, secret: str, templates: set[str]):
        self.appid, self.secret, self.templates = appid, secret, templates
        self.lock = threading.Lock()
        self.current_token = ""
        self.expired_tokens: set[str] = set()
        self.token_calls = 0
        self.token_requested = threading.Event()
        self.token_gate: threading.Event | None = None  # set: token answers wait for it
        self.followers: set[str] = set()
        self.unfollowed: set[str] = set()
        self.delivered: list[dict] = []
        self.send_calls = 0
        self.scripted: list[tuple[str, int]] = []  # ("errcode"|"http"|"hang", value)
        self.release = threading.Event()  # lets a hanging answer go
        self.hang_done = threading.Event()
        self.client_msg_ids: dict[tuple[str, str], int] = {}
        self.codes: dict[str, str] = {}
        self.used_codes: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------ test controls

    def start(self) -> "FakeWeChat":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.token_gate is not None:
            self.token_gate.set()
        self.server.shutdown()
        self.server.server_close()

    def expire_token(self) -> None:
        """The current token runs out (WeChat answers 42001 for it)."""
        with self.lock:
            self.expired_tokens.add(self.current_token)

    def issue_code(self, openid: str) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = openid
        return code

    def answer_next_send(self, kind: str, value: int = 0) -> None:
        self.scripted.append((kind, value))

    # ------------------------------------------------------------ the contract

    def stable_token(self, body: dict) -> dict:
        with self.lock:
            self.token_calls += 1
        self.token_requested.set()
        if self.token_gate is not None:
            self.token_gate.wait(10)
        if body.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if body.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if body.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        with self.lock:
            if not self.current_token or self.current_token in self.expired_tokens:
                self.current_token = "TOKEN-" + secrets.token_hex(12)
            return {"access_token": self.current_token, "expires_in": 7200}

    def template_send(self, query: dict, body: dict) -> tuple[int, dict]:
        with self.lock:
            self.send_calls += 1
            scripted = self.scripted.pop(0) if self.scripted else None
        token = query.get("access_token", "")
        if token in self.expired_tokens:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        if not token or token != self.current_token:
            return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if scripted is not None:
            kind, value = scripted
            if kind == "hang":  # answers late: the message goes out after the caller gave up
                self.release.wait(10)
                try:
                    return self._deliver(body)
                finally:
                    self.hang_done.set()
            if kind == "http":
                return value, {"errcode": -1, "errmsg": "system error"}
            return 200, {"errcode": value, "errmsg": "scripted"}
        return self._deliver(body)

    def _deliver(self, body: dict) -> tuple[int, dict]:
        if body.get("template_id") not in self.templates:
            return 200, {"errcode": 40037, "errmsg": "invalid template_id"}
        data = body.get("data")
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and "value" in v for v in data.values()
        ):
            return 200, {"errcode": 47001, "errmsg": "data format error"}
        openid = body.get("touser", "")
        if openid in self.unfollowed:
            return 200, {"errcode": 43004, "errmsg": "require subscribe"}
        if openid not in self.followers:
            return 200, {"errcode": 40003, "errmsg": "invalid openid"}
        with self.lock:
            # client_msg_id: one message per openid + id (WeChat keeps it ten minutes; the
            # answer to a repeat is not documented, the fake answers the first msgid).
            repeat = (openid, body.get("client_msg_id"))
            if repeat[1] and repeat in self.client_msg_ids:
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": self.client_msg_ids[repeat]}
            self.delivered.append(body)
            msgid = 200163800 + len(self.delivered)
            if repeat[1]:
                self.client_msg_ids[repeat] = msgid
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def oauth_access_token(self, query: dict) -> dict:
        if query.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if query.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        code = query.get("code", "")
        with self.lock:
            if code in self.used_codes:
                return {"errcode": 40163, "errmsg": "code been used"}
            openid = self.codes.pop(code, None)
            if openid is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            self.used_codes.add(code)
        return {
            "access_token": "WEB-" + secrets.token_hex(8),
            "expires_in": 7200,
            "refresh_token": "R-" + secrets.token_hex(8),
            "openid": openid,
            "scope": "snsapi_base",
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                """No access log: the fake's requests stay out of the test output."""

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; encoding=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up waiting (time-out test)
                    self.wfile.write(data)

            def _split(self):
                parsed = urllib.parse.urlsplit(self.path)
                return parsed.path, dict(urllib.parse.parse_qsl(parsed.query))

            def do_GET(self):
                path, query = self._split()
                if path == "/sns/oauth2/access_token":
                    self._answer(200, fake.oauth_access_token(query))
                else:
                    self._answer(404, {"errcode": 404, "errmsg": "not found"})

            def do_POST(self):
                path, query = self._split()
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._answer(200, {"errcode": 47001, "errmsg": "data format error"})
                    return
                if path == "/cgi-bin/stable_token":
                    self._answer(200, fake.stable_token(body))
                elif path == "/cgi-bin/message/template/send":
                    self._answer(*fake.template_send(query, body))
                else:
                    self._answer(404, {"errcode": 404, "errmsg": "not found"})

        return Handler
