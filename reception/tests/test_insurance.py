"""Insurance jobs (issue 16 item 4): the advisor opens and edits the job, bad input is refused
by the field with nothing changed, the walk-around offers a job for body damage."""

from decimal import Decimal

import pytest
from django.urls import reverse

from dealership.errors import DomainError
from dealership.models import TimelineEvent
from reception.insurance import insurance_case_save, offers_insurance
from reception.models import InsuranceCase, InsuranceOfferDismissal, Insurer
from reception.services import damage_mark_add
from reception.states import VisitStatus
from reception.tests.factories import WalkedAroundVisitFactory

pytestmark = pytest.mark.django_db
D = Decimal

GOOD = {
    "insurer": "picc",
    "insurer_name": "",
    "policy_number": "PDAA2026320500001234",
    "report_number": "RDAA2026000123",
    "adjuster_name": "刘定损",
    "adjuster_phone": "139 1234 5678",
    "approved_amount": "4600.00",
    "excess": "500.00",
}


def _field_of(error: DomainError) -> str:
    return next(iter(error.error_dict))


# ---------------------------------------------------------------- service


def test_the_advisor_opens_and_edits_an_insurance_job_with_history(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    case = insurance_case_save(visit=visit, actor=advisor, **GOOD)
    assert case.insurer_label == str(Insurer.PICC.label)
    assert case.adjuster_phone == "13912345678"  # spaces taken out
    assert (case.approved_amount, case.excess) == (D("4600.00"), D("500.00"))
    assert case.opened_by == advisor

    changed = insurance_case_save(
        visit=visit,
        actor=advisor,
        expected_version=case.version,
        **{**GOOD, "approved_amount": "4800.00"},
    )
    assert changed.approved_amount == D("4800.00") and changed.version == case.version + 1
    assert [h.approved_amount for h in case.history.order_by("history_id")] == [
        D("4600.00"),
        D("4800.00"),
    ]
    assert TimelineEvent.objects.filter(kind="visit.insurance").count() == 2


def test_another_insurer_needs_its_name(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    with pytest.raises(DomainError) as refused:
        insurance_case_save(visit=visit, actor=advisor, **{**GOOD, "insurer": "other"})
    assert _field_of(refused.value) == "insurer_name"
    case = insurance_case_save(
        visit=visit, actor=advisor, **{**GOOD, "insurer": "other", "insurer_name": "永安财险"}
    )
    assert case.insurer_label == "永安财险"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"excess": "4600.01"}, "excess"),  # more than the approved 4600.00
        ({"approved_amount": "-1.00"}, "approved_amount"),
        ({"excess": "-0.01"}, "excess"),
        ({"approved_amount": "1000000.00"}, "approved_amount"),  # over 999 999.99
        ({"approved_amount": "12.345"}, "approved_amount"),
        ({"approved_amount": "abc"}, "approved_amount"),
        ({"insurer": "lloyds"}, "insurer"),
        ({"adjuster_phone": "12ab"}, "adjuster_phone"),
        ({"report_number": "R" * 41}, "report_number"),
        ({"policy_number": "P" * 41}, "policy_number"),
        ({"adjuster_name": "名" * 51}, "adjuster_name"),
    ],
)
def test_bad_input_is_refused_by_the_field_and_changes_nothing(make_staff, changes, field):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    case = insurance_case_save(visit=visit, actor=advisor, **GOOD)
    with pytest.raises(DomainError) as refused:
        insurance_case_save(
            visit=visit, actor=advisor, expected_version=case.version, **{**GOOD, **changes}
        )
    assert _field_of(refused.value) == field
    stored = InsuranceCase.objects.get(pk=case.pk)
    assert (stored.approved_amount, stored.excess, stored.version) == (
        D("4600.00"),
        D("500.00"),
        case.version,
    )
    assert stored.history.count() == 1


