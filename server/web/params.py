"""Types of query parameters: a number in the address is one the database can hold
(a larger one is a 400, not a database error)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from server.core.inputs import INT_MAX

QueryInt = Annotated[int, Parameter(ge=-INT_MAX - 1, le=INT_MAX)]
OptionalQueryInt = Annotated[int | None, Parameter(ge=-INT_MAX - 1, le=INT_MAX)]
