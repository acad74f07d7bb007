"""Enquiries (咨询): incoming calls and online messages, logged with what came of them.

An online message (WeChat, web) must be answered within the rule
`followup.enquiry_response_minutes` (15 by default), measured from its receipt to the
first response; a phone call or a walk-in is answered as it is taken. Closing an enquiry
records its outcome: "booked" links the appointment, "complaint" opens a complaint
through the complaints service.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appointments.models import Appointment
from dealership.errors import DomainError
from dealership.models import Customer, User
from dealership.rules import rule
from dealership.selectors import customer_by_mobile
from dealership.services import timeline_record
from dealership.stored_text import StoredMessage
from dealership.text import NOTE_MAX_LENGTH, clean_text
from dealership.transitions import lock_row
from dealership.validators import normalize_phone, validate_mobile

from .complaints import complaint_open
from .models import (
    ONLINE_CHANNELS,
    ComplaintCategory,
    ComplaintSource,
    Enquiry,
    EnquiryChannel,
    EnquiryOutcome,
    EnquiryTopic,
)

# How far back an enquiry may be logged (a message found in the morning from last night).
BACKDATE_LIMIT = timedelta(days=7)
COMPLAINT_SOURCE = {
    EnquiryChannel.PHONE: ComplaintSource.PHONE,
    EnquiryChannel.WALK_IN: ComplaintSource.DESK,
}


def response_limit() -> timedelta:
    return timedelta(minutes=int(rule("followup.enquiry_response_minutes")))


def enquiry_log(
    *,
    actor: User | None,
    channel: str,
    topic: str,
    customer: Customer | None = None,
    caller_name: str = "",
    caller_mobile: str = "",
    note: str = "",
    received_at: datetime | None = None,
) -> Enquiry:
    """Log an incoming call or message.

    Who asked is a customer, or a name or a mobile (a mobile on file finds the customer).
    A call or a walk-in counts as answered when taken; an online message waits for its
    first response. Refuses (changing nothing) an unknown channel or topic, a bad mobile,
    nobody named, or a time in the future or more than a week ago.
    """
    if channel not in EnquiryChannel.values:
        raise DomainError(_("Choose how the enquiry came in."), field="channel", code="channel")
    if topic not in EnquiryTopic.values:
        raise DomainError(_("Choose what the enquiry is about."), field="topic", code="topic")
    caller_name = clean_text(caller_name, field="caller_name", max_length=100)
    note = clean_text(note, field="note", max_length=NOTE_MAX_LENGTH)
    caller_mobile = normalize_phone(caller_mobile or "")
    if caller_mobile:
        try:
            validate_mobile(caller_mobile)
        except ValidationError as error:
            raise DomainError(error.messages[0], field="caller_mobile", code="mobile") from error
    if customer is None and caller_mobile:
        customer = customer_by_mobile(caller_mobile)
    if customer is None and not (caller_name or caller_mobile):
        raise DomainError(_("Say who asked: a name or a mobile."), field="caller_name", code="who")
    now = timezone.now()
    received_at = received_at or now
    if received_at > now or received_at < now - BACKDATE_LIMIT:
        raise DomainError(
            _("The time received must be within the last 7 days and not in the future."),
            field="received_at",
            code="received_at",
        )
    with transaction.atomic():
        enquiry = Enquiry.objects.create(
            customer=customer,
            caller_name=caller_name,
            caller_mobile=caller_mobile,
            channel=channel,
            topic=topic,
            note=note,
            received_at=received_at,
            first_response_at=None if channel in ONLINE_CHANNELS else received_at,
            taken_by=actor,
        )
        if customer is not None:
            timeline_record(
                kind="followup.enquiry",
                summary=StoredMessage(
                    gettext_noop("Enquiry (%(channel)s): %(topic)s"),
                    channel=enquiry.get_channel_display(),
                    topic=enquiry.get_topic_display(),
                ),
                customer=customer,
                subject=enquiry,
                actor=actor,
            )
    return enquiry


def enquiry_respond(*, enquiry: Enquiry, actor: User | None) -> Enquiry:
    """The first answer to an online message went out: the response time stops here."""
    with transaction.atomic():
        enquiry = lock_row(enquiry)
        if enquiry.first_response_at is None:
            enquiry.first_response_at = timezone.now()
            enquiry.save(update_fields=["first_response_at"])
    return enquiry


def enquiry_close(
    *,
    enquiry: Enquiry,
    actor: User | None,
    outcome: str,
    note: str = "",
    appointment: Appointment | None = None,
    category: str = ComplaintCategory.OTHER,
) -> Enquiry:
    """Record what came of the enquiry; closing answers it too if nobody had.

    "Booked" needs the appointment made (of this customer), "complaint" needs the customer
    and their words, and opens the complaint. A closed enquiry is not closed again.
    """
    note = clean_text(note, field="note", max_length=NOTE_MAX_LENGTH)
    if outcome not in EnquiryOutcome.values:
        raise DomainError(_("Choose an outcome."), field="outcome", code="outcome")
    with transaction.atomic():
        enquiry = lock_row(enquiry, related=("customer",))
        if enquiry.closed_at is not None:
            raise DomainError(_("This enquiry is closed already."), code="closed")
        if outcome == EnquiryOutcome.BOOKED:
            if appointment is None:
                raise DomainError(
                    _("Choose the appointment that was booked."),
                    field="appointment",
                    code="appointment_required",
                )
            if enquiry.customer_id and appointment.customer_id != enquiry.customer_id:
                raise DomainError(
                    _("This appointment is another customer's."),
                    field="appointment",
                    code="appointment_customer",
                )
            enquiry.customer_id = appointment.customer_id
            enquiry.appointment = appointment
        if outcome == EnquiryOutcome.COMPLAINT:
            if enquiry.customer is None:
                raise DomainError(
                    _("A complaint needs the customer: log the enquiry with their mobile."),
                    field="outcome",
                    code="customer_required",
                )
            words = note or enquiry.note
            if not words:
                raise DomainError(
                    _("Write down the customer's problem in their own words."),
                    field="note",
                    code="note_required",
                )
            enquiry.complaint = complaint_open(
                customer=enquiry.customer,
                actor=actor,
                source=COMPLAINT_SOURCE.get(enquiry.channel, ComplaintSource.OTHER),
                category=category,
                description=words,
            )
        now = timezone.now()
        enquiry.outcome = outcome
        enquiry.closed_at = now
        enquiry.first_response_at = enquiry.first_response_at or now
        if note:
            enquiry.note = f"{enquiry.note}\n{note}".strip()[:NOTE_MAX_LENGTH]
        enquiry.save()
    return enquiry


# --------------------------------------------------------------------- reads


def response_due_at(enquiry: Enquiry) -> datetime | None:
    return enquiry.received_at + response_limit() if enquiry.channel in ONLINE_CHANNELS else None


def is_overdue(enquiry: Enquiry, *, now: datetime, limit: timedelta) -> bool:
    """An online message not answered within the limit (answered late, or still waiting)."""
    if enquiry.channel not in ONLINE_CHANNELS:
        return False
    answered = enquiry.first_response_at or now
    return answered - enquiry.received_at > limit


@dataclass
class EnquiryRow:
    enquiry: Enquiry
    overdue: bool
    waiting_minutes: int | None


def enquiries_for_day(day: date, *, now: datetime | None = None, limit: int = 200) -> list:
    """The day's enquiries and every one still open, open ones first (oldest first)."""
    now = now or timezone.now()
    response = response_limit()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    rows = (
        Enquiry.objects.filter(
            Q(closed_at=None) | Q(received_at__gte=start, received_at__lt=start + timedelta(days=1))
        )
        .select_related("customer", "taken_by", "appointment", "complaint")
        .order_by(F("closed_at").asc(nulls_first=True), "received_at", "id")[:limit]
    )
    result = []
    for enquiry in rows:
        waiting = None
        if enquiry.channel in ONLINE_CHANNELS and enquiry.first_response_at is None:
            waiting = int((now - enquiry.received_at).total_seconds() // 60)
        result.append(
            EnquiryRow(
                enquiry=enquiry,
                overdue=is_overdue(enquiry, now=now, limit=response),
                waiting_minutes=waiting,
            )
        )
    return result


def online_answered_in_time(queryset: QuerySet[Enquiry]) -> dict:
    """Online messages among `queryset`: how many, how many answered in time, the share (%)."""
    deadline = ExpressionWrapper(F("received_at") + response_limit(), output_field=DateTimeField())
    counts = queryset.filter(channel__in=ONLINE_CHANNELS).aggregate(
        total=Count("id"),
        in_time=Count("id", filter=Q(first_response_at__lte=deadline)),
    )
    total = counts["total"]
    return {
        "total": total,
        "in_time": counts["in_time"],
        "share": round(100 * counts["in_time"] / total, 1) if total else None,
    }