def test_an_excess_above_the_approval_is_refused_when_opening_too(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    with pytest.raises(DomainError) as refused:
        insurance_case_save(
            visit=visit, actor=advisor, **{**GOOD, "approved_amount": "300", "excess": "500"}
        )
    assert _field_of(refused.value) == "excess"
    assert not InsuranceCase.objects.exists()


def test_an_excess_alone_may_be_recorded_before_the_approval(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    case = insurance_case_save(visit=visit, actor=advisor, **{**GOOD, "approved_amount": ""})
    assert case.approved_amount is None and case.excess == D("500.00")


def test_a_stale_form_is_refused(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    case = insurance_case_save(visit=visit, actor=advisor, **GOOD)
    insurance_case_save(
        visit=visit, actor=advisor, expected_version=case.version, **{**GOOD, "excess": "0"}
    )
    with pytest.raises(DomainError):
        insurance_case_save(
            visit=visit, actor=advisor, expected_version=case.version, **{**GOOD, "excess": "9"}
        )
    assert InsuranceCase.objects.get().excess == D("0.00")


def test_a_cancelled_visit_takes_no_insurance_job(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor, status=VisitStatus.CANCELLED)
    with pytest.raises(DomainError):
        insurance_case_save(visit=visit, actor=advisor, **GOOD)
    assert not InsuranceCase.objects.exists()


def test_body_damage_makes_the_offer_until_a_job_is_opened(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    assert not offers_insurance(visit)  # no damage
    damage_mark_add(visit=visit, actor=advisor, kind="dent", x=30, y=20, note="左后门")
    assert offers_insurance(visit)
    insurance_case_save(visit=visit, actor=advisor, **GOOD)
    assert not offers_insurance(visit)


# ---------------------------------------------------------------- pages


def test_the_walkaround_offers_an_insurance_job_with_one_click(client, make_staff):
    advisor = make_staff("advisor")
    client.force_login(advisor)
    visit = WalkedAroundVisitFactory(advisor=advisor)
    page = client.get(reverse("reception:walkaround", args=[visit.pk])).content.decode()
    assert 'id="insurance-offer"' not in page
    # Marking a dent (htmx) brings the offer into the damage panel.
    panel = client.post(
        reverse("reception:damage_add", args=[visit.pk]),
        {"kind": "dent", "x": "30", "y": "20", "note": "左后门"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    insurance_url = reverse("reception:insurance", args=[visit.pk])
    assert 'id="insurance-offer"' in panel and f'href="{insurance_url}"' in panel
    page = client.get(reverse("reception:visit", args=[visit.pk])).content.decode()
    assert 'id="insurance-offer"' in page

    form = client.get(insurance_url)
    assert form.status_code == 200 and 'id="insurance-form"' in form.content.decode()
    answer = client.post(insurance_url, GOOD)
    assert answer.status_code == 302
    case = InsuranceCase.objects.get(visit=visit)
    assert case.report_number == "RDAA2026000123"
    page = client.get(reverse("reception:visit", args=[visit.pk])).content.decode()
    assert 'id="insurance-offer"' not in page and 'id="insurance-job"' in page
    assert "RDAA2026000123" in page


def test_the_advisor_may_dismiss_the_offer(client, make_staff):
    advisor = make_staff("advisor")
    client.force_login(advisor)
    visit = WalkedAroundVisitFactory(advisor=advisor)
    damage_mark_add(visit=visit, actor=advisor, kind="scratch", x=10, y=10)
    walkaround = reverse("reception:walkaround", args=[visit.pk])
    answer = client.post(
        reverse("reception:insurance_dismiss", args=[visit.pk]), {"next": walkaround}
    )
    assert answer.status_code == 302 and answer["Location"] == walkaround
    assert InsuranceOfferDismissal.objects.filter(visit=visit, dismissed_by=advisor).exists()
    assert 'id="insurance-offer"' not in client.get(walkaround).content.decode()


def test_a_refusal_shows_by_the_field_and_changes_nothing(client, make_staff):
    advisor = make_staff("advisor")
    client.force_login(advisor)
    visit = WalkedAroundVisitFactory(advisor=advisor)
    url = reverse("reception:insurance", args=[visit.pk])
    answer = client.post(url, {**GOOD, "approved_amount": "300", "excess": "500"})
    assert answer.status_code == 400
    page = answer.content.decode()
    start = page.index('id="field-excess"')
    assert "field-error" in page[start - 60 : start] and "¥300.00" in page[start:]
    answer = client.post(url, {**GOOD, "approved_amount": "-5"})
    assert answer.status_code == 400
    start = answer.content.decode().index('id="field-approved_amount"')
    assert "field-error" in answer.content.decode()[start - 60 : start]
    assert not InsuranceCase.objects.exists()


@pytest.mark.parametrize(
    "role", ["workshop_controller", "technician", "qc_inspector", "cashier", "customer_care"]
)
def test_other_roles_may_not_open_or_dismiss(client, make_staff, role):
    visit = WalkedAroundVisitFactory()
    client.force_login(make_staff(role))
    url = reverse("reception:insurance", args=[visit.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, GOOD).status_code == 403
    dismiss = reverse("reception:insurance_dismiss", args=[visit.pk])
    assert client.post(dismiss).status_code == 403
    assert not InsuranceCase.objects.exists() and not InsuranceOfferDismissal.objects.exists()


def test_the_service_manager_may_edit(client, make_staff):
    visit = WalkedAroundVisitFactory()
    client.force_login(make_staff("service_manager"))
    answer = client.post(reverse("reception:insurance", args=[visit.pk]), GOOD)
    assert answer.status_code == 302 and InsuranceCase.objects.filter(visit=visit).exists()
