"""Reading one cookie from a raw ASGI scope (before Litestar builds a Request)."""

from __future__ import annotations

from litestar.types import Scope


def read_cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie `name`, or None. A Cookie header is `name=value; name=value`
    (RFC 6265 §4.2.1); split by hand because http.cookies' parser cost a visible share
    of every request, and it runs up to three times per request. Pairs without `=` are
    skipped; a quoted value is unquoted; of two with one name the last
    counts, as with http.cookies."""
    found: str | None = None
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                cookie, sep, text = pair.partition("=")
                if sep and cookie.strip() == name:
                    text = text.strip()
                    if len(text) >= 2 and text[0] == text[-1] == '"':
                        text = text[1:-1]
                    found = text or None
    return found
