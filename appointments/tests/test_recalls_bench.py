"""Issue 20.10 must show: a brand's list of 10 000 VINs previewed and confirmed in under 10 s.

Run: make bench-recalls (or pytest -m bench appointments/tests/test_recalls_bench.py -s).
"""

import io
import random
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from appointments import recalls
from appointments.models import Campaign
from dealership.models import Customer, Vehicle

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

ROWS = 10_000
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def test_ten_thousand_vins_preview_and_confirm_under_ten_seconds():
    rng = random.Random(20)
    vins = list({"LSV" + "".join(rng.choices(VIN_CHARS, k=14)) for _ in range(ROWS)})
    owner = Customer.objects.create(name="车主", mobile="13800000000")
    # Half the list is cars the store knows (bulk, not timed).
    Vehicle.objects.bulk_create(
        Vehicle(vin=vin, plate=f"苏E{i:05d}", owner=owner, brand="丰田", model="卡罗拉")
        for i, vin in enumerate(vins[: len(vins) // 2])
    )
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["序号", "VIN", "车型"])
    for number, vin in enumerate(vins, start=1):
        sheet.append([number, vin, "卡罗拉"])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("recall.xlsx", buffer.getvalue())
    campaign = Campaign.objects.create(code="R-BENCH", name_zh="召回")

    started = time.perf_counter()
    preview = recalls.recall_import_preview(campaign=campaign, upload=upload, actor=None)
    previewed = time.perf_counter()
    added = recalls.recall_import_confirm(recall_import=preview, actor=None)
    finished = time.perf_counter()

    print(
        f"\nrecall import of {len(vins)} VINs: preview {previewed - started:.2f} s, "
        f"confirm {finished - previewed:.2f} s, total {finished - started:.2f} s"
    )
    assert (preview.known, preview.unknown, added) == (
        len(vins) // 2,
        len(vins) - len(vins) // 2,
        len(vins),
    )
    assert finished - started < 10
