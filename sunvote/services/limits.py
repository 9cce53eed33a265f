"""Counters of refused attempts, kept by Flask-Limiter's storage (``extensions.limiter``).

The rules (how many, per what, for how long) are in the domain (``domain.cloud``,
``domain.login``); this module only counts. Keys are the installation's prefix, a kind, and a
keyed hash of the thing counted (never a raw address or token). If the storage (Redis) cannot be
reached, counting goes on in this process's memory and a warning is logged: limits get looser
for a while, but no request fails and no one is locked out (docs/operations.md, "Limits").
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from sunvote.extensions import limiter

#: After the storage fails, how long to count in memory before asking it again (each failed
#: connection costs the request its timeout and retries).
RETRY_STORAGE_SECONDS = 30

_fallback: RateLimiter | None = None
_storage_failed_at: float | None = None


def _strategy() -> RateLimiter:
    """The configured storage's, unless it failed within the last RETRY_STORAGE_SECONDS."""
    if _storage_failed_at is not None and time.monotonic() - _storage_failed_at \
            < RETRY_STORAGE_SECONDS:
        return _fallback_strategy()
    return limiter.limiter


def _fallback_strategy() -> RateLimiter:
    global _fallback
    if _fallback is None:
        _fallback = MovingWindowRateLimiter(MemoryStorage())
    return _fallback


def _failed(error: StorageError) -> RateLimiter:
    global _storage_failed_at
    _storage_failed_at = time.monotonic()
    current_app.logger.warning("rate-limit storage unavailable (%s): counting in memory for "
                               "%s s", error, RETRY_STORAGE_SECONDS)
    return _fallback_strategy()


def _item(amount: int, minutes: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(amount, minutes)


def key(kind: str, value: str) -> tuple[str, str, str]:
    """The identifiers of one counter: the prefix, ``kind``, and a keyed hash of ``value``."""
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    digest = hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
    return str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "sunvote"), kind, digest


def exhausted(amount: int, minutes: int, counter: tuple[str, str, str]) -> bool:
    """Whether ``counter`` already holds ``amount`` hits within the last ``minutes``."""
    item = _item(amount, minutes)
    try:
        return not _strategy().test(item, *counter)
    except StorageError as error:
        return not _failed(error).test(item, *counter)


def count(amount: int, minutes: int, counter: tuple[str, str, str]) -> None:
    """One more hit on ``counter`` (a refused attempt)."""
    item = _item(amount, minutes)
    try:
        _strategy().hit(item, *counter)
    except StorageError as error:
        _failed(error).hit(item, *counter)


def reset() -> None:
    """Forget every count (tests; an operator after an incident): the configured storage's keys
    (with Redis, only those under its storage key prefix) and this process's fallback."""
    global _fallback, _storage_failed_at
    _fallback, _storage_failed_at = None, None
    try:
        limiter.reset()
    except StorageError as error:  # pragma: no cover - reported, nothing else to do
        current_app.logger.warning("rate-limit storage unavailable (%s)", error)
