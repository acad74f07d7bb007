"""The page-form fuzzer: crawl the site as one role, submit every form with hostile values.

Used by tests/test_form_fuzz.py (a short cut in `make test`, the long run with
`make form-fuzz`). For each role it starts at the home page, follows links within the
site (breadth first, a bounded number of pages, at most a few pages per URL shape such as
/customers/<id>/), parses every <form> and every element with `hx-post` / `hx-get`, and
submits each with hostile values chosen by field type. Every answer must be

- no 5xx;
- no raw markup echoed: the `<script>` payload never comes back unescaped in HTML;
- nothing changed when refused: a 4xx, or a form re-rendered with its errors, leaves the
  database as it was (the transaction's own insert/update/delete counters from
  `pg_stat_xact_user_tables` do not move).

Bodies are sent url-encoded as bytes, so a lone surrogate arrives as the invalid UTF-8 a
browser or a script could send.
"""

import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from django.db import connection

SCRIPT = '<script>alert("ffz")</script>'
HOSTILE_TEXT = {
    "empty": "",
    "100kB": "长" * 34_000,  # 3 bytes each in UTF-8: about 100 kB
    "nul": "a\x00b",
    "surrogate": "x\ud800y",
    "rtl": "\u202eabc\u202c",
    "emoji": "🚗😀👍",
    "fullwidth": "１２３４５",
    "html": SCRIPT,
    "formula": '=HYPERLINK("http://evil.example","x")',
    "far_past": "0001-01-01",
    "far_future": "9999-12-31",
    "huge": "1" + "0" * 30,
    "negative": "-1",
}
# Per field type, the values that make sense to try (the rest are still tried on text).
BY_TYPE = {
    "number": ["empty", "huge", "negative", "fullwidth", "html", "nul"],
    "date": ["empty", "far_past", "far_future", "html", "nul", "fullwidth"],
    "datetime-local": ["empty", "far_past", "far_future", "html"],
    "time": ["empty", "html", "huge"],
    "checkbox": ["html", "huge"],
    "radio": ["html", "huge", "empty"],
    "select": ["html", "huge", "negative", "empty", "nul"],
    "hidden": ["html", "huge", "negative", "empty", "nul"],
    "text": list(HOSTILE_TEXT),
}
SHORT_VALUES = ["empty", "100kB", "nul", "surrogate", "html", "far_past", "huge", "negative"]
SKIP_PATHS = ("/logout", "/accounts/logout", "/admin/", "/api/", "/static/", "/media/", "/i18n/")
SKIP_FIELD_TYPES = {"file", "submit", "button", "image", "reset", "password"}
ERROR_MARKERS = ('aria-invalid="true"', 'class="errorlist"', 'role="alert"')
IGNORED_TABLES = {"django_session"}


@dataclass
class Field:
    name: str
    type: str
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    page: str
    method: str
    action: str
    fields: list[Field] = field(default_factory=list)
    htmx: bool = False

    @property
    def key(self) -> tuple:
        return (self.method, shape(self.action), tuple(sorted(f.name for f in self.fields)))


class _PageParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for attr in ("hx-get", "hx-post"):
            if a.get(attr) and tag != "form":
                # A lone htmx element sends its own name/value (and hx-vals, not parsed).
                fields = [Field(a["name"], "text", a.get("value", ""))] if a.get("name") else []
                self.forms.append(
                    Form(self.page, attr[3:].upper(), urljoin(self.page, a[attr]), fields, True)
                )
        if tag == "form":
            method = (a.get("method") or "get").upper()
            action = a.get("action") or self.page
            if a.get("hx-post"):
                method, action = "POST", a["hx-post"]
            elif a.get("hx-get"):
                method, action = "GET", a["hx-get"]
            htmx = bool(a.get("hx-post") or a.get("hx-get"))
            self._form = Form(self.page, method, urljoin(self.page, action), htmx=htmx)
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in SKIP_FIELD_TYPES:
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                value = ""
            else:
                value = a.get("value", "")
            self._form.fields.append(Field(a["name"], kind, value))
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = Field(a["name"], "select")
            self._form.fields.append(self._select)
        elif self._select is not None and tag == "option":
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a or not self._select.value:
                self._select.value = value
        elif self._form is not None and tag == "textarea" and a.get("name"):
            self._textarea = Field(a["name"], "textarea")
            self._form.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def shape(url: str) -> str:
    """/customers/12/edit/?page=3 -> /customers/#/edit/ (one shape, a few samples crawled)."""
    return re.sub(r"\d+", "#", urlsplit(url).path)


def _within_site(url: str) -> bool:
    parts = urlsplit(url)
    return (
        not parts.scheme
        and not parts.netloc
        and parts.path.startswith("/")
        and not parts.path.startswith(SKIP_PATHS)
    )


