"""Issue 20.10: a campaign's VIN list imported from the brand's file, previewed, confirmed."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from appointments import recalls
from appointments.models import Campaign, RecallImport, RecallVin
from appointments.selectors import open_campaigns_for
from appointments.services import appointment_book

from .factories import days_ahead, local, make_vehicle

pytestmark = pytest.mark.django_db

GOOD = ["LSVAU2180N2183001", "LSVAU2180N2183002", "LSVAU2180N2183003", "LSVAU2180N2183004"]


def csv_file(lines: list[str], *, name="vins.csv", encoding="utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, "\n".join(lines).encode(encoding), content_type="text/csv")


def xlsx_file(rows: list[list], name="vins.xlsx") -> SimpleUploadedFile:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


@pytest.fixture
def campaign(workshop):
    return Campaign.objects.create(
        code="R-2026-01", name_zh="燃油泵召回", labour_operation=workshop["inspect"]
    )


def preview(campaign, upload):
    return recalls.recall_import_preview(campaign=campaign, upload=upload, actor=None)


def test_preview_sorts_known_unknown_repeated_malformed_and_already_listed(campaign):
    make_vehicle(vin=GOOD[0])
    RecallVin.objects.create(campaign=campaign, vin=GOOD[3])
    upload = csv_file(
        [
            "VIN",
            GOOD[0],
            f" {GOOD[1].lower()} ",  # spaces and lower case are tidied, not refused
            GOOD[1],
            GOOD[2],
            GOOD[3],
            "LSVAU2180N218300",  # 16 characters
            "LSVAU2180N2I83005",  # I is never in a VIN
            "",
        ]
    )
    result = preview(campaign, upload)
    assert (result.rows, result.known, result.unknown) == (7, 1, 2)
    assert (result.duplicates, result.already, result.malformed) == (1, 1, 2)
    assert result.new_vins == GOOD[:3]
    assert [row[0] for row in result.malformed_sample] == [7, 8]
    assert not RecallVin.objects.filter(vin__in=GOOD[:3]).exists()  # nothing joins before confirm


def test_xlsx_column_headed_vin_is_read_and_other_columns_ignored(campaign):
    upload = xlsx_file([["序号", "车架号", "车型"], [1, GOOD[0], "Corolla"], [2, GOOD[1], "RAV4"]])
    assert preview(campaign, upload).new_vins == GOOD[:2]


def test_csv_saved_by_chinese_excel_in_gb18030_is_read(campaign):
    upload = csv_file(["车架号,备注", f"{GOOD[0]},一号车"], encoding="gb18030")
    assert preview(campaign, upload).new_vins == [GOOD[0]]


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("vins.pdf", b"%PDF-1.4"), None),
        (SimpleUploadedFile("vins.csv", b""), None),
        (SimpleUploadedFile("vins.xlsx", b"not a zip"), None),
        (SimpleUploadedFile("vins.csv", b"x" * (recalls.MAX_FILE_BYTES + 1)), "file_too_large"),
    ],
)
def test_unreadable_or_oversized_files_are_refused_on_the_file_field(campaign, upload, code):
    with pytest.raises(ValidationError) as caught:
        preview(campaign, upload)
    assert "file" in caught.value.message_dict
    if code:
        assert caught.value.error_dict["file"][0].code == code
    assert not RecallImport.objects.exists()


def test_more_rows_than_the_cap_are_refused(campaign):
    lines = [GOOD[0]] * (recalls.MAX_ROWS + 2)
    with pytest.raises(ValidationError) as caught:
        preview(campaign, csv_file(lines))
    assert caught.value.error_dict["file"][0].code == "too_many_rows"


def test_confirm_adds_once_and_a_second_confirm_is_refused(campaign):
    result = preview(campaign, csv_file(GOOD[:3]))
    assert recalls.recall_import_confirm(recall_import=result, actor=None) == 3
    assert set(campaign.vins.values_list("vin", flat=True)) == set(GOOD[:3])
    with pytest.raises(ValidationError):
        recalls.recall_import_confirm(recall_import=result, actor=None)
    assert campaign.vins.count() == 3


def test_two_previews_confirmed_do_not_list_a_vin_twice(campaign):
    first = preview(campaign, csv_file(GOOD[:2]))
    second = preview(campaign, csv_file(GOOD[1:3]))
    recalls.recall_import_confirm(recall_import=first, actor=None)
    assert recalls.recall_import_confirm(recall_import=second, actor=None) == 1
    assert campaign.vins.count() == 3


def test_listed_vehicle_sees_the_campaign_at_booking_and_it_counts_as_booked(
    campaign, workshop, advisor
):
    vehicle = make_vehicle(vin=GOOD[0])
    assert campaign not in open_campaigns_for(vehicle)
    recalls.recall_import_confirm(recall_import=preview(campaign, csv_file(GOOD[:2])), actor=None)
    assert campaign in open_campaigns_for(vehicle)
    assert recalls.recall_progress(campaign).open == 2
    appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(3), 10),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    progress = recalls.recall_progress(campaign)
    assert (progress.open, progress.booked, progress.done) == (1, 1, 0)
    rows = recalls.recall_vins(campaign, status="booked")
    assert [(row.vin, row.on_file) for row in rows] == [(GOOD[0], True)]


def test_a_done_vin_no_longer_shows_the_campaign(campaign):
    vehicle = make_vehicle(vin=GOOD[0])
    RecallVin.objects.create(campaign=campaign, vin=GOOD[0])
    assert recalls.recall_vins_complete(
        vin=GOOD[0], operation_ids=[campaign.labour_operation_id], order_number="RO-1"
    )
    assert campaign not in open_campaigns_for(vehicle)
    assert recalls.recall_progress(campaign).done == 1


def test_manager_uploads_previews_and_confirms(client, make_staff, campaign):
    client.force_login(make_staff("service_manager"))
    response = client.post(
        reverse("appointments:recall_import", args=[campaign.pk]),
        {"file": csv_file(["VIN", *GOOD[:2], "BAD"])},
    )
    preview_row = RecallImport.objects.get()
    assert response.url == reverse("appointments:recall_import_preview", args=[preview_row.pk])
    page = client.get(response.url).content.decode()
    assert 'id="malformed">1<' in page
    client.post(reverse("appointments:recall_import_confirm", args=[preview_row.pk]))
    assert campaign.vins.count() == 2
    listing = client.get(reverse("appointments:campaign_vins", args=[campaign.pk]))
    assert GOOD[0] in listing.content.decode()


def test_a_bad_file_is_answered_next_to_the_field(client, make_staff, campaign):
    client.force_login(make_staff("service_manager"))
    response = client.post(
        reverse("appointments:recall_import", args=[campaign.pk]),
        {"file": SimpleUploadedFile("vins.pdf", b"%PDF")},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert not RecallImport.objects.exists()


def test_advisor_sees_the_list_but_cannot_import(client, advisor, campaign):
    client.force_login(advisor)
    assert client.get(reverse("appointments:campaign_vins", args=[campaign.pk])).status_code == 200
    url = reverse("appointments:recall_import", args=[campaign.pk])
    assert client.post(url, {"file": csv_file(GOOD[:1])}).status_code == 403
    assert not RecallImport.objects.exists()


def test_posting_without_a_file_asks_for_one(client, make_staff, campaign):
    client.force_login(make_staff("service_manager"))
    response = client.post(reverse("appointments:recall_import", args=[campaign.pk]))
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
