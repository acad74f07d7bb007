"""Consent by purpose (PIPL): what the customer agreed to be contacted about.

The legal model, purpose by purpose:

- `service` (messages and calls about an open visit or booking) and `satisfaction`
  (satisfaction calls and surveys after a visit) rest on the service contract (PIPL art. 13(2)):
  allowed until the customer withdraws; the withdrawal is recorded.
- `reminders` (maintenance reminders and invitations) and `marketing` (campaigns, win-back
  calls) need a recorded grant (opt-in, PIPL art. 13(1) and 14); without one they do not go out.

Every grant and withdrawal is a `ConsentRecord` row (append-only); the current state of a
purpose is its latest row. Each row keeps the versioned code of the text read to the customer
and that text as rendered in their language, so it can be shown later exactly.
`Customer.do_not_call` keeps its meaning for calls: a customer who asked not to be called is
not called for any purpose.

Scans over many customers filter with `consent_filter` (one query, no loop); a single send
checks `consent_allows`. Apps name the due-task kinds each purpose gates with
`consent_gate_kinds`, so a withdrawal cancels the customer's open calls and messages of them.
"""

from collections.abc import Iterable
from contextlib import nullcontext

from django.db import models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from .models import ConsentPurpose, ConsentRecord, ConsentSource, Customer, DueTask, User
from .rules import rule
from .services import customer_create, customer_with_vehicle_register, timeline_record
from .states import DUE_TASK_STATES, DueTaskState
from .stored_text import StoredMessage
from .transitions import move_all
from .validators import normalize_phone

Purpose = ConsentPurpose
Source = ConsentSource

# Allowed until withdrawn (the service contract); the others need a recorded grant.
CONTRACT_PURPOSES = frozenset({Purpose.SERVICE, Purpose.SATISFACTION})
# An unsubscribe reply ("TD", "退订") withdraws these.
UNSUBSCRIBE_PURPOSES = (Purpose.REMINDERS, Purpose.MARKETING)
UNSUBSCRIBE_WORDS = frozenset({"TD", "T", "退订", "STOP", "UNSUBSCRIBE"})

# The texts read to the customer, by versioned code. A new wording gets a new code; the old
# code stays so the rows that point to it still render.
TEXTS = {
    "consent.service.grant.v1": gettext_noop(
        "I agree that %(store)s contacts me about my open bookings and visits "
        "(times, progress, additional work, collection) by phone, SMS or WeChat."
    ),
    "consent.reminders.grant.v1": gettext_noop(
        "I agree that %(store)s reminds me when my car is due for maintenance and invites me "
        "to book, by phone, SMS or WeChat. I can withdraw at any time, e.g. by replying TD."
    ),
    "consent.marketing.grant.v1": gettext_noop(
        "I agree that %(store)s sends me offers, service campaigns and invitations to come "
        "back, by phone, SMS or WeChat. I can withdraw at any time, e.g. by replying TD."
    ),
    "consent.satisfaction.grant.v1": gettext_noop(
        "I agree that %(store)s calls me or sends me a short survey after a visit to ask "
        "how satisfied I am."
    ),
    "consent.withdraw.v1": gettext_noop(
        "I withdraw my consent to: %(purpose)s. %(store)s no longer contacts me for this."
    ),
}


def text_code(purpose: str, granted: bool) -> str:
    """The code of the current wording for a grant or a withdrawal of `purpose`."""
    return f"consent.{purpose}.grant.v1" if granted else "consent.withdraw.v1"


def text_render(code: str, purpose: str, language: str | None = None) -> str:
    """The wording `code` for `purpose`, in `language` (the reader's when None)."""
    with translation.override(language) if language else nullcontext():
        return gettext(TEXTS[code]) % {
            "store": rule("store.name"),
            "purpose": Purpose(purpose).label,
        }


# ------------------------------------------------------------------ what each purpose gates

GATED_KINDS: dict[str, set[str]] = {purpose: set() for purpose in Purpose}


def consent_gate_kinds(purpose: str, *kinds: str) -> None:
    """Declare due-task kinds that contact the customer for `purpose` (called by apps' ready)."""
    GATED_KINDS[Purpose(purpose)].update(kinds)


def purpose_of_kind(kind: str) -> str | None:
    return next((purpose for purpose, kinds in GATED_KINDS.items() if kind in kinds), None)


