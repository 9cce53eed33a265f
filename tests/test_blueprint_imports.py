"""No blueprint imports another blueprint (issue 17: "no blueprint imports another blueprint's
private helpers"), and views leave their reads to their blueprint's queries.py. A blueprint
package is a package under sunvote/ with a module that makes a ``Blueprint(``; what two
blueprints share lives outside every blueprint package (sunvote/web/ for view helpers,
sunvote/services/ for use cases and reads)."""

from __future__ import annotations

from pathlib import Path

from tests.test_import_cycles import PACKAGE, imports_of, module_names


def blueprint_packages() -> set[str]:
    """``sunvote.<name>`` for every package directly under sunvote/ that defines a Blueprint."""
    return {f"sunvote.{path.parent.name}" for path in PACKAGE.glob("*/*.py")
            if "Blueprint(" in path.read_text(encoding="utf-8")}


def package_of(module: str, packages: set[str]) -> str | None:
    return next((p for p in packages if module == p or module.startswith(p + ".")), None)


def crossings() -> list[tuple[str, str]]:
    """(importer, imported) for each import from one blueprint package into another."""
    known = module_names()
    packages = blueprint_packages()
    found = []
    for name, path in sorted(known.items()):
        home = package_of(name, packages)
        if home is None:
            continue
        for imported in sorted(imports_of(name, Path(path), known)):
            other = package_of(imported, packages)
            if other is not None and other != home:
                found.append((name, imported))
    return found


def test_the_blueprint_packages_are_found() -> None:
    packages = blueprint_packages()
    assert {"sunvote.matters", "sunvote.api", "sunvote.assembly", "sunvote.public"} <= packages
    assert "sunvote.web" not in packages  # shared helpers only
    assert "sunvote.services" not in packages


def test_no_blueprint_imports_another_blueprint() -> None:
    assert crossings() == []


def test_views_leave_their_reads_to_queries() -> None:
    """A view parses, calls one service or query, and renders: no ``select(`` or
    ``db.session.execute`` in a views.py (reads live in the blueprint's queries.py)."""
    found = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.glob("*/views.py"))
             if "select(" in (text := path.read_text(encoding="utf-8"))
             or "db.session.execute" in text]
    assert found == []
