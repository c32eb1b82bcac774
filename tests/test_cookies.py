"""Reading cookies from the raw Cookie header, as the middlewares do."""

from __future__ import annotations

import pytest

from server.web.cookies import read_cookie


def scope(header: bytes | None) -> dict:
    return {"headers": [(b"cookie", header)] if header is not None else []}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"atr_session=abc; lang=en", "abc"),
        (b"lang=en;atr_session=abc", "abc"),
        (b"lang=en; atr_session=\"q-1\"", "q-1"),
        (b"xatr_session=no; atr_session=yes", "yes"),
        (b"atr_session=first; lang=en; atr_session=last", "last"),
        (b"atr_session=", None),
        (b"atr_session", None),
        (b"garbage;;; =x", None),
        (b"lang=en", None),
        (None, None),
    ],
)
def test_read_cookie(header: bytes | None, expected: str | None) -> None:
    assert read_cookie(scope(header), "atr_session") == expected  # type: ignore[arg-type]


def test_value_may_hold_equals_signs() -> None:
    assert read_cookie(scope(b"t=a=b==; u=1"), "t") == "a=b=="  # type: ignore[arg-type]
