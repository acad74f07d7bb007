"""A customer's requests about their personal data (PIPL art. 44–47): see, export, correct,
delete. The service manager records each request and its answer.

Personal data lives in several apps. Each app registers its part here
(`personal_data_register`): what an export shows of a customer, how their data is erased,
and why they cannot be erased yet (an open visit). This module never imports the apps above
it; they call it.

Deletion anonymises: the name becomes "已删除客户 #<id>", contact fields are cleared or replaced
by a marker that cannot be reversed, message texts and addresses are blanked and the person's
signatures removed. Settlements, invoices, receipts, work orders and their amounts stay as
they are (the store's accounting records) and visits stay linked to the (anonymous) customer,
so the store's figures do not change.
"""

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Replace
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from openpyxl import Workbook

from .consent import Purpose, consent_record
from .errors import DomainError
from .models import (
    Customer,
    CustomerLink,
    DueTask,
    InboundSms,
    Message,
    PrivacyRequest,
    PrivacyRequestKind,
    TimelineEvent,
    User,
)
from .services import timeline_record
from .states import DUE_TASK_STATES, DueTaskState
from .stored_text import StoredMessage
from .text import NOTE_MAX_LENGTH, clean_text
from .transitions import lock_row, move_all

# How far back a request may be dated when it is recorded late (a letter found in the post).
RECEIVED_DAYS_BACK = 366
# What replaces a cleared contact that cannot stay empty; nothing of the old value is kept.
ERASED = "已删除"


@dataclass(frozen=True)
class PersonalDataPart:
    key: str
    export: Callable[[Customer], list[dict]] | None
    erase: Callable[[Customer], int] | None
    refuse: Callable[[Customer], str | None] | None


PARTS: dict[str, PersonalDataPart] = {}


def personal_data_register(
    key: str,
    *,
    export: Callable[[Customer], list[dict]] | None = None,
    erase: Callable[[Customer], int] | None = None,
    refuse: Callable[[Customer], str | None] | None = None,
) -> None:
    """Declare an app's part of a customer's personal data (called from its `ready`).

    `export(customer)` gives rows (dicts of plain values) for the export; `erase(customer)`
    anonymises the part and returns how many rows it changed; `refuse(customer)` returns a
    reason the customer cannot be deleted now, or None.
    """
    PARTS[key] = PersonalDataPart(key=key, export=export, erase=erase, refuse=refuse)


# ------------------------------------------------------------------ the store's own part


def _customer_rows(customer: Customer) -> list[dict]:
    return [
        {field: getattr(customer, field) for field in ("id", *Customer.EDITABLE_FIELDS)}
        | {"created_at": customer.created_at}
    ]


def _vehicle_rows(customer: Customer) -> list[dict]:
    return list(
        customer.vehicles.values(
            "id", "plate", "vin", "brand", "model", "colour", "registration_date"
        )
    )


def _message_rows(customer: Customer) -> list[dict]:
    return list(
        customer.messages.order_by("sent_at").values(
            "sent_at", "channel", "to", "template", "body", "status"
        )
    )


def _consent_rows(customer: Customer) -> list[dict]:
    return list(
        customer.consents.order_by("at", "id").values(
            "at", "purpose", "granted", "source", "text_code", "text"
        )
    )


def _request_rows(customer: Customer) -> list[dict]:
    return list(
        customer.privacy_requests.order_by("received_at").values(
            "received_at", "kind", "channel", "answered_at", "answer"
        )
    )


personal_data_register("customer", export=_customer_rows)
personal_data_register("vehicles", export=_vehicle_rows)
personal_data_register("messages", export=_message_rows)
personal_data_register("consents", export=_consent_rows)
personal_data_register("privacy_requests", export=_request_rows)


