"""Reads shared by pages and the API, shaped so a page's query count stays fixed."""

import re
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from .models import Customer, DueTask, Message, Vehicle
from .roles import Role, user_roles
from .rules import rule
from .tokens import token_of_history_reason
from .urltools import url_for_pk
from .validators import normalize_phone, normalize_plate
from .visibility import CONTACT_FIELDS, HIDDEN, field_level, shown

SEARCH_LIMIT = 30


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


def _search_filters(query: str, by_phone: bool) -> tuple[Q, Q]:
    """The vehicles and the customers a (stripped, long enough) fragment matches."""
    code = normalize_plate(query)
    vehicle_q = Q(plate__contains=code) | Q(vin__contains=code)
    # A fragment with no cased letters (a Chinese name, digits) matches the same names as
    # it is as ignoring case, without an UPPER() of each of the store's names (a third of
    # the cost of the scan PostgreSQL makes for fragments its trigram index cannot serve).
    has_case = query.lower() != query.upper()
    customer_q = Q(name__icontains=query) if has_case else Q(name__contains=query)
    digits = normalize_phone(query)
    if by_phone and re.fullmatch(r"[0-9]{3,}", digits):
        customer_q |= Q(mobile__contains=digits) | Q(mobile_alt__contains=digits)
    return vehicle_q, customer_q


def search(query: str, *, limit: int = SEARCH_LIMIT, by_phone: bool = True) -> SearchResult:
    """Find vehicles by plate / VIN fragment and customers by phone / name fragment.

    Plates and VINs are stored upper-case without separators and phones as
    digits, so a fragment is matched with a plain LIKE that the trigram indexes
    on PostgreSQL answer (see migration 0003). Without `by_phone` (a role that sees the
    numbers masked, `dealership.visibility.can_search_by_phone`) digits never match a phone.
    """
    query = (query or "").strip()
    result = SearchResult(query=query)
    if len(query) < rule("search.min_chars"):
        result.too_short = bool(query)
        return result

    vehicle_q, customer_q = _search_filters(query, by_phone)
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


def search_rows(query: str, viewer, *, by_phone: bool, limit: int = SEARCH_LIMIT) -> dict:
    """What the search page prints for `query`: `search`'s matches (the same queries, the same
    rows, the same order) as plain values, the contact details as `viewer` may see them (the
    key of its cached HTML, dealership.fragments). Value rows, not model instances: the page
    is a sixth of the desk's requests and spent most of its time building instances."""
    query = (query or "").strip()
    rows = {
        "query": query,
        "too_short": False,
        "empty": True,
        "truncated": False,
        "vehicles": [],
        "customers": [],
    }
    if len(query) < rule("search.min_chars"):
        rows["too_short"] = bool(query)
        return rows

    vehicle_q, customer_q = _search_filters(query, by_phone)
    vehicle_url, customer_url = url_for_pk("vehicle_detail"), url_for_pk("customer_detail")
    # No ORDER BY in SQL (see `search`): sorted here.
    vehicles = sorted(
        Vehicle.objects.filter(vehicle_q)
        .order_by()
        .values_list(
            "pk", "plate", "vin", "brand", "model", "owner_id", "owner__name", "owner__mobile"
        )[:limit],
        key=lambda row: (row[1] or "", row[0]),
    )
    customers = sorted(
        Customer.objects.filter(customer_q)
        .order_by()
        .values_list("pk", "name", "company", "mobile")[:limit],
        key=lambda row: (row[1], row[0]),
    )
    plates = {pk: [] for pk, *_rest in customers}
    if plates:  # as `search`'s prefetch: none without customers
        for owner_id, pk, plate in (
            Vehicle.objects.filter(owner_id__in=list(plates))
            .order_by("plate")
            .values_list("owner_id", "pk", "plate")
        ):
            plates[owner_id].append({"url": vehicle_url(pk), "plate": plate})
    rows["empty"] = not vehicles and not customers
    rows["truncated"] = len(vehicles) == limit or len(customers) == limit
    rows["vehicles"] = [
        {
            "url": vehicle_url(pk),
            "plate": plate,
            "vin": vin,
            "brand": brand,
            "model": model,
            "owner_url": customer_url(owner_id),
            "owner_name": owner_name,
            "owner_mobile": shown(viewer, "mobile", owner_mobile),
        }
        for pk, plate, vin, brand, model, owner_id, owner_name, owner_mobile in vehicles
    ]
    rows["customers"] = [
        {
            "url": customer_url(pk),
            "name": name,
            "company": shown(viewer, "company", company or ""),
            "mobile": shown(viewer, "mobile", mobile),
            "vehicles": plates[pk],
        }
        for pk, name, company, mobile in customers
    ]
    return rows


def customer_detail(pk: int) -> Customer:
    return (
        Customer.objects.select_related("advisor")
        .prefetch_related(Prefetch("vehicles", queryset=Vehicle.objects.order_by("plate")))
        .get(pk=pk)
    )


def vehicle_detail(pk: int) -> Vehicle:
    return Vehicle.objects.select_related("owner").get(pk=pk)


@dataclass
class HistoryEntry:
    at: object
    user: object
    kind: str
    changes: list[tuple[str, object, object]]
    # The API token the change was made with (issue 18.2), or "".
    token: str = ""


def history_entries(instance, *, limit: int = 20, viewer=None) -> list[HistoryEntry]:
    """Who changed what and when, newest first, with the fields each change touched.

    With a `viewer`, a customer's contact details are shown as that user's role may see them
    (dealership.visibility): masked, or the change left out.
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
                if viewer is not None and change.field in CONTACT_FIELDS:
                    if field_level(viewer, change.field) == HIDDEN:
                        continue
                    old, new = shown(viewer, change.field, old), shown(viewer, change.field, new)
                label = model._meta.get_field(change.field).verbose_name
                changes.append((label, old, new))
        entries.append(
            HistoryEntry(
                at=newer.history_date,
                user=newer.history_user,
                kind=newer.get_history_type_display(),
                changes=changes,
                token=token_of_history_reason(newer.history_change_reason),
            )
        )
    return entries


def customers_recent(limit: int = 20) -> QuerySet[Customer]:
    return Customer.objects.order_by("-created_at", "-id")[:limit]


def messages_sent(*, vehicle_id: int, since, until=None, limit: int = 30) -> list:
    """Messages sent about a vehicle between two moments (a visit's timeline), oldest first.

    One query, whatever the number of messages; the newest `limit` are kept.
    """
    rows = Message.objects.filter(vehicle_id=vehicle_id, sent_at__gte=since)
    if until is not None:
        rows = rows.filter(sent_at__lte=until)
    return list(reversed(rows.order_by("-sent_at", "-id")[:limit]))


def customer_by_mobile(mobile: str) -> Customer | None:
    """The customer on file with this mobile (the first registered), reused by a registration."""
    return Customer.objects.filter(mobile=normalize_phone(mobile)).order_by("id").first()


def sees_every_call(user) -> bool:
    """The service manager and the administrator see every call of every list."""
    return bool(user_roles(user) & {Role.SERVICE_MANAGER, Role.ADMIN})


def may_act_on_call(user, task: DueTask) -> bool:
    """Whether `user` may record what came of the call `task` (the queue, the lists, the API).

    A call assigned to a person is theirs; an unassigned one is its role's. The
    service manager and the administrator (who passes every check, DESIGN.md
    "People and access") may record any call.
    """
    if sees_every_call(user) or task.assigned_to_id == user.pk:
        return True
    return not task.assigned_to_id and task.role in user_roles(user)
