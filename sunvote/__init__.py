"""SunVote (阳光票决): the Flask application factory lives in sunvote.app; this module re-exports it."""

from __future__ import annotations

from sunvote.app import create_app

__all__ = ["create_app"]
