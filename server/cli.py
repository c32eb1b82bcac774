"""The `auditrail` command line.

Each command imports what it needs when it runs: `auditrail checklists validate` should
not pay for loading the web app, WeasyPrint and every domain."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from server.core.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar

T = TypeVar("T")


def _run(make: Callable[[], Awaitable[T]], settings: Settings | None = None) -> T:
    """Configure the database for the current settings and run one coroutine."""
    from server import runtime
    from server.core import i18n
    from server.db import engine as db

    settings = settings or Settings.from_env()
    runtime.configure(settings)
    i18n.current_language.set(i18n.normalise(settings.cli_language) or i18n.DEFAULT_LANGUAGE)

    async def main() -> T:
        await db.start(settings)
        try:
            return await make()
        finally:
            await db.stop()

    return asyncio.run(main())


@click.group()
def main() -> None:
    """Auditrail: audit and inspection checklists."""


@main.command()
@click.option(
    "--back",
    "steps",
    type=click.IntRange(min=1),
    is_flag=False,
    flag_value=1,
    default=None,
    metavar="N",
    help="Undo the last N applied migrations (default 1), to roll an upgrade back.",
)
def migrate(steps: int | None) -> None:
    """Apply database migrations, or undo the last ones with --back."""
    from server.db.migrate import MigrationError, applied, migrate_back
    from server.db.migrate import migrate as run

    if steps is None:
        try:
            _run(run)
        except MigrationError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo("database is up to date")
        return

    async def back() -> tuple[list[str], list[str]]:
        undone = await migrate_back(steps, quiet=True)
        return [f"undid {step.id}: {step.description}" for step in undone], await applied()

    try:
        lines, left = _run(back)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)
    click.echo(f"database is at {left[-1]}" if left else "no migrations applied")


async def prepare(settings: Settings, echo: Callable[[str], None]) -> bool:
    """Start-up work for `serve`: migrate, sync checklists, demo data when empty."""
    from server import demo
    from server.accounts import setup
    from server.checklists.sync import sync_checklists
    from server.db.migrate import migrate as run_migrations

    await run_migrations(quiet=True)
    report = await sync_checklists(settings.checklists_dir)
    for line in report.errors:
        echo(f"checklist problem: {line}")
    echo(f"checklists: {len(report.added)} added, {len(report.unchanged)} unchanged")
    if settings.demo and await demo.database_is_empty():
        added = await demo.load_demo(settings.data_dir)
        echo(f"demo data loaded: {added}")
    if await setup.needs_first_admin():
        token = setup.setup_token(settings.data_dir)
        echo("No administrator yet: run `auditrail init`, or open "
             f"{settings.base_url}/setup?token={token}")
    return report.ok


def _settle(app: Litestar) -> None:
    """Compile every template, then move what start-up built out of the collector's way.

    Compiling on first use made the first request to each page wait. And a full
    collection walked the few hundred thousand objects of the libraries, templates and
    checklists, stalling every request in flight for 50 to 80 ms each time it ran under
    load; frozen objects are never walked again (gc.freeze)."""
    env = app.template_engine.engine  # type: ignore[union-attr]
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    gc.collect()
    gc.freeze()


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)  # values of processes that are gone
    path.mkdir(parents=True)
    return path


def worker_app() -> Litestar:
    """The app of one server process when `serve` runs several (uvicorn's factory)."""
    from server.app import create_app

    app = create_app(Settings.from_env())
    _settle(app)
    return app


@main.command()
@click.option("--host", default=None, help="Overrides AUDITRAIL_HOST.")
@click.option("--port", default=None, type=int, help="Overrides AUDITRAIL_PORT.")
@click.option("--workers", default=1, type=click.IntRange(1, 64), show_default=True,
              envvar="AUDITRAIL_WORKERS",
              help="Server processes sharing the port (PostgreSQL recommended for more "
                   "than one; docs/deploy.md).")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Migrate, sync checklists, load demo data into an empty database, then serve."""
    import uvicorn

    from server.app import create_app
    from server.core import logs
    from server.core.metrics import MULTIPROC_ENV

    logs.configure()
    settings = Settings.from_env().with_secret()  # the key file exists before workers start
    _run(lambda: prepare(settings, click.echo), settings)
    # Our JSON logs (server.core.logs) carry uvicorn's messages; the access log is
    # written by the app itself, with the request's id, route and user.
    where = dict(host=host or settings.host, port=port or settings.port,
                 proxy_headers=True, log_level="info", log_config=None, access_log=False)
    click.echo(f"Auditrail on http://{where['host']}:{where['port']}"
               + (f" ({workers} workers)" if workers > 1 else ""))
    if workers > 1:
        # Each worker is a process of its own, so it builds its own app from the same
        # environment; what requests share lives in the database (docs/deploy.md), and
        # the metrics in files that any worker sums for a scrape.
        os.environ[MULTIPROC_ENV] = str(_fresh_dir(settings.data_dir / "metrics"))
        uvicorn.run("server.cli:worker_app", factory=True, workers=workers, **where)
        return
    app = create_app(settings)
    _settle(app)
    uvicorn.run(app, **where)


@main.command()
@click.option("--login", prompt=True, help="The administrator's login.")
@click.option("--name", prompt=True, help="The administrator's name.")
@click.password_option(help="Prompted for when not given.")
def init(login: str, name: str, password: str) -> None:
    """Create the first administrator of a new installation."""
    from server.accounts import setup
    from server.core.errors import DomainError

    settings = Settings.from_env()

    async def create() -> Any:
        from server.db.migrate import migrate as run_migrations

        await run_migrations(quiet=True)
        return await setup.create_first_admin(login, name, password, settings.data_dir)

    try:
        user = _run(create, settings)
    except DomainError as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in exc.problems.items())
        raise click.ClickException(f"{exc.message} {problems}".strip()) from None
    click.echo(f"created administrator {user.login} (id {user.id}); log in at "
               f"{settings.base_url}/login")


@main.command()
def demo() -> None:
    """Load the demo data set (idempotent)."""
    from server.demo import load_demo

    settings = Settings.from_env()

    async def load() -> dict[str, int]:
        # a new database gets its tables and checklists first, as `serve` would
        from server.checklists.sync import sync_checklists
        from server.db.migrate import migrate as run_migrations

        await run_migrations(quiet=True)
        await sync_checklists(settings.checklists_dir)
        return await load_demo(settings.data_dir)

    added = _run(load, settings)
    click.echo(f"demo data: {added}")


@main.group()
def checklists() -> None:
    """Validate, load and compare checklist files."""


@checklists.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def checklists_validate(paths: tuple[Path, ...]) -> None:
    """Check checklist files; exit status 1 when any has problems."""
    from server.checklists.loader import load_tree

    settings = Settings.from_env()
    targets = list(paths) or [settings.checklists_dir]
    results = load_tree(targets, Path.cwd())
    problems = [p for r in results for p in r.problems]
    with click.progressbar(results, label="validating", file=sys.stderr) as bar:
        for _ in bar:
            pass
    for problem in problems:
        click.echo(str(problem), err=True)
    valid = sum(1 for r in results if r.ok)
    click.echo(f"{valid} of {len(results)} files valid, {len(problems)} problems")
    sys.exit(1 if problems or not results else 0)


@checklists.command("sync")
def checklists_sync() -> None:
    """Load new checklist versions into the database."""
    from server.checklists.sync import sync_checklists

    settings = Settings.from_env()
    report = _run(
        lambda: sync_checklists(settings.checklists_dir, progress=lambda f: click.echo(f"  {f}"))
    )
    for line in report.errors:
        click.echo(line, err=True)
    click.echo(
        f"{len(report.added)} added, {len(report.unchanged)} unchanged, "
        f"{len(report.errors)} problems"
    )
    sys.exit(0 if report.ok else 1)


@checklists.command("diff")
@click.argument("key")
@click.argument("v1", type=int)
@click.argument("v2", type=int)
def checklists_diff(key: str, v1: int, v2: int) -> None:
    """Show what changed between two stored versions of a checklist."""
    from server.checklists import store
    from server.checklists.diff import diff_checklists

    async def load() -> tuple[Any, Any]:
        return await store.get(key, v1), await store.get(key, v2)

    old, new = _run(load)
    for version, found in ((v1, old), (v2, new)):
        if found is None:
            raise click.ClickException(f"{key} version {version} is not stored")
    for line in diff_checklists(old, new).lines():
        click.echo(line)


@checklists.command("schema")
@click.option("--output", type=click.Path(path_type=Path), default=None)
def checklists_schema(output: Path | None) -> None:
    """Print (or write) the JSON Schema of the checklist file format."""
    from server.checklists.model import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@checklists.command("doc")
@click.option("--output", type=click.Path(path_type=Path), default=None)
def checklists_doc(output: Path | None) -> None:
    """Write the library's table of contents (docs/checklists.md)."""
    from server.checklists.catalogue_doc import render
    from server.checklists.loader import load_tree

    settings = Settings.from_env()
    text = render(r.checklist for r in load_tree([settings.checklists_dir]) if r.checklist)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


def _find_checklist(key: str, version: int | None) -> Any:
    from server.checklists.loader import load_tree

    settings = Settings.from_env()
    found = [
        r.checklist
        for r in load_tree([settings.checklists_dir])
        if r.checklist
        and r.checklist.key == key
        and (version is None or r.checklist.version == version)
    ]
    if not found:
        raise click.ClickException(f"no valid checklist file with key {key!r}")
    return max(found, key=lambda c: c.version)


@checklists.command("export-xlsx")
@click.argument("key")
@click.option("--version", type=int, default=None, help="Default: the newest file.")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Default: KEY-vVERSION.xlsx in the current directory.",
)
def checklists_export_xlsx(key: str, version: int | None, output: Path | None) -> None:
    """Write a checklist file as an Excel workbook for editing."""
    from server.checklists.spreadsheet import export_xlsx

    checklist = _find_checklist(key, version)
    target = output or Path(f"{checklist.key}-v{checklist.version}.xlsx")
    target.write_bytes(export_xlsx(checklist))
    click.echo(f"wrote {target}")


