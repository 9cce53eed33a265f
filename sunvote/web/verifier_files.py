"""The browser verifier's files as a township server offers them (docs/browser-verifier.md):
the one-file HTML page tools/build_verifier.py builds, and the Python wheel, both kept in
SUNVOTE_VERIFIER_DIR; and where a village's township offers them. The SHA-256 this release's
page must have is :func:`sunvote.verifier_release.published_sha256`."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from sunvote.models import Village
from sunvote.verifier_release import published_sha256
from sunvote.web.links import absolute_url

__all__ = ["HTML_NAME", "VerifierFile", "page_file", "published_sha256",
           "township_verifier_url", "wheel", "wheels"]

HTML_NAME = "sunvote-verifier.html"
_WHEEL = re.compile(r"sunvote-[0-9A-Za-z.+_-]+-py3-none-any\.whl")


@dataclass(frozen=True)
class VerifierFile:
    """A file offered for download: its name, path, size and SHA-256."""

    name: str
    path: Path
    size: int
    sha256: str


def _folder() -> Path:
    return Path(current_app.config["VERIFIER_DIR"])


@functools.lru_cache(maxsize=8)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file(path: Path) -> VerifierFile | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return VerifierFile(path.name, path, stat.st_size,
                        _digest(str(path), stat.st_size, stat.st_mtime_ns))


def page_file() -> VerifierFile | None:
    """The installed verifier page, or None."""
    return _file(_folder() / HTML_NAME)


def wheels() -> list[VerifierFile]:
    """The installed Python wheels (newest name last)."""
    folder = _folder()
    if not folder.is_dir():
        return []
    found = (_file(p) for p in sorted(folder.iterdir()) if _WHEEL.fullmatch(p.name))
    return [f for f in found if f is not None]


def wheel(name: str) -> VerifierFile | None:
    """The installed wheel called ``name``, or None (only names of wheels, never a path)."""
    if not _WHEEL.fullmatch(name):
        return None
    return _file(_folder() / name)


def township_verifier_url(village: Village) -> str:
    """Where the village's township offers the verifier: on the township's own server when the
    village server sends its checkpoints there (SUNVOTE_WITNESS_URL), else on this one."""
    code = village.township.code
    template = current_app.config.get("WITNESS_URL")
    if template:
        parts = urlsplit(str(template))
        return f"{parts.scheme}://{parts.netloc}/t/{code}/verifier"
    return absolute_url("verifier.page", code=code)
