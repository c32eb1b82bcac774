"""The `auditrail` command line."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from server.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar

T = TypeVar("T")


def _run(make: Callable[[], Awaitable[T]], settings: Settings | None = None) -> T:
    """Configure the database for the current settings and run one coroutine."""
    from server.db import engine as db

    settings = settings or Settings.from_env()
    db.configure(settings)

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
def migrate() -> None:
    """Apply database migrations."""
    from server.db.migrate import migrate as run

    _run(run)
    click.echo("database is up to date")


async def prepare(settings: Settings, echo: Callable[[str], None]) -> bool:
    """Start-up work for `serve`: migrate, sync checklists, demo data when empty."""
    from server import demo
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


@main.command()
@click.option("--host", default=None, help="Overrides AUDITRAIL_HOST.")
@click.option("--port", default=None, type=int, help="Overrides AUDITRAIL_PORT.")
def serve(host: str | None, port: int | None) -> None:
    """Migrate, sync checklists, load demo data into an empty database, then serve."""
    import uvicorn

    from server.app import create_app

    settings = Settings.from_env()
    _run(lambda: prepare(settings, click.echo), settings)
    app = create_app(settings)
    _settle(app)
    click.echo(f"Auditrail on http://{host or settings.host}:{port or settings.port}")
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=True,
        log_level="info",
    )


@main.command()
def demo() -> None:
    """Load the demo data set (idempotent)."""
    from server.demo import load_demo

    settings = Settings.from_env()
    added = _run(lambda: load_demo(settings.data_dir), settings)
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
    from server.accounts.users import UserError, UserInput, create_user
    from server.changelog.record import SYSTEM

    data = UserInput(login=login, name=name, roles=list(roles), language=language)
    try:
        user = _run(lambda: create_user(data, password, SYSTEM))
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
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
    """Prove that no change-log row was altered or removed."""
    from server.changelog.verify import verify_log

    report = _run(verify_log)
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(f"{report.rows} rows checked; head {report.head}")
    if not report.ok:
        click.echo("the change log has been tampered with", err=True)
        sys.exit(1)
    click.echo("the change log is intact")


def _register_domain_commands() -> None:
    # Imported late: the domain command modules import this module's _run.
    from server.findings.commands import reminders

    main.add_command(reminders)


_register_domain_commands()

if __name__ == "__main__":
    main()