@checklists.command("import-xlsx")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the YAML (default: print it).",
)
def checklists_import_xlsx(file: Path, output: Path | None) -> None:
    """Turn an edited workbook back into a checklist YAML file."""
    from server.checklists.spreadsheet import import_xlsx

    result = import_xlsx(file.read_bytes(), file.name)
    for problem in result.problems:
        click.echo(problem, err=True)
    if not result.ok or result.yaml_text is None:
        sys.exit(1)
    if output:
        output.write_text(result.yaml_text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(result.yaml_text, nl=False)


@main.group()
def users() -> None:
    """Manage user accounts and API tokens."""


@users.command("create")
@click.argument("login")
@click.option("--name", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["admin", "quality_manager", "auditor", "engineer", "owner"]),
)
@click.option("--language", default="", type=click.Choice(["", "zh_CN", "en"]))
@click.password_option(help="Prompted for when not given.")
def users_create(
    login: str, name: str, roles: tuple[str, ...], language: str, password: str
) -> None:
    """Create a user."""
    from server.accounts.users import UserInput, create_user
    from server.changelog.record import SYSTEM
    from server.core.errors import Invalid

    data = UserInput(login=login, name=name, roles=list(roles), language=language)
    try:
        user = _run(lambda: create_user(data, password, SYSTEM))
    except Invalid as exc:
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in exc.problems.items())) from None
    click.echo(f"created user {user.login} (id {user.id})")


