"""Tampering `auditrail log verify` must catch, each on a deployment of its own: the demo
data made by the real services, then changed in the database or on disk the way someone
with access but without the app's secret key could, then checked by the real command.

The session database cannot serve: its fixtures delete records behind the log's back.
Each test gets a copy of one prepared deployment (a copied data dir; on PostgreSQL a
database made from the prepared one as a template)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from server.changelog.chain import plain_hash
from server.changelog.record import hashed_fields
from server.core.settings import PROJECT_ROOT
from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url
from tests.support import jpeg_bytes

pytestmark = pytest.mark.db

PREPARE = (
    "from server.cli import _run, prepare\n"
    "from server.core.settings import Settings\n"
    "s = Settings.from_env().with_secret()\n"
    "assert _run(lambda: prepare(s, print), s)\n"
)


@dataclass
class Deployment:
    """A data dir and its database (SQLite file inside it, or a PostgreSQL database)."""

    data_dir: Path
    pg_name: str | None = None

    @property
    def database_url(self) -> str | None:
        return _pg_url(PG_ADMIN_URL, self.pg_name) if PG_ADMIN_URL and self.pg_name else None

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "auditrail.sqlite3"

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing of the test session's own AUDITRAIL_* settings leaks in: the secret key
        # is the data dir's file, as in a deployment without AUDITRAIL_SECRET_KEY.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITRAIL_")}
        env.update(AUDITRAIL_DATA_DIR=str(self.data_dir), AUDITRAIL_DEMO="1",
                   AUDITRAIL_CHECKLISTS_DIR=str(PROJECT_ROOT / "checklists"))
        if self.database_url:
            env["AUDITRAIL_DATABASE_URL"] = self.database_url
        env.update(extra)
        return env

    def cli(self, *args: str, timeout: float = 180, **extra: str
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "server.cli", *args], env=self.env(**extra),
                              capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-c", code], env=self.env(), cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def sql(self, *statements: str) -> list[dict[str, Any]]:
        """Run statements straight on the database (no app, no Piccolo); the last one's rows."""
        if self.database_url is None:
            conn = sqlite3.connect(self.sqlite_path, isolation_level=None)
            conn.row_factory = sqlite3.Row
            try:
                rows: list[Any] = []
                for sql in statements:
                    rows = conn.execute(sql).fetchall()
                return [dict(r) for r in rows]
            finally:
                conn.close()
        url = self.database_url

        async def execute() -> list[dict[str, Any]]:
            import asyncpg

            conn = await asyncpg.connect(url)
            try:
                rows: list[Any] = []
                for sql in statements:
                    rows = await conn.fetch(sql)
                return [dict(r) for r in rows]
            finally:
                await conn.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, execute()).result()

    def bypass_triggers(self, *statements: str) -> list[dict[str, Any]]:
        """Change the change log the way someone with DDL rights can."""
        if self.database_url:
            return self.sql("ALTER TABLE change_log DISABLE TRIGGER USER", *statements,
                            "ALTER TABLE change_log ENABLE TRIGGER USER")
        return self.sql("DROP TRIGGER IF EXISTS change_log_no_update",
                        "DROP TRIGGER IF EXISTS change_log_no_delete",
                        *statements)

    def copy(self, data_dir: Path) -> Deployment:
        shutil.copytree(self.data_dir, data_dir)
        if not self.pg_name or not PG_ADMIN_URL:
            return Deployment(data_dir)
        name = f"auditrail_copy_{secrets.token_hex(4)}"
        _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_name}"')
        return Deployment(data_dir, name)

    def drop(self) -> None:
        if self.pg_name and PG_ADMIN_URL:
            _pg_admin(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def new_deployment(data_dir: Path) -> Deployment:
    """An empty deployment: a data dir to be, and on PostgreSQL an empty database."""
    if not PG_ADMIN_URL:
        return Deployment(data_dir)
    name = f"auditrail_fresh_{secrets.token_hex(4)}"
    _pg_admin(PG_ADMIN_URL, f'CREATE DATABASE "{name}"')
    return Deployment(data_dir, name)


def prepared(data_dir: Path) -> Deployment:
    """A deployment as `serve` leaves it: migrated, checklists synced, demo data loaded."""
    deployment = new_deployment(data_dir)
    deployment.python(PREPARE)
    return deployment


def log_rows(deployment: Deployment) -> list[dict[str, Any]]:
    rows = deployment.sql("SELECT * FROM change_log ORDER BY id")
    for row in rows:
        if isinstance(row["at"], str):  # sqlite3 without Piccolo's converters: ISO text
            row["at"] = datetime.fromisoformat(row["at"])
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return rows


def insert_rows(deployment: Deployment, rows: list[dict[str, Any]]) -> None:
    columns = ("id", "at", "actor_id", "actor_login", "action", "record_table", "record_id",
               "changes", "reason", "prev_hash", "hash")

    def literal(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, datetime):
            value = value.isoformat()
        if isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        return "'" + str(value).replace("'", "''") + "'"

    deployment.sql(*(
        f"INSERT INTO change_log ({', '.join(columns)}) VALUES "
        f"({', '.join(literal(row[c]) for c in columns)})" for row in rows))


def rehash_plain(rows: list[dict[str, Any]], prev: str) -> list[dict[str, Any]]:
    """What an attacker without the key can do: re-link rows with the published hash."""
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = plain_hash(hashed_fields(row))
    return rows


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = prepared(tmp_path_factory.mktemp("tamper") / "data")
    point = json.loads((deployment.data_dir / "change_log.checkpoint").read_text())
    deployment.appended_checkpoint = point  # type: ignore[attr-defined]
    first = deployment.cli("log", "verify")
    assert first.returncode == 0, first.stdout + first.stderr
    yield deployment
    deployment.drop()


@pytest.fixture
def copy(base: Deployment, tmp_path: Path) -> Iterator[Deployment]:
    deployment = base.copy(tmp_path / "data")
    yield deployment
    deployment.drop()


def _verify(deployment: Deployment, **extra: str) -> subprocess.CompletedProcess[str]:
    return deployment.cli("log", "verify", **extra)


def _last_id(deployment: Deployment) -> int:
    return int(deployment.sql("SELECT max(id) AS n FROM change_log")[0]["n"])


def test_appends_leave_a_checkpoint_of_committed_rows(base: Deployment) -> None:
    point = base.appended_checkpoint  # type: ignore[attr-defined]
    row = base.sql(f"SELECT hash FROM change_log WHERE id = {int(point['rows'])}")
    assert row and row[0]["hash"] == point["head"]
    assert point["keyed_from"] == 1  # a new database is keyed from its first row


def test_an_untouched_database_verifies(copy: Deployment) -> None:
    done = _verify(copy)
    assert done.returncode == 0, done.stderr
    last = _last_id(copy)
    assert f"{last} rows checked" in done.stdout and "keyed from row 1" in done.stdout
    assert f"checkpoint: {last} rows" in done.stdout
    assert "answers" in done.stdout and "photo files" in done.stdout
    assert "intact" in done.stdout and not done.stderr


def test_1_deleting_the_last_rows(copy: Deployment) -> None:
    last = _last_id(copy)
    copy.bypass_triggers(f"DELETE FROM change_log WHERE id > {last - 3}")
    done = _verify(copy)
    assert done.returncode == 1
    assert (f"the change log ends at row {last - 3}, but the checkpoint" in done.stderr
            and f"rows {last - 2}..{last} were removed from its end" in done.stderr)


def test_2_rewriting_the_chain_from_a_row_on(copy: Deployment) -> None:
    rows = log_rows(copy)
    start = len(rows) // 2
    rows[start]["reason"] = "nothing happened here"
    tail = rehash_plain(rows[start:], rows[start - 1]["hash"])
    copy.bypass_triggers(f"DELETE FROM change_log WHERE id >= {tail[0]['id']}")
    insert_rows(copy, tail)
    done = _verify(copy)
    assert done.returncode == 1
    first, last = tail[0]["id"], tail[-1]["id"]
    assert f"rows {first}..{last}: content does not match their hashes" in done.stderr
    assert f"row {last} is not the row the checkpoint" in done.stderr


def test_3_a_forged_appended_row(copy: Deployment) -> None:
    rows = log_rows(copy)
    forged = {**rows[-1], "id": rows[-1]["id"] + 1, "action": "update",
              "record_table": "app_user", "record_id": "1", "reason": "",
              "changes": {"name": ["Admin", "Someone else"]}}
    insert_rows(copy, rehash_plain([forged], rows[-1]["hash"]))
    done = _verify(copy)
    assert done.returncode == 1
    assert f"row {forged['id']}: content does not match its hash" in done.stderr


def test_4_emptying_the_change_log(copy: Deployment) -> None:
    if copy.database_url:
        with pytest.raises(Exception, match="TRUNCATE refused"):
            copy.sql("TRUNCATE change_log")
        copy.sql("ALTER TABLE change_log DISABLE TRIGGER change_log_no_truncate",
                 "TRUNCATE change_log")
    else:  # SQLite has no TRUNCATE; DELETE without WHERE still meets the row triggers
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            copy.sql("DELETE FROM change_log")
        copy.bypass_triggers("DELETE FROM change_log")
    assert copy.sql("SELECT count(*) AS n FROM change_log")[0]["n"] == 0
    done = _verify(copy)
    assert done.returncode == 1
    assert "the change log is empty, but the checkpoint" in done.stderr
    assert "it was emptied (TRUNCATE or DELETE)" in done.stderr


@pytest.mark.parametrize("record", ["answer", "nonconformance", "asset"])
def test_5_a_record_edited_without_a_log_row(copy: Deployment, record: str) -> None:
    if record == "answer":
        row = copy.sql("SELECT id, audit, item_id FROM answer WHERE comment = '' "
                       "ORDER BY id LIMIT 1")[0]
        copy.sql(f"UPDATE answer SET comment = 'added later' WHERE id = {row['id']}")
        expected = (f'answer of audit {row["audit"]} to item {row["item_id"]}: comment is '
                    '"added later" in the database, the change log says ""')
    elif record == "nonconformance":
        copy.sql("UPDATE nonconformance SET severity = 'observation' WHERE id = 1")
        expected = 'nonconformance 1: severity is "observation" in the database'
    else:
        copy.sql("UPDATE asset SET status = 'retired' WHERE id = 1")
        expected = ('asset 1: status is "retired" in the database, the change log says '
                    '"in_service"')
    done = _verify(copy)
    assert done.returncode == 1
    assert expected in done.stderr
    assert "records 1)" in done.stderr  # that one record, nothing else


def test_6_a_stored_checklist_definition_edited(copy: Deployment) -> None:
    row = copy.sql("SELECT id, key, version FROM checklist_version ORDER BY id LIMIT 1")[0]
    if copy.database_url:
        copy.sql("UPDATE checklist_version SET definition = jsonb_set(definition, "
                 f"'{{title,en}}', '\"Edited\"') WHERE id = {row['id']}")
    else:
        copy.sql("UPDATE checklist_version SET definition = json_set(definition, "
                 f"'$.title.en', 'Edited') WHERE id = {row['id']}")
    done = _verify(copy)
    assert done.returncode == 1
    assert (f"checklist_version {row['key']} v{row['version']}: the stored definition does "
            "not match its content hash") in done.stderr


def test_7_a_photo_file_replaced(copy: Deployment) -> None:
    row = copy.sql("SELECT id, path FROM photo ORDER BY id LIMIT 1")[0]
    (copy.data_dir / row["path"]).write_bytes(jpeg_bytes(color=(0, 200, 0)))
    done = _verify(copy)
    assert done.returncode == 1
    assert (f"photo {row['id']} ({row['path']}): the file does not match its SHA-256"
            in done.stderr)


def test_another_secret_key_is_named_not_taken_for_forgery(copy: Deployment) -> None:
    done = _verify(copy, AUDITRAIL_SECRET_KEY="not-the-key")
    assert done.returncode == 1
    assert "rows from 1 on are keyed with another secret key" in done.stderr
    assert "content does not match" not in done.stderr


def test_a_process_with_another_key_appends_nothing(copy: Deployment) -> None:
    last = _last_id(copy)
    refused = copy.cli("users", "token", "auditor", AUDITRAIL_SECRET_KEY="not-the-key")
    assert refused.returncode != 0 and "keyed with the secret key" in refused.stderr
    assert _last_id(copy) == last
    assert _verify(copy).returncode == 0


def test_a_log_written_before_keying_verifies_and_is_pinned_by_the_marker(
    copy: Deployment,
) -> None:
    # The database as the previous version left it: plain SHA-256 rows, no marker and no
    # checkpoint (the same contents, so the records still match them).
    rows = log_rows(copy)[1:]
    for new_id, row in enumerate(rows, start=1):
        row["id"] = new_id
    legacy = rehash_plain(rows, "0" * 64)
    copy.bypass_triggers("DELETE FROM change_log")
    insert_rows(copy, legacy)
    (copy.data_dir / "change_log.checkpoint").unlink()
    done = _verify(copy)
    assert done.returncode == 0, done.stderr
    assert "written before the chain was keyed" in done.stdout and "not keyed" in done.stdout

    # The next write keys the chain: the marker first, then the row.
    assert copy.cli("users", "token", "auditor").returncode == 0
    marker = len(legacy) + 1
    done = _verify(copy)
    assert done.returncode == 0, done.stderr
    assert f"keyed from row {marker}" in done.stdout

    # Rewriting plain rows before the marker now breaks the link the key protects.
    rows = log_rows(copy)
    rows[4]["reason"] = "rewritten"
    tail = rehash_plain(rows[4:marker - 1], rows[3]["hash"])
    copy.bypass_triggers(f"DELETE FROM change_log WHERE id >= 5 AND id < {marker}")
    insert_rows(copy, tail)
    done = _verify(copy)
    assert done.returncode == 1
    assert f"row {marker}: does not link to the row before it" in done.stderr
