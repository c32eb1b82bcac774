"""Applying and undoing migrations programmatically (CLI, `serve`, tests).

Piccolo's own commands do the work (run_forwards, run_backwards); this module names the
app, answers their prompts and says what was done.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.base import BaseMigrationManager, MigrationResult
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration

from server.db import engine

APP = "auditrail"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Step:
    id: str
    description: str


def known() -> list[Step]:
    """Every migration this release ships, oldest first."""
    finder = BaseMigrationManager()
    folder = finder.get_app_config(APP).resolved_migrations_folder_path
    modules = finder.get_migration_modules(folder)
    return [Step(mid, getattr(modules[mid], "DESCRIPTION", "")) for mid in sorted(modules)]


def _bind() -> None:
    # Piccolo's bookkeeping table keeps the engine of its first use; a process that
    # migrates a second database (the tests) would read and write the first one's.
    Migration._meta.db = engine.engine()


async def applied() -> list[str]:
    """Ids of the migrations applied to the database, in the order they ran."""
    _bind()
    await BaseMigrationManager().create_migration_table()
    return await Migration.get_migrations_which_ran(app_name=APP)


@contextlib.contextmanager
def _captured(quiet: bool) -> Iterator[io.StringIO]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        yield out


async def _piccolo(
    quiet: bool, command: Callable[[], Awaitable[MigrationResult]]
) -> MigrationResult:
    _bind()
    with _captured(quiet) as out:
        result = await command()
    if not result.success:
        raise MigrationError(result.message or out.getvalue())
    return result


async def migrate(quiet: bool = False, to: str | None = None) -> None:
    """Apply every migration not applied yet or, with `to`, those up to and including
    that id (forwards only: a `to` already applied changes nothing)."""
    # "all" as before for a full run, so any app later added to the registry follows.
    app, target = ("all", "all") if to is None else (APP, to)
    await _piccolo(quiet, lambda: run_forwards(app_name=app, migration_id=target))


async def migrate_back(steps: int = 1, quiet: bool = False) -> list[Step]:
    """Undo the `steps` migrations applied last, newest first; returns what was undone.

    Refuses, undoing nothing, when fewer are applied or one of them is not in this
    release (roll back with the release that brought it, before installing the older
    one)."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    done = await applied()
    if steps > len(done):
        raise MigrationError(f"cannot undo {steps}: {len(done)} migrations applied")
    undo = list(reversed(done[-steps:]))
    shipped = {step.id: step for step in known()}
    foreign = [mid for mid in undo if mid not in shipped]
    if foreign:
        raise MigrationError(
            f"not in this release: {', '.join(foreign)}; undo with the release that added it"
        )
    try:
        # Piccolo undoes from the given id to the newest applied, without asking.
        await _piccolo(
            quiet, lambda: run_backwards(app_name=APP, migration_id=undo[-1], auto_agree=True)
        )
    except Exception as exc:
        # Each migration is undone in its own transaction: say which ones went.
        left = set(await applied())
        gone = [mid for mid in undo if mid not in left]
        raise MigrationError(f"undid {gone or 'nothing'}, then failed: {exc}") from exc
    return [shipped[mid] for mid in undo]
