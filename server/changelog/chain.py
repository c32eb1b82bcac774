"""How change-log rows are hashed: plain SHA-256 before the key marker, HMAC-SHA256 from
it on.

A plain hash proves nothing against someone who can write to the database: they rewrite
a row and every hash after it. So rows are keyed with a key that is not in the database:
it is derived from the app's secret key (AUDITRAIL_SECRET_KEY, or the data dir's
`secret_key` file). Rows written before keying existed carry plain SHA-256 hashes and
cannot be re-hashed (the table is append-only, and rewriting history is what it forbids),
so the switch point is recorded in the chain itself: the first keyed row is a marker
(action "keyed" on record change_log/"chain") naming the key by a fingerprint. The
marker's HMAC covers its prev_hash, so it pins every plain row before it as well: an
edit there breaks a link only the key could re-make. A new database gets the marker as
its row 1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from server.core.settings import Settings
from server.db.engine import current_settings

GENESIS = "0" * 64
PLAIN = "sha256"
KEYED = "hmac-sha256"
# The marker row that switches the chain to keyed hashes.
MARKER_ACTION = "keyed"
MARKER_TABLE = "change_log"
MARKER_RECORD = "chain"
_KEY_CONTEXT = b"auditrail change-log chain v1"


# json.dumps with these options builds a new encoder per call; verify calls it per row.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical(fields: dict[str, Any]) -> bytes:
    return _CANONICAL.encode(fields).encode("utf-8")


def plain_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


class ChainKey:
    """The HMAC key of the chain and its public fingerprint."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the change log needs the app's secret key")
        self._key = hmac.new(secret.encode("utf-8"), _KEY_CONTEXT, hashlib.sha256).digest()
        self._base = hmac.new(self._key, digestmod=hashlib.sha256)
        # Names the key in the marker and the checkpoint without revealing it, so verify
        # can tell "another key is configured" from "rows were forged".
        self.fingerprint = hmac.new(self._key, b"fingerprint", hashlib.sha256).hexdigest()[:16]

    def hash(self, fields: dict[str, Any]) -> str:
        mac = self._base.copy()
        mac.update(canonical(fields))
        return mac.hexdigest()

    def mac(self, data: bytes) -> str:
        mac = self._base.copy()
        mac.update(b"checkpoint\x00" + data)
        return mac.hexdigest()


@lru_cache(maxsize=8)
def _key_for(settings: Settings) -> ChainKey:
    return ChainKey(settings.with_secret().secret_key)


def chain_key(settings: Settings | None = None) -> ChainKey:
    """The key for these settings (default: the ones the database was configured with)."""
    return _key_for(settings or current_settings())


def is_marker(row: dict[str, Any]) -> bool:
    return (
        row["action"] == MARKER_ACTION
        and row["record_table"] == MARKER_TABLE
        and str(row["record_id"]) == MARKER_RECORD
    )


def marker_changes(key: ChainKey) -> dict[str, list[Any]]:
    return {"hash": [PLAIN, KEYED], "key": [None, key.fingerprint]}
