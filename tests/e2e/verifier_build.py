"""The browser verifier built once per test process (tools/build_verifier.py; its npm packages
and tzdata wheel are fetched once into the cache: SUNVOTE_VERIFIER_CACHE, or
~/.cache/sunvote-verifier)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "sunvote-verifier.html"


def build_module() -> ModuleType:
    """tools/build_verifier.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_verifier",
                                                  ROOT / "tools" / "build_verifier.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def built_verifier() -> Path:
    """Build the page into build/ (several processes: one at a time) and return its path."""
    tool = build_module()
    with tool.locked(ROOT / "build" / ".verifier.lock"):
        tool.build(OUT)
    return OUT
