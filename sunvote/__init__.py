"""SunVote (阳光票决): open, tamper-evident village decision-making.

Importing the package loads nothing else: the offline ledger verifier (sunvote.verify) must run
with the standard library and `cryptography` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app (see sunvote.app.create_app)."""
    from sunvote.app import create_app as _create_app

    return _create_app(config)


__all__ = ["create_app"]
