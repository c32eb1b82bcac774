"""Photo files under <data_dir>/photos/<audit id>/.

The database stores paths relative to the data directory ("photos/12/<uuid>.jpg"),
so the data directory can move. Files are written atomically (temporary file, then
os.replace): a reader never sees half a photo, and a crash leaves at most a stray
".tmp" file, never a truncated image under a real name. Every path read back from
the database goes through resolve(), which refuses anything outside photos/.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path, PurePosixPath

from server.evidence.images import ProcessedImage

PHOTOS = "photos"
ATTACHMENTS = "attachments"


def save(data_dir: Path, audit_id: int, image: ProcessedImage) -> tuple[str, str]:
    """Write the image and its thumbnail; return both paths relative to data_dir."""
    if isinstance(audit_id, bool) or not isinstance(audit_id, int) or audit_id < 1:
        raise ValueError(f"invalid audit id: {audit_id!r}")
    if not image.extension.isalnum():
        raise ValueError(f"invalid extension: {image.extension!r}")
    folder = Path(data_dir) / PHOTOS / str(audit_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    rel = f"{PHOTOS}/{audit_id}/{name}.{image.extension}"
    thumb_rel = f"{PHOTOS}/{audit_id}/{name}_thumb.{image.extension}"
    _write_atomic(folder / f"{name}.{image.extension}", image.data)
    try:
        _write_atomic(folder / f"{name}_thumb.{image.extension}", image.thumb)
    except BaseException:
        (folder / f"{name}.{image.extension}").unlink(missing_ok=True)
        raise
    return rel, thumb_rel


def save_attachment(data_dir: Path, nc_id: int, extension: str, data: bytes) -> str:
    """Write an NC's attachment under attachments/<nc id>/; return its relative path."""
    if isinstance(nc_id, bool) or not isinstance(nc_id, int) or nc_id < 1:
        raise ValueError(f"invalid NC id: {nc_id!r}")
    if not extension.isalnum():
        raise ValueError(f"invalid extension: {extension!r}")
    folder = Path(data_dir) / ATTACHMENTS / str(nc_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{extension}"
    _write_atomic(folder / name, data)
    return f"{ATTACHMENTS}/{nc_id}/{name}"


def resolve(data_dir: Path, rel_path: str, root: str = PHOTOS) -> Path:
    """The absolute file for a stored relative path; ValueError unless it lies in `root`
    (photos/, or attachments/ for NC attachments)."""
    if not isinstance(rel_path, str) or not rel_path or "\x00" in rel_path or "\\" in rel_path:
        raise ValueError("invalid photo path")
    pure = PurePosixPath(rel_path)
    if pure.is_absolute() or ":" in pure.parts[0]:  # "/etc/passwd", "C:/..."
        raise ValueError("photo path must be relative")
    if any(part in ("..", ".") for part in rel_path.split("/")):
        raise ValueError("photo path must not contain '..' or '.'")
    if len(pure.parts) < 2 or pure.parts[0] != root:
        raise ValueError(f"photo path must lie under {root}/")
    top = (Path(data_dir) / root).resolve()
    target = (Path(data_dir) / pure).resolve()  # resolve(): a symlink cannot lead out either
    if target == top or not target.is_relative_to(top):
        raise ValueError(f"photo path leads outside {root}/")
    return target


def remove(data_dir: Path, rel_path: str, root: str = PHOTOS) -> None:
    """Delete a stored file if it is there (a missing file is not an error)."""
    target = resolve(data_dir, rel_path, root)
    if target.is_dir():
        raise ValueError("photo path names a folder")
    target.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # evidence: on disk before its row points at it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
