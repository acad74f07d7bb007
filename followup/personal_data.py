"""Follow-up's part of a customer's personal data (`dealership.privacy`): complaints and
surveys (the scores stay for the store's figures, the customer's own words go)."""

from dealership.privacy import ERASED, history_erase, personal_data_register

from .models import Complaint, Survey


def _complaints(customer) -> list[dict]:
    return list(
        Complaint.objects.filter(customer=customer)
        .order_by("opened_at")
        .values("number", "opened_at", "category", "status", "description", "resolution")
    )


def _surveys(customer) -> list[dict]:
    return list(
        Survey.objects.filter(customer=customer)
        .order_by("taken_at")
        .values("taken_at", *Survey.QUESTIONS, "customer_words")
    )


def _erase(customer) -> int:
    surveys = list(Survey.objects.filter(customer=customer).values_list("pk", flat=True))
    complaints = list(Complaint.objects.filter(customer=customer).values_list("pk", flat=True))
    changed = Survey.objects.filter(pk__in=surveys).update(customer_words="")
    changed += Complaint.objects.filter(pk__in=complaints).update(description=ERASED)
    history_erase(Survey, surveys, customer_words="")
    history_erase(Complaint, complaints, description=ERASED)
    return changed


personal_data_register("complaints", export=_complaints)
personal_data_register("surveys", export=_surveys, erase=_erase)
