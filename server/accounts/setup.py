"""The first administrator of a new installation. Until one exists nobody can log in, so
one is created either on the command line (`auditrail init`) or on a one-time setup page
that asks for a token printed when the server starts (or comes from this machine)."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from server.accounts.roles import Role
from server.accounts.tables import User
from server.accounts.users import UserInput, create_user
from server.changelog.record import SYSTEM
from server.core.errors import Conflict, Forbidden
from server.core.i18n import gettext as _
from server.db.engine import write_transaction

TOKEN_FILE = "setup_token"


async def needs_first_admin() -> bool:
    return await User.count() == 0


def setup_token(data_dir: Path) -> str:
    """The token of the setup page, made once and kept in the data dir so every server
    process (and a restart) takes the same one."""
    path = data_dir / TOKEN_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def may_set_up(data_dir: Path, token: str, from_this_machine: bool) -> bool:
    """The page is for whoever holds the printed token, or sits at the server itself."""
    path = data_dir / TOKEN_FILE
    if from_this_machine:
        return True
    return path.exists() and bool(token) and hmac.compare_digest(
        token, path.read_text().strip())


async def create_first_admin(login: str, name: str, password: str, data_dir: Path) -> User:
    """The installation's first user, an administrator; refused once anyone exists."""
    async with write_transaction():
        if not await needs_first_admin():
            raise Conflict(_("This installation is set up already; log in instead."))
        user = await create_user(UserInput(login=login.strip().lower(), name=name,
                                           roles=[Role.admin.value]), password, SYSTEM)
    (data_dir / TOKEN_FILE).unlink(missing_ok=True)
    return user


def refuse_setup() -> Forbidden:
    return Forbidden(_("Open the setup page with the link the server printed when it "
                       "started, or run `auditrail init` on the server."))
