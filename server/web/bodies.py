"""Reading request bodies before a schema types them (server/core/inputs.py)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import FormMultiDict

from server.core.errors import DomainError
from server.core.i18n import gettext as _


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The form of a POST; 400 for one that cannot be read (bytes that are not text in the
    declared charset, a charset nobody knows)."""
    try:
        return await request.form()
    except (UnicodeDecodeError, LookupError):
        raise DomainError(_("The form could not be read."), status=400) from None


async def json_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); 400 for anything else."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        raise DomainError(_("The body is not valid JSON."), status=400) from None
    if not isinstance(data, dict):
        raise DomainError(_("The body must be a JSON object."), status=400)
    return data
