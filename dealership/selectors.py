"""Reads shared by pages and the API, shaped so a page's query count stays fixed."""

import re
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from .models import Customer, Vehicle
from .pii import mask_phone
from .rules import rule
from .validators import normalize_phone, normalize_plate

SEARCH_LIMIT = 30

# A customer's contact details in their change history: the phones masked and the address
# left out for the roles that do not see them (dealership.roles.sees_contact_details).
HISTORY_MASKED_PHONES = frozenset({"mobile", "mobile_alt"})
HISTORY_HIDDEN_FIELDS = frozenset({"address"})


@dataclass
class SearchResult:
    query: str
    vehicles: list[Vehicle] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    too_short: bool = False
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not self.vehicles and not self.customers


def search(query: str, *, limit: int = SEARCH_LIMIT) -> SearchResult:
    """Find vehicles by plate / VIN fragment and customers by phone / name fragment.

    Plates and VINs are stored upper-case without separators and phones as
    digits, so a fragment is matched with a plain LIKE that the trigram indexes
    on PostgreSQL answer (see migration 0003).
    """
    query = (query or "").strip()
    result = SearchResult(query=query)
    if len(query) < rule("search.min_chars"):
        result.too_short = bool(query)
        return result

    code = normalize_plate(query)
    vehicle_q = Q(plate__contains=code) | Q(vin__contains=code)
    customer_q = Q(name__icontains=query)
    digits = normalize_phone(query)
    if re.fullmatch(r"[0-9]{3,}", digits):
        customer_q |= Q(mobile__contains=digits) | Q(mobile_alt__contains=digits)

    # No ORDER BY in SQL: with it PostgreSQL walks the whole plate index instead of using the
    # trigram indexes. At most `limit` rows come back; they are sorted here.
    vehicles = Vehicle.objects.filter(vehicle_q).select_related("owner").order_by()[:limit]
    result.vehicles = sorted(vehicles, key=lambda v: (v.plate or "", v.pk))
    customers = (
        Customer.objects.filter(customer_q)
        .prefetch_related(Prefetch("vehicles", queryset=Vehicle.objects.order_by("plate")))
        .order_by()[:limit]
    )
    result.customers = sorted(customers, key=lambda c: (c.name, c.pk))
    result.truncated = len(result.vehicles) == limit or len(result.customers) == limit
    return result


def customer_detail(pk: int) -> Customer:
    return Customer.objects.prefetch_related(
        Prefetch("vehicles", queryset=Vehicle.objects.order_by("plate"))
    ).get(pk=pk)


def vehicle_detail(pk: int) -> Vehicle:
    return Vehicle.objects.select_related("owner").get(pk=pk)


@dataclass
class HistoryEntry:
    at: object
    user: object
    kind: str
    changes: list[tuple[str, object, object]]


def history_entries(
    instance, *, limit: int = 20, contact_details: bool = True
) -> list[HistoryEntry]:
    """Who changed what and when, newest first, with the fields each change touched.

    Without `contact_details`, changed phone numbers are masked and address changes left out.
    """
    records = list(
        instance.history.select_related("history_user").order_by("-history_id")[: limit + 1]
    )
    model = instance._meta.model
    entries = []
    for newer, older in zip(records, records[1:] + [None], strict=False):
        if len(entries) == limit:
            break
        changes = []
        if older is not None:
            delta = newer.diff_against(older)
            for change in delta.changes:
                old, new = change.old, change.new
                if not contact_details:
                    if change.field in HISTORY_HIDDEN_FIELDS:
                        continue
                    if change.field in HISTORY_MASKED_PHONES:
                        old, new = mask_phone(old), mask_phone(new)
                label = model._meta.get_field(change.field).verbose_name
                changes.append((label, old, new))
        entries.append(
            HistoryEntry(
                at=newer.history_date,
                user=newer.history_user,
                kind=newer.get_history_type_display(),
                changes=changes,
            )
        )
    return entries


def customers_recent(limit: int = 20) -> QuerySet[Customer]:
    return Customer.objects.order_by("-created_at", "-id")[:limit]


def messages_sent(*, vehicle_id: int, since, until=None, limit: int = 30) -> list:
    """Messages sent about a vehicle between two moments (a visit's timeline), oldest first.

    One query, whatever the number of messages; the newest `limit` are kept.
    """
    from .models import Message

    rows = Message.objects.filter(vehicle_id=vehicle_id, sent_at__gte=since)
    if until is not None:
        rows = rows.filter(sent_at__lte=until)
    return list(reversed(rows.order_by("-sent_at", "-id")[:limit]))
