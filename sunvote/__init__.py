"""SunVote (阳光票决): open, tamper-evident village decision-making; re-exports create_app."""

from __future__ import annotations

from sunvote.app import create_app

__all__ = ["create_app"]
