"""The domain core stays pure: it imports only the standard library, cryptography and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "sunvote" / "domain"
ALLOWED_THIRD_PARTY = {"cryptography"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_modules_import_nothing_from_the_web_or_the_database() -> None:
    offenders = []
    for path in DOMAIN.rglob("*.py"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if module.startswith("sunvote.domain") or top == "__future__":
                continue
            if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
                continue
            offenders.append(f"{path.relative_to(DOMAIN)} imports {module}")
    assert offenders == []
    assert len(list(DOMAIN.rglob("*.py"))) >= 10  # the scan really saw the package
