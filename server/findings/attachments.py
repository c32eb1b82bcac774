"""Files attached to the steps of an NC: checked by content (evidence/documents.py),
stored under the data directory with their SHA-256, recorded through the change log,
listed with who attached them and when. Reading one goes through the NC's visibility
(service.load_visible): whoever may not see the NC may not download its files."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.changelog import record
from server.evidence import documents, storage
from server.findings.tables import NcAttachment, Nonconformance


@dataclass(frozen=True)
class Upload:
    """A file as a form or request brought it: its bytes and the name it was sent with."""

    data: bytes
    filename: str = ""


async def prepare(upload: Upload) -> documents.CheckedFile:
    """Check the upload (off the event loop: parsing a PDF or decoding a photo is CPU
    work); raises documents.FileRejected."""
    return await asyncio.to_thread(documents.check, upload.data, upload.filename)


def write_file(data_dir: Path, nc_id: int, checked: documents.CheckedFile) -> str:
    return storage.save_attachment(data_dir, nc_id, checked.extension, checked.data)


def remove_file(data_dir: Path, rel_path: str) -> None:
    storage.remove(data_dir, rel_path, storage.ATTACHMENTS)


async def create_row(nc: Nonconformance, actor: Any, step: str, checked: documents.CheckedFile,
                     path: str, action_id: int | None = None) -> NcAttachment:
    """The attachment's row (inside the caller's write transaction)."""
    return await record.create(NcAttachment(
        nc=nc.id, step=step, action=action_id, filename=checked.filename, kind=checked.kind,
        content_type=checked.content_type, path=path, size_bytes=checked.size_bytes,
        sha256=checked.sha256, uploaded_by=getattr(actor, "id", None),
    ), actor)


async def steps_of(nc_id: int) -> frozenset[str]:
    rows = await NcAttachment.select(NcAttachment.step).where(NcAttachment.nc == nc_id)
    return frozenset(r["step"] for r in rows)


async def get(nc_id: int, attachment_id: int) -> NcAttachment | None:
    return await NcAttachment.objects().get(
        (NcAttachment.id == attachment_id) & (NcAttachment.nc == nc_id))


def file_path(data_dir: Path, row: NcAttachment) -> Path:
    """The stored file (ValueError for a path outside attachments/)."""
    return storage.resolve(data_dir, row.path, storage.ATTACHMENTS)