@users.command("token")
@click.argument("login")
@click.option("--name", default="cli", help="A label for the token.")
def users_token(login: str, name: str) -> None:
    """Issue a new API token for LOGIN and print it (shown only once)."""
    from server.accounts.tables import User
    from server.accounts.tokens import issue_token
    from server.changelog.record import SYSTEM

    async def issue() -> str | None:
        user = await User.objects().get(User.login == login)
        return None if user is None else await issue_token(user.id, name, SYSTEM)

    token = _run(issue)
    if token is None:
        raise click.ClickException(f"no user {login!r}")
    click.echo(token)


@users.command("revoke-token")
@click.argument("token_id", type=int)
def users_revoke_token(token_id: int) -> None:
    """Revoke an API token by its id."""
    from server.accounts.tokens import revoke_token
    from server.changelog.record import SYSTEM

    if not _run(lambda: revoke_token(token_id, SYSTEM)):
        raise click.ClickException(f"no active token with id {token_id}")
    click.echo(f"token {token_id} revoked")


@main.group()
def log() -> None:
    """The change log."""


@log.command("verify")
def log_verify() -> None:
    """Prove the change log unaltered and complete, and the records, checklist versions
    and photo files what it says they are; exit 1 naming each problem."""
    from server.maintenance.integrity import verify_all

    settings = Settings.from_env()
    report = _run(lambda: verify_all(settings), settings)
    log = report.log
    for problem in report.problems:
        click.echo(problem, err=True)
    for note in log.notes:
        click.echo(f"note: {note}")
    keyed = f", keyed from row {log.keyed_from}" if log.keyed_from else ", not keyed"
    click.echo(f"{log.rows} rows checked; head {log.head}{keyed}")
    point = log.checkpoint
    if point is not None:
        click.echo(f"checkpoint: {point.rows} rows, head {point.head}, written {point.at}")
    click.echo("compared: " + ", ".join(f"{n} {what}" for what, n in report.counted.items()))
    if not report.ok:
        parts = {"change log": log.problems, "records": report.records,
                 "checklists": report.checklists, "photos": report.photos}
        detail = ", ".join(f"{name} {len(found)}" for name, found in parts.items() if found)
        click.echo(f"tampered with: {len(report.problems)} problems ({detail})", err=True)
        sys.exit(1)
    click.echo("the change log is intact, and the records, checklist versions and photo "
               "files match it")


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
def backup(dest: Path) -> None:
    """Write the database, photos and secret key to one archive (DEST: a file, or a folder
    for a dated one); safe while the app runs."""
    from server.maintenance.backup import BackupError
    from server.maintenance.backup import backup as make_backup

    settings = Settings.from_env()
    try:
        result = asyncio.run(make_backup(settings, dest))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    photos = sum(1 for m in result.members if m.name.startswith("photos/"))
    click.echo(f"wrote {result.path} ({result.size / 1e6:.1f} MB, {len(result.members)} "
               f"members, {photos} photo files) in {result.seconds:.1f} s")
    click.echo(f"change log: {result.rows} rows, head {result.head}")


