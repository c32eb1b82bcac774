"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.core.i18n import gettext as _

_hasher = PasswordHasher()
MIN_LENGTH = 8
# A hash to verify against when the login is unknown, so timing does not reveal it.
_DUMMY = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return _("The password must have at least %(n)s characters.", n=MIN_LENGTH)
    if len(password) > 200:
        return _("The password is too long.")
    return None
