"""Recall campaigns from the brand (issue 20.10): the VIN list, its preview and completion.

The brand sends the list of VINs a recall covers as an Excel workbook or a CSV file.
XLSX is read with openpyxl in read-only mode (streams rows, never builds the whole
sheet in memory; the project already depends on it for the report exports); CSV with
the standard library's `csv`, as UTF-8 (with or without BOM) or, as Excel saves it on a
Chinese Windows, GB18030. tablib / django-import-export were not taken: they load the
whole file into a dataset and map rows to model fields, while a VIN list is one column
that needs its own checks and a set-based insert.

Everything is set-based: one query asks which VINs are vehicles on file, one which are
in the campaign already, and confirming is one `bulk_create`. A VIN is done when a
signed order of that vehicle carries the campaign's labour operation
(`recall_vins_complete`, called by the work order's signing); it is booked while the
vehicle has an open appointment.
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealership.errors import DomainError
from dealership.models import User, Vehicle

from .models import Appointment, Campaign, RecallImport, RecallVin
from .states import OPEN_STATUSES

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MALFORMED_SAMPLE = 50
BATCH = 2_000
# 17 characters, digits and capital letters without I, O and Q (GB 16735 / ISO 3779).
VIN_PATTERN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
HEADERS = {"vin", "vin码", "车架号", "车辆识别代号", "车辆识别号"}


class RecallStatus:
    OPEN = "open"
    BOOKED = "booked"
    DONE = "done"
    LABELS = {
        OPEN: gettext_lazy("Open"),
        BOOKED: gettext_lazy("Booked"),
        DONE: gettext_lazy("Done"),
    }


def vin_normalise(value) -> str:
    """The cell as a VIN would be written: no spaces around, capitals."""
    return "" if value is None else str(value).strip().upper()


def vin_is_wellformed(vin: str) -> bool:
    return bool(VIN_PATTERN.fullmatch(vin))


def _too_many_rows() -> DomainError:
    return DomainError(
        _("The file has more than %(max)s rows; split it into smaller files.") % {"max": MAX_ROWS},
        field="file",
        code="too_many_rows",
    )


def _first_column(rows: Iterable[Iterable]) -> Iterator[tuple[int, str]]:
    """(row number, VIN cell) of every non-empty row: the column headed VIN / 车架号, else the
    first; a header row is not a VIN."""
    column = 0
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS + 1:
            raise _too_many_rows()
        cells = [vin_normalise(cell) for cell in row]
        if number == 1:
            headed = [i for i, cell in enumerate(cells) if cell.lower() in HEADERS]
            if headed:
                column = headed[0]
                continue
        value = cells[column] if column < len(cells) else ""
        if value:
            yield number, value


def _xlsx_rows(raw: bytes) -> Iterator[tuple[int, str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DomainError(
            _("This is not an Excel workbook (.xlsx) that can be read."), field="file"
        ) from exc
    try:
        sheet = book.worksheets[0]
        yield from _first_column(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _csv_rows(raw: bytes) -> Iterator[tuple[int, str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = codecs.decode(raw, encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError(_("The CSV file is neither UTF-8 nor GB18030 text."), field="file")
    if "\x00" in text:
        raise DomainError(_("The CSV file holds binary data."), field="file")
    try:
        yield from _first_column(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise DomainError(
            _("The CSV file cannot be read: %(error)s") % {"error": exc}, field="file"
        ) from exc


def _rows(upload) -> list[tuple[int, str]]:
    name = (getattr(upload, "name", "") or "").lower()
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise _too_large()
    upload.seek(0)
    raw = upload.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise _too_large()
    if not raw:
        raise DomainError(_("The file is empty."), field="file")
    if raw.startswith(b"PK\x03\x04") or name.endswith(".xlsx"):
        return list(_xlsx_rows(raw))
    if name.endswith((".csv", ".txt")):
        return list(_csv_rows(raw))
    raise DomainError(_("Upload the VIN list as .xlsx or .csv."), field="file")


def _too_large() -> DomainError:
    return DomainError(
        _("The file may be at most %(mb)s MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)},
        field="file",
        code="file_too_large",
    )


def recall_import_preview(*, campaign: Campaign, upload, actor: User | None) -> RecallImport:
    """Read a VIN list and keep what confirming would add, with the counts the preview shows.

    Nothing joins the campaign yet. Rows are sorted into malformed (not 17 characters of
    A-Z / 0-9 without I, O, Q), repeated in the file, already in the campaign, and new;
    new ones into vehicles on file and not on file.
    """
    rows = _rows(upload)
    if not rows:
        raise DomainError(_("The file holds no VINs."), field="file")
    malformed: list[list] = []
    seen: set[str] = set()
    ordered: list[str] = []
    duplicates = 0
    for number, value in rows:
        if not vin_is_wellformed(value):
            malformed.append([number, value[:40]])
        elif value in seen:
            duplicates += 1
        else:
            seen.add(value)
            ordered.append(value)
    already = set(
        RecallVin.objects.filter(campaign=campaign, vin__in=ordered).values_list("vin", flat=True)
    )
    new = [vin for vin in ordered if vin not in already]
    known = Vehicle.objects.filter(vin__in=new).values("vin").distinct().count() if new else 0
    return RecallImport.objects.create(
        campaign=campaign,
        file_name=(getattr(upload, "name", "") or "")[:255],
        uploaded_by=actor,
        new_vins=new,
        rows=len(rows),
        known=known,
        unknown=len(new) - known,
        duplicates=duplicates,
        already=len(already),
        malformed=len(malformed),
        malformed_sample=malformed[:MALFORMED_SAMPLE],
    )


def recall_import_confirm(*, recall_import: RecallImport, actor: User | None) -> int:
    """Add the previewed VINs to the campaign (once: a second confirm is refused). Returns
    how many joined; a VIN another import added meanwhile is skipped, not doubled."""
    with transaction.atomic():
        locked = RecallImport.objects.select_for_update().get(pk=recall_import.pk)
        if locked.confirmed_at is not None:
            raise DomainError(_("This list was already added to the campaign."), code="confirmed")
        before = RecallVin.objects.filter(campaign_id=locked.campaign_id).count()
        RecallVin.objects.bulk_create(
            (
                RecallVin(campaign_id=locked.campaign_id, vin=vin, source=locked)
                for vin in locked.new_vins
            ),
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        added = RecallVin.objects.filter(campaign_id=locked.campaign_id).count() - before
        locked.confirmed_at = timezone.now()
        locked.confirmed_by = actor
        locked.new_vins = []
        locked.save(update_fields=["confirmed_at", "confirmed_by", "new_vins"])
    recall_import.confirmed_at = locked.confirmed_at
    return added


def recall_vins_complete(*, vin: str, operation_ids: Iterable[int], order_number: str) -> int:
    """Mark the vehicle's listed VINs done in every open campaign whose operation the signed
    order carries. Called by the work order's signing, inside its transaction."""
    operation_ids = [pk for pk in operation_ids if pk]
    if not vin or not operation_ids:
        return 0
    return RecallVin.objects.filter(
        vin=vin, done_at__isnull=True, campaign__labour_operation_id__in=operation_ids
    ).update(done_at=timezone.now(), done_order=order_number[:30])


