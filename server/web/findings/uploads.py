"""The file of an NC form or multipart request, and an attachment as a download: shared
by the NC pages and the NC API."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.response import File

from server.findings import service
from server.findings.attachments import Upload

Req = Request[Any, Any, Any]


async def upload_in(form: FormMultiDict) -> Upload | None:
    """The form's `file`, or None when none was chosen (a browser then sends an empty
    part with no name)."""
    part = form.get("file")
    if not isinstance(part, UploadFile):
        return None
    data = await part.read()
    if not data and not part.filename:
        return None
    return Upload(data, part.filename or "")


def data_dir(request: Req) -> Any:
    return request.app.state.settings.data_dir


async def download(request: Req, nc_id: int, attachment_id: int) -> File:
    """The attachment as a download (never shown inline: a PDF or an Office file opens
    in its own program, not as part of our pages)."""
    row, path = await service.attachment_for(nc_id, attachment_id, request.scope["user"],
                                             data_dir(request))
    return File(path, filename=row.filename, media_type=row.content_type,
                content_disposition_type="attachment",
                headers={"Cache-Control": "private, no-store"})
