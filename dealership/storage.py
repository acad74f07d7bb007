"""Where uploads (damage photos, findings, signatures) are written: the media folder.

A stored file that is gone (deleted by hand, lost with a disk, a restore without the media
folder) is a 404 on the page that serves it (`stored_file_response`), never a 500.

A full disk (or a used-up quota) while writing an upload is refused as
`StorageFull`, a `DomainError`: the views show it next to the upload field in
the user's language (`dealership.web.apply_errors`), the service's
transaction rolls back, and the partly written file is removed, so nothing is
half-saved.
"""

import contextlib
import errno
import logging
import os

from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

logger = logging.getLogger(__name__)

FULL = {errno.ENOSPC, errno.EDQUOT}


class StorageFull(DomainError):
    """No room left for an upload; nothing of it was kept."""

    def __init__(self):
        super().__init__(
            _(
                "The server's disk is full: the file was not saved and nothing else was "
                "changed. Tell the administrator, then try again."
            ),
            code="storage_full",
        )


class MediaStorage(FileSystemStorage):
    def _save(self, name, content):
        path = self.path(name)
        existed = os.path.lexists(path)
        try:
            return super()._save(name, content)
        except OSError as exc:
            if exc.errno not in FULL:
                raise
            if not existed:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            logger.error("upload %s refused: %s", name, exc)
            raise StorageFull() from exc


def stored_file_response(field_file, *, content_type: str | None = None) -> FileResponse:
    """The upload as a response; 404 when the field is empty or its file is missing."""
    if not field_file:
        raise Http404
    try:
        handle = field_file.open("rb")
    except FileNotFoundError as exc:
        logger.warning("stored file %s is missing", field_file.name)
        raise Http404 from exc
    return FileResponse(handle, content_type=content_type)