def _customer_erase(customer: Customer) -> int:
    """The customer row and its history, messages, timeline texts, links and open duties."""
    name, mobile = customer.name, customer.mobile
    anonymous = {
        "name": _anonymous_name(customer),
        "mobile": ERASED,
        "mobile_alt": "",
        "email": "",
        "address": "",
        "company": "",
        "preferred_contact_time": "",
        "notes": "",
        "do_not_call": True,
    }
    # The WeChat account is not in the history (excluded there): only the row forgets it.
    changed = Customer.objects.filter(pk=customer.pk).update(wechat_openid="", **anonymous)
    changed += InboundSms.objects.filter(customer=customer).update(mobile=ERASED, text="")
    # The history keeps every earlier version of the row: it is anonymised the same way.
    changed += Customer.history.filter(id=customer.pk).update(**anonymous)
    changed += Message.objects.filter(customer=customer).update(to=ERASED, body="")
    # The timeline copies messages as sent; other lines may name the customer.
    timeline = TimelineEvent.objects.filter(customer=customer)
    changed += timeline.filter(kind__startswith="message.").update(summary="", data={})
    for value in {name, mobile} - {""}:
        changed += timeline.update(
            summary=Replace("summary", Value(value), Value(anonymous["name"]))
        )
    now = timezone.now()
    CustomerLink.objects.filter(customer=customer, revoked_at__isnull=True).update(revoked_at=now)
    move_all(
        DUE_TASK_STATES,
        DueTask.objects.filter(customer=customer),
        DueTaskState.CANCELLED,
        from_=(DueTaskState.PENDING, DueTaskState.CLAIMED, DueTaskState.FAILED),
    )
    return changed


def _anonymous_name(customer: Customer) -> str:
    return f"已删除客户 #{customer.pk}"


def history_erase(model: type[models.Model], ids: list[int], **values) -> int:
    """Overwrite `values` in the django-simple-history rows of `model`'s rows `ids` too: the
    history keeps every earlier version, personal data included."""
    history = getattr(model, "history", None)
    if history is None or not ids:
        return 0
    return history.filter(id__in=ids).update(**values)


def files_erase(rows: models.QuerySet, field: str, *, signer_field: str = "") -> int:
    """Delete the files of `field` (signatures, photos of the person) of `rows` and clear the
    field and the name written beside it, in the rows and their history; returns how many
    rows had a file."""
    changed = 0
    for row in rows.exclude(**{field: ""}):
        getattr(row, field).delete(save=False)
        changed += 1
    values = {field: ""} | ({signer_field: ERASED} if signer_field else {})
    ids = list(rows.values_list("pk", flat=True))
    rows.model.objects.filter(pk__in=ids).update(**values)
    history_erase(rows.model, ids, **values)
    return changed


# ------------------------------------------------------------------ requests


def privacy_request_record(
    *,
    customer: Customer,
    kind: str,
    channel: str,
    received_at: datetime,
    note: str = "",
    actor: User,
) -> PrivacyRequest:
    """Record a customer's request about their data (nothing is done to the data yet)."""
    note = clean_text(note, field="note", max_length=NOTE_MAX_LENGTH)
    now = timezone.now()
    if received_at > now:
        raise DomainError(_("The request cannot be received in the future."), field="received_at")
    if received_at < now - timedelta(days=RECEIVED_DAYS_BACK):
        raise DomainError(
            _("A request received more than %(days)s days ago cannot be recorded now.")
            % {"days": RECEIVED_DAYS_BACK},
            field="received_at",
        )
    request = PrivacyRequest(
        customer=customer,
        kind=kind,
        channel=channel,
        received_at=received_at,
        note=note,
        recorded_by=actor,
    )
    request.full_clean()
    with transaction.atomic():
        request.save()
        timeline_record(
            kind="privacy.request",
            summary=StoredMessage(
                gettext_noop("Privacy request recorded: %(kind)s"),
                kind=PrivacyRequestKind(kind).label,
            ),
            customer=customer,
            subject=request,
            actor=actor,
        )
    return request


def _answer(request: PrivacyRequest, *, actor: User, answer: str, summary) -> PrivacyRequest:
    request.answered_at = timezone.now()
    request.answered_by = actor
    request.answer = answer
    request.save(update_fields=["answered_at", "answered_by", "answer"])
    timeline_record(
        kind="privacy.answered",
        summary=summary,
        customer=request.customer,
        subject=request,
        actor=actor,
    )
    return request


def _open_request(request: PrivacyRequest) -> PrivacyRequest:
    request = lock_row(request)
    if not request.is_open:
        raise DomainError(
            _("This request was already answered on %(when)s.")
            % {"when": timezone.localtime(request.answered_at).strftime("%Y-%m-%d %H:%M")},
            code="already_answered",
        )
    return request


