"""People, their roles and memberships, login sessions and API tokens."""

from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.org.tables import OrgUnit, Project


class User(Table, tablename="app_user"):
    login = Varchar(length=80, unique=True)
    name = Varchar(length=200)
    email = Varchar(length=200, default="")
    password_hash = Varchar(length=300, secret=True)
    language = Varchar(length=10, default="zh_CN")
    active = Boolean(default=True)
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())


class UserRole(Table, tablename="user_role"):
    """One row per role a user holds: everywhere, or for one department or project (a
    user may hold several, and one role in several places)."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=30)
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.cascade)
    project = ForeignKey(Project, null=True, on_delete=OnDelete.cascade)


class ProjectMember(Table, tablename="project_member"):
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    project = ForeignKey(Project, on_delete=OnDelete.cascade, index=True)


class LoginSession(Table, tablename="login_session"):
    """Server-side session. Only the SHA-256 of the cookie value is stored."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    csrf_secret = Varchar(length=64, secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen = Timestamptz(default=TimestamptzNow())
    user_agent = Varchar(length=300, default="")
    data = JSON(default="{}")


class ApiToken(Table, tablename="api_token"):
    """Bearer tokens for the JSON API. Only the SHA-256 of the token is stored."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100, default="")
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class LoginAttempt(Table, tablename="login_attempt"):
    """Failed logins by (login, address) and by address, where every server process sees
    them (server/accounts/ratelimit.py)."""

    key = Varchar(length=300, unique=True)
    failures = Integer(default=0)
    last_failed_at = Timestamptz(default=TimestamptzNow())
    blocked_until = Timestamptz(null=True, default=None)
