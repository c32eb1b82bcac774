"""What the account pages take (forms; the API reads the same shapes)."""

from __future__ import annotations

from msgspec import Struct

from server.core.inputs import Verbatim


class LoginForm(Struct):
    login: str = ""
    password: Verbatim = Verbatim("")
    next: str = "/"


class LanguageChoice(Struct):
    lang: str = ""
    next: str = "/"


class PasswordChange(Struct):
    current: Verbatim = Verbatim("")
    new: Verbatim = Verbatim("")
    again: Verbatim = Verbatim("")


class UserForm(Struct):
    """A user as the admin edits it; unticked boxes are absent, so `active` is False
    unless sent."""

    login: str = ""
    name: str = ""
    email: str = ""
    password: Verbatim = Verbatim("")
    roles: list[str] = []
    language: str = ""
    org_unit: int | None = None
    projects: list[int] = []
    active: bool = False
    reason: str = ""
    # A role for one department or project, added from the form's extra row.
    grant_role: str = ""
    grant_unit: int | None = None
    grant_project: int | None = None


class NewPassword(Struct):
    password: Verbatim = Verbatim("")


class TokenRequest(Struct):
    name: str = ""


class SetupForm(Struct):
    token: str = ""
    login: str = ""
    name: str = ""
    password: Verbatim = Verbatim("")
    again: Verbatim = Verbatim("")


class UserJson(Struct, forbid_unknown_fields=True):
    """A user through the API; on PATCH only the fields sent change. `roles` as grants:
    "auditor", "department_head@unit:3", "project_manager@project:7"."""

    login: str | None = None
    name: str | None = None
    email: str | None = None
    password: Verbatim | None = None
    roles: list[str] | None = None
    language: str | None = None
    org_unit: int | None = None
    department: str | None = None  # a department's code, instead of org_unit
    projects: list[int] | None = None
    active: bool | None = None
    reason: str = ""