def privacy_request_answer(*, request: PrivacyRequest, actor: User, answer: str) -> PrivacyRequest:
    """Answer a request to see or correct data (what was shown or changed, in words)."""
    answer = clean_text(answer, field="answer", max_length=NOTE_MAX_LENGTH).strip()
    if not answer:
        raise DomainError(_("Write what was done for the customer."), field="answer")
    if request.kind in (PrivacyRequestKind.EXPORT, PrivacyRequestKind.DELETE):
        raise DomainError(
            _("Answer this request with its own button (export or delete)."), field="answer"
        )
    with transaction.atomic():
        request = _open_request(request)
        return _answer(
            request,
            actor=actor,
            answer=answer,
            summary=StoredMessage(
                gettext_noop("Privacy request answered: %(kind)s"), kind=request.get_kind_display()
            ),
        )


# ------------------------------------------------------------------ export


def personal_data(customer: Customer) -> dict[str, list[dict]]:
    """Every registered part of the customer's personal data, as plain rows."""
    return {key: part.export(customer) for key, part in PARTS.items() if part.export}


def _plain(value):
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _xlsx(data: dict[str, list[dict]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for key, rows in data.items():
        sheet = book.create_sheet(key[:31])
        columns = list(rows[0]) if rows else []
        sheet.append(columns)
        for row in rows:
            sheet.append([row[column] for column in columns])
        # A text the customer typed that starts with "=" stays text, never a formula.
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def personal_data_zip(customer: Customer) -> bytes:
    """The export: a ZIP with `data.json` and `data.xlsx` (one sheet per part)."""
    data = {
        key: [{name: _plain(value) for name, value in row.items()} for row in rows]
        for key, rows in personal_data(customer).items()
    }  # plain values: the workbook takes them as they are
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("data.xlsx", _xlsx(data))
    return out.getvalue()


def privacy_request_export(*, request: PrivacyRequest, actor: User) -> bytes:
    """Answer an export request: the customer's data as a ZIP; the answer says when and by whom."""
    if request.kind not in (PrivacyRequestKind.EXPORT, PrivacyRequestKind.SEE):
        raise DomainError(_("Only a request to see or export data is answered with an export."))
    with transaction.atomic():
        request = _open_request(request)
        content = personal_data_zip(request.customer)
        _answer(
            request,
            actor=actor,
            answer=_("Data exported (%(size)s bytes) and handed to the customer.")
            % {"size": len(content)},
            summary=StoredMessage(gettext_noop("Personal data exported for the customer")),
        )
    return content


# ------------------------------------------------------------------ delete (anonymise)


def privacy_delete_refusals(customer: Customer) -> list[str]:
    """Why the customer cannot be deleted now (an open visit, an unpaid bill); empty if they can."""
    return [reason for part in PARTS.values() if part.refuse and (reason := part.refuse(customer))]


def privacy_request_delete(*, request: PrivacyRequest, actor: User) -> PrivacyRequest:
    """Answer a delete request by anonymising the customer (see the module's docstring)."""
    if request.kind != PrivacyRequestKind.DELETE:
        raise DomainError(_("Only a delete request anonymises the customer."))
    with transaction.atomic():
        request = _open_request(request)
        customer = lock_row(request.customer)
        refusals = privacy_delete_refusals(customer)
        if refusals:
            raise DomainError(" ".join(refusals), code="cannot_delete")
        for purpose in Purpose:
            consent_record(
                customer=customer, purpose=purpose, granted=False, source="desk", actor=actor
            )
        counts = {key: part.erase(customer) for key, part in PARTS.items() if part.erase}
        counts["customer"] = _customer_erase(customer)
        request.customer.refresh_from_db()
        return _answer(
            request,
            actor=actor,
            answer=_(
                "Customer anonymised; rows changed: %(counts)s. Bills, invoices, receipts "
                "and work orders kept."
            )
            % {"counts": ", ".join(f"{key} {count}" for key, count in counts.items())},
            summary=StoredMessage(gettext_noop("Customer's personal data deleted (anonymised)")),
        )
