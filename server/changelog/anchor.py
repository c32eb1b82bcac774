"""The chain's anchor outside the database: the head row's id and hash in a checkpoint
file in the data dir.

Hashes prove that rows are unaltered, not that none are missing at the end: deleting the
last rows (or TRUNCATE) leaves a shorter chain that verifies. The checkpoint remembers
how far the chain reached, so `log verify` can tell. It is written after appends, at
most every CHECKPOINT_EVERY_S per process, and by every clean `log verify`; it names only
committed rows (a checkpoint ahead of the database would be a false alarm). Ids are
consecutive from 1, so the head's id is the row count. The file carries an HMAC with the
chain key, so editing it is detected too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from server.changelog.chain import ChainKey

CHECKPOINT_FILE = "change_log.checkpoint"
CHECKPOINT_EVERY_S = 2.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    rows: int  # the head row's id = how many rows the chain had
    head: str  # that row's hash
    keyed_from: int | None  # the key marker's id, None while the chain is unkeyed
    key: str  # the key's fingerprint
    at: str  # when it was written (UTC)


def checkpoint_path(data_dir: Path) -> Path:
    return Path(data_dir) / CHECKPOINT_FILE


def _body(point: Checkpoint) -> bytes:
    return json.dumps(asdict(point), sort_keys=True, separators=(",", ":")).encode()


def make(rows: int, head: str, keyed_from: int | None, key: ChainKey) -> Checkpoint:
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    return Checkpoint(rows=rows, head=head, keyed_from=keyed_from, key=key.fingerprint, at=at)


def encode(point: Checkpoint, key: ChainKey) -> bytes:
    return json.dumps({**asdict(point), "mac": key.mac(_body(point))}, indent=1).encode() + b"\n"


def write(data_dir: Path, point: Checkpoint, key: ChainKey) -> None:
    """Atomically replace the checkpoint file (temporary file, fsync, rename)."""
    target = checkpoint_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(encode(point, key))
            fh.flush()
            os.fsync(fh.fileno())  # a power cut must not leave an empty checkpoint
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def decode(data: bytes, key: ChainKey) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint in `data`, or None and what is wrong with it."""
    try:
        raw = json.loads(data)
        mac = raw.pop("mac")
        point = Checkpoint(**raw)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, "the checkpoint file is unreadable"
    if point.key != key.fingerprint:
        return None, (
            f"the checkpoint was written with another secret key (fingerprint {point.key}, "
            f"configured {key.fingerprint})"
        )
    if mac != key.mac(_body(point)):
        return None, "the checkpoint file was altered (its MAC does not match)"
    return point, None


def read(data_dir: Path, key: ChainKey) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint (None when there is none yet) and what is wrong with it, if anything."""
    try:
        data = checkpoint_path(data_dir).read_bytes()
    except FileNotFoundError:
        return None, None
    return decode(data, key)


class Throttle:
    """Writes a checkpoint after appends, at most every CHECKPOINT_EVERY_S, in a thread:
    the append holds the writers' turn, and an fsync there would make every waiting save
    wait for it."""

    def __init__(self) -> None:
        self._next = 0.0
        self._rows = 0

    def note(self, data_dir: Path, rows: int, head: str, keyed_from: int | None,
             key: ChainKey) -> None:
        now = time.monotonic()
        if now < self._next or rows <= self._rows:
            return
        self._next, self._rows = now + CHECKPOINT_EVERY_S, rows
        point = make(rows, head, keyed_from, key)
        future = asyncio.get_running_loop().run_in_executor(None, write, data_dir, point, key)
        future.add_done_callback(_report_failure)


def _report_failure(future: asyncio.Future[None]) -> None:
    # A checkpoint that cannot be written must not fail the save that prompted it.
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not write the change-log checkpoint: %s", future.exception())