# ------------------------------------------------------------------ reads


def _allowed_by_default(purpose: str) -> bool:
    return purpose in CONTRACT_PURPOSES


def consent_allows(customer: Customer, purpose: str) -> bool:
    """Whether the store may contact `customer` for `purpose` now (one query)."""
    return (customer.pk, purpose) in consent_allows_many([(customer.pk, purpose)])


def consent_allows_many(wanted: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of the (customer id, purpose) pairs the store may contact now: `consent_allows`
    for a batch of sends, in one query."""
    wanted = set(wanted)
    if not wanted:
        return set()
    records = (
        ConsentRecord.objects.filter(
            customer_id__in={customer_id for customer_id, _purpose in wanted},
            purpose__in={purpose for _customer_id, purpose in wanted},
        )
        .order_by("at", "id")
        .values_list("customer_id", "purpose", "granted")
    )
    # Oldest first: what is left for a pair is its latest record.
    latest = {(customer_id, purpose): granted for customer_id, purpose, granted in records}
    return {pair for pair in wanted if latest.get(pair, _allowed_by_default(pair[1]))}


def consent_filter(
    queryset: models.QuerySet, purpose: str, *, customer_field: str = ""
) -> models.QuerySet:
    """`queryset` narrowed to rows whose customer allows `purpose`, in the same query.

    `customer_field` is the path from the queryset's model to the customer ("owner" for
    vehicles, "customer" for visits); empty for a queryset of customers.
    """
    latest = Subquery(
        ConsentRecord.objects.filter(
            customer_id=OuterRef(f"{customer_field}__pk" if customer_field else "pk"),
            purpose=purpose,
        )
        .order_by("-at", "-id")
        .values("granted")[:1]
    )
    name = f"consent_{purpose}"
    queryset = queryset.annotate(**{name: latest})
    if _allowed_by_default(purpose):
        return queryset.filter(Q(**{f"{name}__isnull": True}) | Q(**{name: True}))
    return queryset.filter(**{name: True})


def consent_state(customer: Customer) -> list[dict]:
    """Per purpose: allowed now, and the record that decides it (None: nothing recorded)."""
    latest: dict[str, ConsentRecord] = {}
    for record in customer.consents.select_related("actor").order_by("-at", "-id"):
        latest.setdefault(record.purpose, record)
    return [
        {
            "purpose": purpose,
            "label": purpose.label,
            "record": latest.get(purpose),
            "allowed": latest[purpose].granted
            if purpose in latest
            else _allowed_by_default(purpose),
            "opt_in": not _allowed_by_default(purpose),
        }
        for purpose in Purpose
    ]


def consent_script(customer: Customer) -> list[dict]:
    """`consent_state` with each purpose's grant and withdrawal texts to read to the customer,
    in the customer's language."""
    language = customer.language
    return [
        {
            **row,
            "grant_text": text_render(text_code(row["purpose"], True), row["purpose"], language),
            "withdraw_text": text_render(
                text_code(row["purpose"], False), row["purpose"], language
            ),
        }
        for row in consent_state(customer)
    ]


# ------------------------------------------------------------------ writes


def consent_record(
    *,
    customer: Customer,
    purpose: str,
    granted: bool,
    source: str,
    actor: User | None = None,
) -> ConsentRecord:
    """Record a grant or a withdrawal of `purpose`, with the text read to the customer.

    A withdrawal cancels the customer's open calls and messages of the kinds that purpose
    gates. The record is on the customer's timeline.
    """
    purpose, source = Purpose(purpose), Source(source)
    code = text_code(purpose, granted)
    with transaction.atomic():
        record = ConsentRecord.objects.create(
            customer=customer,
            purpose=purpose,
            granted=granted,
            source=source,
            text_code=code,
            text=text_render(code, purpose, customer.language),
            language=customer.language,
            actor=actor,
        )
        cancelled = 0 if granted else _cancel_open_tasks(customer, purpose)
        message = (
            gettext_noop("Consent given: %(purpose)s (%(source)s)")
            if granted
            else gettext_noop("Consent withdrawn: %(purpose)s (%(source)s)")
        )
        timeline_record(
            kind="consent.granted" if granted else "consent.withdrawn",
            summary=StoredMessage(message, purpose=purpose.label, source=source.label),
            customer=customer,
            subject=record,
            actor=actor,
            data={"purpose": purpose, "granted": granted, "cancelled": cancelled},
        )
    return record


