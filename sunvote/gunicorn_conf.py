"""gunicorn settings for production: ``gunicorn -c python:sunvote.gunicorn_conf wsgi:app``
(docs/operations.md). Command-line options (``-w``, ``-b``, ``--access-logfile``) still apply
on top."""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.glogging import Logger

from sunvote.web.links import redact


class RedactingLogger(Logger):
    """gunicorn's logger, with every token our URLs may carry (enrolment and invitation links,
    the hall's check-in QR, ballot receipt codes: sunvote/web/links.py) replaced by "…" in each
    value an access log line can show: the request line, path, query, Referer, any header or
    environ value a custom ``access_log_format`` names."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in atoms.items()}


logger_class = "sunvote.gunicorn_conf.RedactingLogger"


def post_worker_init(worker: Any) -> None:
    """Once the worker has loaded the app, move everything alive (modules, the app, its
    templates and the database engine, all kept for the worker's life) out of the garbage
    collector's reach (gc.freeze). Full collections then walk only what requests allocate: a
    district dashboard building hundreds of village summaries no longer pays for walking the
    whole worker (docs/performance.md measures both)."""
    gc.freeze()
