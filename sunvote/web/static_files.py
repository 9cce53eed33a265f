"""Static files a phone keeps: content-hashed names cached for a year, and compressed answers.

``url_for('static', filename='css/sunvote.css')`` gives ``/static/css/sunvote.<digest>.css``,
where the digest is the first 12 hex digits of the file's SHA-256. A request for the current
digest is answered with ``Cache-Control: public, max-age=31536000, immutable``: the phone never
asks again, and a changed file has a new name. A request without a digest, or with an old one
(a page cached before a deploy), gets the current file with ``no-cache`` (the browser revalidates
with its ETag), so nothing breaks.

Responses are compressed (Flask-Compress: brotli or gzip, as the browser accepts) when they
carry no secret an attacker could guess at with reflected input (BREACH): static files and every
public answer. A private answer — marked ``no-store`` by auth.sessions.no_store: any page of a
logged-in user, the register, logins, a phone's voting pages, the check-in and hall codes —
holds a session's CSRF token or a live code next to what someone typed, and stays
uncompressed. docs/operations.md says the same for the proxy.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from flask import Flask, Response, send_from_directory
from flask_compress import Compress

#: A year, the longest a cache is asked to keep anything (RFC 9111 recommends no more).
IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_LENGTH = 12
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)$")

compress = Compress()


class StaticDigests:
    """The digest of each static file, recomputed when the file's modification time changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._known: dict[str, tuple[int, str]] = {}

    def digest(self, filename: str) -> str | None:
        """The current digest of ``filename``, or None if there is no such file."""
        path = (self.folder / filename).resolve()
        if self.folder.resolve() not in path.parents:
            return None
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        known = self._known.get(filename)
        if known is not None and known[0] == mtime:
            return known[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LENGTH]
        self._known[filename] = (mtime, digest)
        return digest

    def hashed_name(self, filename: str) -> str:
        """``css/sunvote.css`` → ``css/sunvote.<digest>.css`` (unchanged if the file is missing)."""
        digest = self.digest(filename)
        if digest is None:
            return filename
        stem, dot, suffix = filename.rpartition(".")
        if not dot or "/" in suffix:
            return f"{filename}.{digest}"
        return f"{stem}.{digest}.{suffix}"

    def split(self, requested: str) -> tuple[str, str | None]:
        """A requested name → (the file's real name, the digest asked for, or None)."""
        match = _HASHED.match(requested)
        if match is not None:
            real = match["stem"] + match["suffix"]
            if self.digest(real) is not None:
                return real, match["digest"]
        return requested, None


def init_app(app: Flask) -> None:
    """Hashed static names, their caching, and compression. Called first in create_app, so the
    compression runs after every other after-request hook (Flask runs them in reverse)."""
    assert app.static_folder is not None
    digests = StaticDigests(Path(app.static_folder))
    app.extensions["static_digests"] = digests

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = digests.hashed_name(str(values["filename"]))

    def static(filename: str) -> Response:
        real, asked = digests.split(filename)
        response = send_from_directory(str(digests.folder), real, max_age=0)
        if response.status_code == 200:  # read the (small) file: a whole body may be gzipped,
            response.direct_passthrough = False  # a stream only brotli-compressed
            response.set_data(response.get_data())
        if asked is not None and asked == digests.digest(real):
            response.headers["Cache-Control"] = IMMUTABLE
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response

    app.view_functions["static"] = static

    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_REGISTER", False)
    compress.init_app(app)

    @app.after_request
    def compress_what_is_public(response: Response) -> Response:
        if "no-store" in (response.headers.get("Cache-Control") or ""):
            return response
        return compress.after_request(response)
