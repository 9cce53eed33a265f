"""What this release publishes of the browser verifier (docs/browser-verifier.md): the SHA-256
of the page tools/build_verifier.py builds from this source tree, kept in
``sunvote/verifier.sha256`` (printed on every village's poster, in the export's README and on
the township's verifier page; a test checks it against a fresh build), and the wheel's name."""

from __future__ import annotations

import functools
from importlib import metadata
from pathlib import Path

HASH_FILE = Path(__file__).resolve().parent / "verifier.sha256"


@functools.cache
def published_sha256() -> str:
    """The SHA-256 (hex) of this release's verifier page."""
    return HASH_FILE.read_text(encoding="ascii").strip()


def wheel_name() -> str:
    """The file name of this release's wheel (``pip wheel`` names it so)."""
    try:
        version = metadata.version("sunvote")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        version = "0.1.0"
    return f"sunvote-{version}-py3-none-any.whl"
