"""Attachments of NC steps: photos, PDF, Word (.docx) and Excel (.xlsx) files, checked by
what they contain, never by their name. Pure functions over bytes.

- photos go through images.process_photo (re-encoded as a plain JPEG: location data
  dropped, the right way up), as every photo of a run does;
- a PDF must start with its signature and open with pypdf (with at least one page);
- .docx / .xlsx must be a ZIP whose [Content_Types].xml declares a Word document or an
  Excel workbook, with no macros; the archive's declared size is bounded first, so a
  ZIP bomb is refused before anything is inflated.
Anything else (an executable renamed .pdf, a macro workbook, a damaged file) is refused
with 415 or 422; a file over MAX_ATTACHMENT_BYTES with 413.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from server.core.errors import DomainError
from server.core.i18n import gettext as _
from server.evidence import images

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_INFLATED_BYTES = 200 * 1024 * 1024  # what the parts of a .docx/.xlsx may add up to
MAX_ZIP_ENTRIES = 5_000
KINDS = ("photo", "pdf", "docx", "xlsx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_MAIN_PARTS = {
    "docx": ("word/document.xml",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}


@dataclass(frozen=True)
class CheckedFile:
    """What to store: the bytes (re-encoded for a photo), their kind, type and hash."""

    data: bytes
    kind: str  # photo | pdf | docx | xlsx
    extension: str
    content_type: str
    filename: str
    sha256: str

    @property
    def size_bytes(self) -> int:
        return len(self.data)


class FileRejected(DomainError):
    """An attachment we refuse: 413 too large, 415 not an accepted type, 422 damaged."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status, invalid={"file": message})


def _not_accepted() -> FileRejected:
    return FileRejected(415, _("Only photos (JPEG, PNG, WebP), PDF, Word (.docx) and Excel "
                               "(.xlsx) files can be attached; this file is none of them."))


def _damaged() -> FileRejected:
    return FileRejected(422, _("The file could not be read: it is damaged or incomplete."))


def clean_name(name: str, extension: str) -> str:
    """The name to show and offer on download: the uploaded name's base, printable, at
    most 200 characters, ending in the extension of what the file really is."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base)
                   if unicodedata.category(c)[0] != "C").strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = (stem or "attachment")[:180]
    return f"{stem}.{extension}"


def _pdf(data: bytes) -> None:
    from pypdf import PdfReader  # imported here: only uploads need it (startup stays fast)

    if b"%%EOF" not in data[-2048:]:
        raise _damaged()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:  # a locked PDF cannot be read back by whoever checks it
            raise FileRejected(422, _("The PDF is password-protected; attach it unlocked."))
        if len(reader.pages) < 1:
            raise _damaged()
    except FileRejected:
        raise
    except Exception:  # pypdf raises many kinds on broken input; all mean "damaged"
        raise _damaged() from None


def _office(data: bytes) -> str:
    """'docx' or 'xlsx' for a real Word document or Excel workbook without macros."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _damaged() from None
    if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_INFLATED_BYTES:
        raise FileRejected(413, _("The file unpacks to more than %(limit)d MB.",
                                  limit=MAX_INFLATED_BYTES // 2**20))
    names = {e.filename for e in entries}
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FileRejected(415, _("Files with macros cannot be attached; save it as .docx or "
                                  ".xlsx without macros."))
    try:
        types = archive.read("[Content_Types].xml")[:1_000_000].decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        raise _not_accepted() from None
    for kind, (part, main_type) in _MAIN_PARTS.items():
        if part in names and main_type in types:
            return kind
    raise _not_accepted()


def check(data: bytes, filename: str = "") -> CheckedFile:
    """The upload as a file to store, or FileRejected. CPU-bound: call it in a thread."""
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise FileRejected(413, _("The file is larger than %(limit)d MB.",
                                  limit=MAX_ATTACHMENT_BYTES // 2**20))
    if not data:
        raise FileRejected(422, _("The file is empty."))
    if images.sniff(data) is not None:
        try:
            photo = images.process_photo(data)
        except images.ImageRejected as exc:
            raise FileRejected(exc.status, exc.message) from None
        return CheckedFile(photo.data, "photo", photo.extension, photo.content_type,
                           clean_name(filename, photo.extension), photo.sha256)
    if data.startswith(b"%PDF-"):
        _pdf(data)
        kind = "pdf"
    elif data.startswith(b"PK\x03\x04"):
        kind = _office(data)
    else:
        raise _not_accepted()
    return CheckedFile(data, kind, kind, CONTENT_TYPES[kind], clean_name(filename, kind),
                       hashlib.sha256(data).hexdigest())
