"""The rules of answering a suggestion (domain.suggestions) and the offline verifier's reading of
``suggestion.decline``: the same rule codes in both."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from sunvote.domain import suggestions as rules
from sunvote.domain.errors import Conflict, InvalidInput, NotPermitted
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.roles import Role
from sunvote.domain.suggestions import SuggestionStatus
from sunvote.domain.text import clean_text
from tests.domain.ledger.logbuilder import LogBuilder, standard_log


@pytest.mark.parametrize(("merged", "declined", "status"), [
    (False, False, SuggestionStatus.RECEIVED), (True, False, SuggestionStatus.TAKEN),
    (False, True, SuggestionStatus.DECLINED)])
def test_a_suggestion_is_received_taken_or_declined(merged: bool, declined: bool,
                                                    status: SuggestionStatus) -> None:
    assert rules.status_of(merged, declined) is status


@pytest.mark.parametrize("role", sorted(rules.DECLINERS))
def test_the_clerk_director_and_secretary_may_decline_a_received_suggestion(role: Role) -> None:
    assert rules.decline_refusal({role}, SuggestionStatus.RECEIVED) is None


@pytest.mark.parametrize("role", sorted(set(Role) - rules.DECLINERS))
def test_no_other_role_may_decline(role: Role) -> None:
    refusal = rules.decline_refusal({role}, SuggestionStatus.RECEIVED)
    assert isinstance(refusal, NotPermitted) and refusal.rule == "suggestion.decline"


@pytest.mark.parametrize("status", [SuggestionStatus.TAKEN, SuggestionStatus.DECLINED])
def test_an_answered_suggestion_is_answered_once(status: SuggestionStatus) -> None:
    refusal = rules.decline_refusal({Role.CLERK}, status)
    assert isinstance(refusal, Conflict) and refusal.rule == "suggestion.answered"
    assert rules.open_refusal(status) is not None
    assert rules.open_refusal(SuggestionStatus.RECEIVED) is None


@pytest.mark.parametrize(("reason", "rule"), [
    ("", "procedure.required_fields"), ("   ", "procedure.required_fields"),
    ("x" * (rules.REASON_MAX + 1), "input.invalid"), ("理由\x00", "input.invalid"),
    (None, "procedure.required_fields"), (7, "input.invalid")])
def test_a_reason_is_required_and_bounded(reason: Any, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.check_reason(reason)
    assert caught.value.rule == rule
    assert rules.check_reason(" 与已立项的2026-002重复 ") == "与已立项的2026-002重复"
    assert clean_text("x" * rules.REASON_MAX, "r", max_length=rules.REASON_MAX)


def test_a_follow_code_matches_its_hash_whatever_the_case_spaces_or_hyphens() -> None:
    code = rules.new_code(random.Random(7).choice)
    assert len(code) == rules.CODE_LENGTH and set(code) <= set(rules.CODE_ALPHABET)
    stored = rules.code_hash(code)
    assert code not in stored and len(stored) == 64
    assert rules.code_matches(code, stored)
    assert rules.code_matches(rules.format_code(code).upper(), stored)
    assert rules.code_matches(" " + rules.format_code(code) + " ", stored)
    assert not rules.code_matches(code[:-1], stored)
    assert not rules.code_matches(code, None)
    assert not rules.code_matches(None, stored)
    other = rules.new_code(random.Random(8).choice)
    assert not rules.code_matches(other, stored)


# --- The verifier ---------------------------------------------------------------------------


def decline(b: LogBuilder, sid: int, person: int = 1, role: str = "clerk",
            reason: str = "与已立项的事项重复") -> int:
    index = b.size
    b.append("suggestion.decline", {"id": sid, "reason": reason, "person": person,
                                    "name": b.names.get(person, "某人"), "role": role,
                                    "at": b.at()})
    return index


def failures(b: LogBuilder, tmp_path: Path) -> list[tuple[int | None, str, str]]:
    report = verify_export(b.export(tmp_path / "e"))
    return [(f.index, f.kind, f.reason) for f in report.failures]


def test_the_verifier_accepts_a_received_suggestion_declined_by_the_clerk(
        tmp_path: Path) -> None:
    b = standard_log()
    b.suggestion(9, channel="qr", recorded_by=None)
    decline(b, 9)
    assert failures(b, tmp_path) == []


@pytest.mark.parametrize(("setup", "expected"), [
    ("merged", "[suggestion.answered]"), ("declined", "[suggestion.answered]"),
    ("unknown", "never added"), ("role", "may not decline a suggestion"),
    ("empty", "reason")])
def test_the_verifier_refuses_what_the_service_refuses(tmp_path: Path, setup: str,
                                                       expected: str) -> None:
    b = standard_log()
    b.suggestion(9, channel="qr", recorded_by=None)
    if setup == "merged":
        index = decline(b, 1)  # merged into 2026-001 by the standard log
    elif setup == "declined":
        decline(b, 9)
        index = decline(b, 9)
    elif setup == "unknown":
        index = decline(b, 99)
    elif setup == "role":
        index = decline(b, 9, person=5, role="supervisor")
    else:
        index = decline(b, 9, reason=" ")
    found = failures(b, tmp_path)
    assert [(i, k) for i, k, _ in found] == [(index, "semantics")], found
    assert expected in found[0][2]


def test_the_verifier_refuses_merging_a_declined_suggestion(tmp_path: Path) -> None:
    b = standard_log()
    b.suggestion(9, channel="qr", recorded_by=None)
    decline(b, 9)
    index = b.size
    b.step("2026-009", "suggest", 1, suggestions=[9])
    found = failures(b, tmp_path)
    assert [(i, k) for i, k, _ in found] == [(index, "semantics")], found
    assert "[suggestion.answered]" in found[0][2]
