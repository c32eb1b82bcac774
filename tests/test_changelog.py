"""The change log: every write leaves a row; tampering is caught by `log verify`."""

from __future__ import annotations

from typing import Any

import pytest

from server.changelog.record import history
from server.changelog.tables import ChangeLog
from server.changelog.verify import verify_log
from server.db.engine import engine_name
from tests.support import login, new_user


def _last_id(run: Any) -> int:
    row = run(ChangeLog.select(ChangeLog.id).order_by(ChangeLog.id, ascending=False).first().run)
    return int(row["id"]) if row else 0


def test_each_write_through_the_pages_leaves_a_row(client: Any, run: Any) -> None:
    token = login(client, "admin")
    before = _last_id(run)
    client.post(
        "/admin/users",
        data={
            "_csrf": token,
            "login": "logged",
            "name": "Logged",
            "password": "long-enough-1",
            "roles": "engineer",
            "active": "on",
        },
    )
    rows = run(history, "app_user", _find_user(run, "logged"))
    assert [r["action"] for r in rows] == ["create", "memberships"]
    assert rows[0]["actor_login"] == "admin"
    assert rows[0]["changes"]["login"] == [None, "logged"]
    assert "password_hash" not in rows[0]["changes"]  # secrets never reach the log
    assert rows[1]["changes"]["roles"] == [[], ["engineer"]]
    assert _last_id(run) == before + 2

    uid = _find_user(run, "logged")
    client.post(
        f"/admin/users/{uid}",
        data={
            "_csrf": token,
            "name": "Logged Again",
            "roles": ["engineer", "auditor"],
            "active": "on",
            "reason": "promoted",
        },
    )
    rows = run(history, "app_user", uid)
    assert rows[-2]["changes"] == {"name": ["Logged", "Logged Again"]}
    assert rows[-2]["reason"] == "promoted"
    assert rows[-1]["changes"] == {"roles": [["engineer"], ["auditor", "engineer"]]}
    page = client.get(f"/admin/users/{uid}").text
    assert "promoted" in page and "Logged Again" in page  # the record's page shows its history


def _find_user(run: Any, login_name: str) -> int:
    from server.accounts.tables import User

    return run(User.select(User.id).where(User.login == login_name).first().run)["id"]


def test_saving_nothing_new_writes_nothing(client: Any, run: Any) -> None:
    token = login(client, "admin")
    uid = _find_user(run, run(lambda: new_user("engineer")))  # renamed here, for good
    page = client.get(f"/admin/users/{uid}")
    assert page.status_code == 200
    client.post(
        f"/admin/users/{uid}",
        data={"_csrf": token, "name": "First save", "roles": "engineer", "active": "on"},
    )
    before = _last_id(run)
    client.post(
        f"/admin/users/{uid}",
        data={"_csrf": token, "name": "First save", "roles": "engineer", "active": "on"},
    )
    assert _last_id(run) == before


def test_the_database_refuses_updates_and_deletes(run: Any, client: Any) -> None:
    login(client, "auditor")  # make sure there are rows
    with pytest.raises(Exception, match="append-only"):
        run(ChangeLog.update({ChangeLog.reason: "rewritten"}, force=True).run)
    with pytest.raises(Exception, match="append-only"):
        run(ChangeLog.delete(force=True).run)


async def _tamper(sql: str) -> None:
    """Bypass the append-only trigger the way an attacker with DDL rights would."""
    if engine_name() == "postgresql":
        await ChangeLog.raw("ALTER TABLE change_log DISABLE TRIGGER change_log_append_only")
        await ChangeLog.raw(sql)
        await ChangeLog.raw("ALTER TABLE change_log ENABLE TRIGGER change_log_append_only")
    else:
        await ChangeLog.raw("DROP TRIGGER change_log_no_update")
        await ChangeLog.raw("DROP TRIGGER change_log_no_delete")
        await ChangeLog.raw(sql)
        await ChangeLog.raw(
            "CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log "
            "BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END"
        )
        await ChangeLog.raw(
            "CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log "
            "BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END"
        )


def test_verify_catches_an_altered_row_and_a_removed_row(client: Any, run: Any) -> None:
    token = login(client, "admin")
    for name in ("chain-a", "chain-b"):
        client.post(
            "/admin/users",
            data={
                "_csrf": token,
                "login": name,
                "name": name,
                "password": "long-enough-1",
                "roles": "owner",
            },
        )
    # The chain alone: `auditrail log verify` also replays the records, which this session's
    # fixtures delete behind the log's back; tests/test_log_tamper.py runs the command on
    # databases of its own.
    assert run(verify_log).ok

    last = _last_id(run)
    original = run(ChangeLog.select(ChangeLog.reason).where(ChangeLog.id == last - 1).first().run)
    run(_tamper, f"UPDATE change_log SET reason = 'nothing to see' WHERE id = {last - 1}")
    report = run(verify_log)
    assert report.problems == [f"row {last - 1}: content does not match its hash"]

    # put the content back (the hash matches again), then remove a row instead
    reason = original["reason"].replace("'", "''")
    run(_tamper, f"UPDATE change_log SET reason = '{reason}' WHERE id = {last - 1}")
    assert run(verify_log).ok
    removed = run(ChangeLog.select().where(ChangeLog.id == last - 2).first().run)
    run(_tamper, f"DELETE FROM change_log WHERE id = {last - 2}")
    problems = run(verify_log).problems
    assert f"rows {last - 2}..{last - 2} are missing" in problems
    assert f"row {last - 1}: does not link to the row before it" in problems

    # restore the row so the rest of the suite sees an intact chain
    run(ChangeLog.insert(ChangeLog(**removed)).run)
    assert run(verify_log).ok
