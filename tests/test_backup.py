"""`auditrail backup` while 20 clients save answers, then `auditrail restore` into a fresh
data dir and database: every answer acknowledged before the backup started is there, and
`log verify` proves the restored copy. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_durability import Savers, serving, start_run, stored_answers, write_library
from tests.test_log_tamper import Deployment, new_deployment, prepared

pytestmark = pytest.mark.db


@pytest.fixture
def deployments(tmp_path: Path) -> Iterator[list[Deployment]]:
    made: list[Deployment] = []
    yield made
    for deployment in made:
        deployment.drop()


def test_a_backup_under_load_restores_every_acknowledged_answer(
    tmp_path: Path, deployments: list[Deployment]
) -> None:
    source = new_deployment(tmp_path / "source")
    deployments.append(source)
    library = write_library(tmp_path)
    archive = tmp_path / "backup.tar"
    with serving(source, library, tmp_path / "server.log") as served:
        audit = start_run(served)
        with Savers(served, audit) as savers:
            savers.wait_for(3)
            before = dict(savers.acked)  # acknowledged before the backup started
            made = source.cli("backup", str(archive))
            during = sum(savers.acked.values()) - sum(before.values())
            savers.wait_for(max(savers.acked.values()) + 1)  # still saving after it
        assert not savers.errors, savers.errors
    assert made.returncode == 0, made.stderr
    assert during > 0, "no save happened while the backup ran"

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    names = {m["name"] for m in manifest["members"]}
    assert {"secret_key", "change_log.checkpoint"} <= names
    assert any(n.startswith("database/") for n in names)
    assert any(n.startswith("photos/") for n in names)  # the demo audit's photos
    assert all(len(m["sha256"]) == 64 and m["source"] for m in manifest["members"])

    target = new_deployment(tmp_path / "restored")
    deployments.append(target)
    restored = target.cli("restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    answers = stored_answers(target, audit)
    assert all(answers.get(n, 0) >= value for n, value in before.items()), (before, answers)
    assert all(answers[n] <= savers.acked[n] + 1 for n in answers)  # nothing from nowhere
    verified = target.cli("log", "verify")
    assert verified.returncode == 0, verified.stderr
    assert f"checkpoint: {manifest['change_log']['rows']} rows" in verified.stdout


def test_restore_checks_the_archive_first_and_keeps_a_used_target(
    tmp_path: Path, deployments: list[Deployment]
) -> None:
    source = prepared(tmp_path / "source")
    deployments.append(source)
    archive = tmp_path / "backup.tar"
    assert source.cli("backup", str(archive)).returncode == 0
    assert source.cli("backup", str(archive)).returncode == 1  # never overwritten

    # A damaged member: named, and nothing of the target touched.
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as good, tarfile.open(damaged, "w") as bad:
        hit = next(n for n in good.getnames() if n.startswith("photos/"))
        for info in good:
            data = good.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == hit:
                data = data[:-1] + bytes([data[-1] ^ 1])
            bad.addfile(info, io.BytesIO(data))
    target = new_deployment(tmp_path / "target")
    deployments.append(target)
    refused = target.cli("restore", str(damaged))
    assert refused.returncode == 1
    assert f"{hit}: SHA-256" in refused.stderr and "does not match" in refused.stderr
    assert not target.data_dir.exists()

    # A used target is refused unless told with --force.
    assert target.cli("restore", str(archive)).returncode == 0
    again = target.cli("restore", str(archive))
    assert again.returncode == 1 and "not empty" in again.stderr and "--force" in again.stderr
    forced = target.cli("restore", "--force", str(archive))
    assert forced.returncode == 0, forced.stderr
    assert target.cli("log", "verify").returncode == 0
