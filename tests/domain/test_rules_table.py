"""Every rule code the code raises or warns with is in the rules table (and so on /rules)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sunvote.domain.rules import RULES_BY_CODE

PACKAGE = Path(__file__).resolve().parents[2] / "sunvote"
CODE = re.compile(r"^[a-z]+\.[a-z_0-9]+$")
#: Calls whose first argument is a rule code.
CARRIERS = {"Conflict", "InvalidField", "InvalidInput", "NotPermitted", "NotFound",
            "MissingField", "SettingOutOfBounds", "RosterRefusal", "RosterWarning",
            "StepOutOfOrder", "MatterClosed", "RoleNotAllowed", "SettingDisabled",
            "LoginRefused", "DomainError", "RowProblem", "OversightWarning",
            "WarningRule", "Unavailable", "SessionEnded"}


def rule_codes_in_source() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else "")
            first = node.args[0]
            if (name in CARRIERS and isinstance(first, ast.Constant)
                    and isinstance(first.value, str) and CODE.match(first.value)):
                found[first.value] = f"{path.relative_to(PACKAGE)}:{node.lineno}"
    return found


def test_every_rule_code_in_the_code_is_in_the_rules_table() -> None:
    codes = rule_codes_in_source()
    assert len(codes) > 30  # the scan found the codes (it would pass vacuously otherwise)
    missing = {code: where for code, where in codes.items() if code not in RULES_BY_CODE}
    assert not missing, missing