def _cancel_open_tasks(customer: Customer, purpose: str) -> int:
    kinds = GATED_KINDS[purpose]
    if not kinds:
        return 0
    tasks = DueTask.objects.filter(customer=customer, kind__in=list(kinds))
    return move_all(
        DUE_TASK_STATES,
        tasks,
        DueTaskState.CANCELLED,
        from_=(DueTaskState.PENDING, DueTaskState.CLAIMED, DueTaskState.FAILED),
    )


def is_unsubscribe(text: str) -> bool:
    """An SMS reply that asks to stop: "TD", "退订" (any case, spaces and punctuation around)."""
    word = (text or "").strip().strip(".。!！ ").upper()
    return word in UNSUBSCRIBE_WORDS


def consent_withdraw_by_reply(*, mobile: str, text: str, source: str = Source.SMS) -> int:
    """An unsubscribe reply withdraws reminders and marketing of every customer with `mobile`.

    Returns how many customers had something withdrawn (0 for a reply that is not an
    unsubscribe, an unknown number, or customers who had already withdrawn both).
    """
    if not is_unsubscribe(text):
        return 0
    mobile = normalize_phone(mobile or "")
    if not mobile:
        return 0
    customers = Customer.objects.filter(mobile=mobile)
    changed = 0
    with transaction.atomic():
        for customer in customers.select_for_update():
            withdrawn = False
            for purpose in UNSUBSCRIBE_PURPOSES:
                latest = (
                    customer.consents.filter(purpose=purpose)
                    .order_by("-at", "-id")
                    .values_list("granted", flat=True)
                    .first()
                )
                if latest is False:
                    continue
                consent_record(customer=customer, purpose=purpose, granted=False, source=source)
                withdrawn = True
            changed += withdrawn
    return changed


def customer_create_with_consent(
    *, actor: User | None, opt_ins: list[str], source: str = Source.DESK, **data
) -> Customer:
    """Register a customer and record the opt-ins they ticked, in one transaction."""
    with transaction.atomic():
        customer = customer_create(actor=actor, **data)
        for purpose in opt_ins:
            consent_record(
                customer=customer, purpose=purpose, granted=True, source=source, actor=actor
            )
    return customer


def customer_with_vehicle_register_with_consent(
    *, actor: User | None, opt_ins: list[str], source: str = Source.DESK, **data
):
    """A walk-in's registration (`customer_with_vehicle_register`) with the opt-ins ticked;
    returns the vehicle."""
    with transaction.atomic():
        vehicle = customer_with_vehicle_register(actor=actor, **data)
        for purpose in opt_ins:
            if not consent_allows(vehicle.owner, purpose):
                consent_record(
                    customer=vehicle.owner,
                    purpose=purpose,
                    granted=True,
                    source=source,
                    actor=actor,
                )
    return vehicle


def consent_texts(language: str | None = None) -> dict[str, str]:
    """The grant text of each purpose, as read to the customer (in `language`)."""
    return {
        purpose: text_render(text_code(purpose, True), purpose, language) for purpose in Purpose
    }


def consents_import(rows: list[tuple[int, str, str]], *, batch_size: int = 2000) -> int:
    """Grants brought from another system (the demo store, a migration): (customer id,
    language, purpose) each, recorded with source "import" in one bulk insert."""
    texts: dict[tuple[str, str], str] = {}
    records = []
    for customer_id, language, purpose in rows:
        code = text_code(purpose, True)
        if (language, purpose) not in texts:
            texts[language, purpose] = text_render(code, purpose, language)
        records.append(
            ConsentRecord(
                customer_id=customer_id,
                purpose=purpose,
                granted=True,
                source=Source.IMPORT,
                text_code=code,
                text=texts[language, purpose],
                language=language,
            )
        )
    ConsentRecord.objects.bulk_create(records, batch_size=batch_size)
    return len(records)


def on_sms_reply(sender, *, mobile: str, text: str, unsubscribe: bool, **kwargs) -> None:
    """`dealership.sms.inbound.sms_reply_received`: a 退订/TD reply withdraws reminders and
    marketing (the SMS channel itself is closed to them by `Customer.sms_unsubscribed_at`)."""
    if unsubscribe:
        consent_withdraw_by_reply(mobile=mobile, text=text, source=Source.SMS)
