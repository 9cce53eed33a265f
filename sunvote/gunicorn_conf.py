"""gunicorn settings for production: ``gunicorn -c python:sunvote.gunicorn_conf wsgi:app``
(docs/operations.md). Command-line options (``-w``, ``-b``) still apply on top."""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Once the worker has loaded the app, move everything alive (modules, the app, its
    templates and the database engine, all kept for the worker's life) out of the garbage
    collector's reach (gc.freeze). Full collections then walk only what requests allocate: a
    district dashboard building hundreds of village summaries no longer pays for walking the
    whole worker (docs/performance.md measures both)."""
    gc.freeze()