def _with_status(queryset):
    return queryset.annotate(
        booked=Exists(
            Appointment.objects.filter(vehicle__vin=OuterRef("vin"), status__in=OPEN_STATUSES)
        ),
        on_file=Exists(Vehicle.objects.filter(vin=OuterRef("vin"))),
    )


@dataclass
class RecallProgress:
    total: int
    open: int
    booked: int
    done: int

    @property
    def done_percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def recall_progress(campaign: Campaign) -> RecallProgress:
    """How many listed VINs are open, booked and done (two queries, whatever the list's size)."""
    total = RecallVin.objects.filter(campaign=campaign).count()
    done = RecallVin.objects.filter(campaign=campaign, done_at__isnull=False).count()
    booked = (
        _with_status(RecallVin.objects.filter(campaign=campaign, done_at__isnull=True))
        .filter(booked=True)
        .count()
    )
    return RecallProgress(total=total, open=total - done - booked, booked=booked, done=done)


def recall_vins(campaign: Campaign, *, status: str = "", query: str = "", limit: int = 200):
    """The campaign's listed VINs for its page, each with `status` and `on_file`."""
    rows = _with_status(RecallVin.objects.filter(campaign=campaign))
    if status == RecallStatus.DONE:
        rows = rows.filter(done_at__isnull=False)
    elif status == RecallStatus.BOOKED:
        rows = rows.filter(done_at__isnull=True, booked=True)
    elif status == RecallStatus.OPEN:
        rows = rows.filter(done_at__isnull=True, booked=False)
    query = vin_normalise(query)[:17]
    if query:
        rows = rows.filter(vin__contains=query)
    result = list(rows.order_by("vin")[:limit])
    for row in result:
        row.status = (
            RecallStatus.DONE if row.done_at else RecallStatus.BOOKED if row.booked else "open"
        )
        row.status_label = RecallStatus.LABELS[row.status]
    return result


def listed_campaign_ids(vin: str) -> set[int]:
    """Campaigns whose imported list names this VIN and which it has not yet had done."""
    if not vin:
        return set()
    return set(
        RecallVin.objects.filter(vin=vin, done_at__isnull=True).values_list(
            "campaign_id", flat=True
        )
    )
