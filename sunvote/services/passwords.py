"""Hashes of passwords and PINs: werkzeug's scrypt, with its default cost in production.

Checking reads the cost from the stored hash, so one place sets the cost of new hashes: METHOD.
The test suite sets a cheap one (tests/conftest.py) so that hundreds of logins do not each spend
a tenth of a second in scrypt; nothing else changes it, and it is not a setting."""

from __future__ import annotations

import functools

from werkzeug.security import check_password_hash, generate_password_hash

#: werkzeug's hash method for new hashes ("scrypt": N=2^15, r=8, p=1).
METHOD = "scrypt"


def hash_secret(secret: str) -> str:
    """The hash to store for a password or a PIN."""
    return generate_password_hash(secret, method=METHOD)


def secret_matches(stored: str, secret: str) -> bool:
    """Whether ``secret`` is the password or PIN ``stored`` was made from."""
    return check_password_hash(stored, secret)


@functools.cache
def _dummy(method: str) -> str:
    return generate_password_hash("not-a-real-password", method=method)


def spend_a_check(secret: str) -> None:
    """Check ``secret`` against a hash of nothing, at the cost of a real check: a refusal that
    looks at no password (unknown user, a login that must wait) takes the same time."""
    check_password_hash(_dummy(METHOD), secret)