def db_writes() -> int:
    """Rows inserted, updated or deleted by this transaction so far (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
            "FROM pg_stat_xact_user_tables WHERE relname <> ALL(%s)",
            [list(IGNORED_TABLES)],
        )
        return int(cursor.fetchone()[0])


@dataclass
class Finding:
    kind: str  # server_error, markup_echoed, changed_when_refused
    role: str
    method: str
    url: str
    field: str
    value: str
    status: int

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.role} {self.method} {self.url} "
            f"{self.field}={self.value} -> {self.status}"
        )


@dataclass
class Report:
    pages: int = 0
    forms: int = 0
    requests: int = 0
    inputs: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"form fuzz: {self.pages} pages, {self.forms} forms, {self.requests} requests, "
            f"inputs {dict(self.inputs)}, statuses {dict(sorted(self.statuses.items()))}, "
            f"{len(self.findings)} findings, {self.seconds:.0f} s"
        )


def _encode(pairs: list[tuple[str, str]]) -> str:
    return urlencode(
        [(k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass")) for k, v in pairs]
    )


def _refused(response, body: str) -> bool:
    if 400 <= response.status_code < 500:
        return True
    return response.status_code == 200 and any(marker in body for marker in ERROR_MARKERS)


class Fuzzer:
    def __init__(
        self,
        client,
        role: str,
        *,
        max_pages: int,
        per_shape: int,
        max_forms: int,
        values: list[str] | None,
        per_field: bool,
        report: Report,
        deadline: float | None = None,
    ):
        self.client = client
        client.raise_request_exception = False  # a 500 is a finding, not the end of the run
        self.role = role
        self.max_pages = max_pages
        self.per_shape = per_shape
        self.max_forms = max_forms
        self.values = values
        self.per_field = per_field
        self.report = report
        self.deadline = deadline

    def _late(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def crawl(self, start: str = "/") -> list[Form]:
        seen: set[str] = set()
        shapes: Counter = Counter()
        forms: dict[tuple, Form] = {}
        queue = deque([start])
        pages = 0
        while queue and pages < self.max_pages and not self._late():
            url = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            if shapes[shape(url)] >= self.per_shape:
                continue
            shapes[shape(url)] += 1
            response = self.client.get(url)
            self.report.requests += 1
            self.report.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.report.findings.append(
                    Finding("server_error", self.role, "GET", url, "", "", response.status_code)
                )
            if "text/html" not in response.get("Content-Type", ""):
                continue
            pages += 1
            parser = _PageParser(url)
            parser.feed(response.content.decode("utf-8", "replace"))
            for href in parser.links:
                target = urljoin(url, href).split("#")[0]
                if _within_site(target) and target not in seen:
                    queue.append(target)
            for form in parser.forms:
                if _within_site(form.action) and form.key not in forms:
                    forms[form.key] = form
        self.report.pages += pages
        return list(forms.values())[: self.max_forms]

    def _values_for(self, kind: str) -> list[str]:
        names = BY_TYPE.get(kind, BY_TYPE["text"])
        if self.values is not None:
            names = [n for n in names if n in self.values] or names[:2]
        return names

    def _submit(self, form: Form, pairs: list[tuple[str, str]], field_name: str, value: str):
        before = db_writes()
        headers = {"HX-Request": "true"} if form.htmx else {}
        if form.method == "GET":
            path, _sep, query = form.action.partition("?")
            response = self.client.get(
                path + "?" + _encode(parse_qsl(query) + pairs), headers=headers
            )
        else:
            response = self.client.post(
                form.action,
                _encode(pairs),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        self.report.requests += 1
        self.report.inputs[value] += 1
        self.report.statuses[response.status_code] += 1
        body = ""
        if "text/html" in response.get("Content-Type", "") and not response.streaming:
            body = response.content.decode("utf-8", "replace")
        found = []
        if response.status_code >= 500:
            found.append("server_error")
        if SCRIPT in body:
            found.append("markup_echoed")
        if form.method == "POST" and _refused(response, body) and db_writes() != before:
            found.append("changed_when_refused")
        for kind in found:
            self.report.findings.append(
                Finding(
                    kind,
                    self.role,
                    form.method,
                    form.action,
                    field_name,
                    value,
                    response.status_code,
                )
            )

    def fuzz(self, forms: list[Form]) -> None:
        for form in forms:
            if self._late():
                return
            self.report.forms += 1
            base = [(f.name, f.value) for f in form.fields if f.value or f.type != "checkbox"]
            targets = [f for f in form.fields] or [Field("q", "text")]
            if self.per_field:
                for target in targets:
                    for value in self._values_for(target.type):
                        pairs = [(n, v) for n, v in base if n != target.name]
                        pairs.append((target.name, HOSTILE_TEXT[value]))
                        self._submit(form, pairs, target.name, value)
            else:
                for value in self.values or list(HOSTILE_TEXT):
                    pairs = [
                        (f.name, HOSTILE_TEXT[value])
                        if f.type not in ("hidden",) or value == "html"
                        else (f.name, f.value)
                        for f in targets
                    ]
                    self._submit(form, pairs, "*", value)
