"""The report's enquiries section: calls and messages by outcome, and the share of online
messages answered within the response rule (`followup.enquiry_response_minutes`)."""

from django.db.models import Count

from followup.enquiries import online_answered_in_time, response_limit
from followup.models import Enquiry, EnquiryOutcome

from .periods import Period


def enquiry_figures(period: Period) -> dict:
    """Two queries, whatever the number of enquiries in the period."""
    start, end = period.bounds
    enquiries = Enquiry.objects.filter(received_at__gte=start, received_at__lt=end)
    by_outcome = dict(
        enquiries.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")
    )
    return {
        "total": sum(by_outcome.values()),
        "outcomes": [(label, by_outcome.get(value, 0)) for value, label in EnquiryOutcome.choices],
        "open": by_outcome.get("", 0),
        "online": online_answered_in_time(enquiries),
        "minutes": int(response_limit().total_seconds() // 60),
    }
