"""The one way a rule refuses: raise a DomainError (or a subclass) with the HTTP status
it means, a message for people, and the fields at fault.

    missing   fields that must be filled in           -> error.details.missing
    invalid   field -> what is wrong with its value   -> error.details.invalid
    details   anything else a client can act on (the current value on a conflict...)

The web layer answers every DomainError the same way, as JSON for the API and as a page
(or the form again, with the problems beside their fields) for people. Rule modules
never import the web layer.
"""

from __future__ import annotations

from typing import Any

from server.core.i18n import gettext as _


class DomainError(Exception):
    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        missing: list[str] | tuple[str, ...] | None = None,
        invalid: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.missing = list(missing or [])
        self.invalid = dict(invalid or {})
        self.extra = details

    @property
    def details(self) -> dict[str, Any]:
        """What an API client gets beside the message (empty parts left out)."""
        out: dict[str, Any] = {}
        if self.missing:
            out["missing"] = self.missing
        invalid = {k: v for k, v in self.invalid.items() if k not in self.missing}
        if invalid:
            out["invalid"] = invalid
        return {**out, **self.extra}

    @property
    def problems(self) -> dict[str, str]:
        """Field -> message, for showing beside each field of a form (a missing field's own
        message, when the rule gave one, wins over "Required.")."""
        return {**{name: _("Required.") for name in self.missing}, **self.invalid}


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """The record changed meanwhile, or its state does not allow the change."""

    status = 409


class Invalid(DomainError):
    status = 422


class TooLarge(DomainError):
    status = 413


class Unsupported(DomainError):
    status = 415


def invalid_fields(problems: dict[str, str], message: str | None = None) -> Invalid:
    """A 422 for per-field problems (field -> message)."""
    return Invalid(message or _("Some values are not valid"), invalid=problems)