@main.command()
@click.argument("archive", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--force", is_flag=True,
              help="Replace a database or data dir that is not empty.")
def restore(archive: Path, force: bool) -> None:
    """Restore a backup archive into the configured database and data dir (stop the app
    first); every member is checked against the manifest before anything is replaced."""
    from server.maintenance.restore import RestoreError
    from server.maintenance.restore import restore as run_restore

    settings = Settings.from_env()
    try:
        result = asyncio.run(run_restore(settings, archive, force))
    except RestoreError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    made = result.manifest
    click.echo(f"restored {archive} ({made['created_at']}, {made['engine']}, "
               f"{result.members} members, {result.photos} photo files) in "
               f"{result.seconds:.1f} s")
    log = made["change_log"]
    click.echo(f"change log: {log['rows']} rows, head {log['head']}; "
               "run `auditrail log verify` to prove it")


@main.group()
def reminders() -> None:
    """Reminders of overdue and soon-due nonconformances and actions."""


@reminders.command("send")
@click.option("--dry-run", is_flag=True, help="Count what would be sent; send nothing.")
@click.option(
    "--today",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend it is this day (YYYY-MM-DD); default: today where the organisation works.",
)
def reminders_send(dry_run: bool, on: datetime | None) -> None:
    """Mail everyone their pending reminders (run it daily from cron or a systemd timer;
    needs AUDITRAIL_SMTP_HOST)."""
    from server.findings.reminders import send_reminders

    settings = Settings.from_env()
    day: date | None = on.date() if on else None
    report = _run(
        lambda: send_reminders(settings.smtp, settings.base_url, day, dry_run), settings)
    if not report["mail"]:
        click.echo("mail is off (AUDITRAIL_SMTP_HOST is not set): nothing sent")
    click.echo(
        f"{report['pending']} reminders for {report['people']} people: "
        f"{report['sent']} mails sent, {report['failed']} failed"
    )
    for line in report["errors"]:
        click.echo(f"failed: {line}", err=True)
    if report["failed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
