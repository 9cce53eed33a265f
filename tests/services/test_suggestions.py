"""Suggestions after intake: numbered per village, followed with a private code (only its hash
stored), answered once — taken into a matter or declined with a reason, recorded in the ledger
and accepted by the offline verifier; every refusal writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain import suggestions as rules
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.note import parse_note_unverified
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Suggestion
from sunvote.services import exports, ledger, matters, suggestions

from .test_assembly import pid, village


def size() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def last_record() -> tuple[str, dict[str, object]]:
    record = db.session.execute(select(LedgerRecord).order_by(LedgerRecord.id.desc())
                                ).scalars().first()
    assert record is not None
    return record.type, json.loads(parse_note_unverified(record.data).text)["body"]


def test_suggestions_are_numbered_per_village_and_followed_with_a_code_kept_as_a_hash(
        demo: Flask) -> None:
    with demo.app_context():
        v = village()
        numbers = [s.number for s in db.session.execute(select(Suggestion).where(
            Suggestion.village_id == v.id).order_by(Suggestion.id)).scalars()]
        assert numbers == list(range(1, len(numbers) + 1))
        submitted = suggestions.submit_public_suggestion(v.id, "建议装路灯", "老张", "13900001111",
                                                         False, False, "10.0.0.1")
        s = submitted.suggestion
        assert s.number == len(numbers) + 1
        assert s.follow_hash == rules.code_hash(submitted.code)
        assert rules.code_matches(rules.format_code(submitted.code), s.follow_hash)
        paper = suggestions.record_suggestion(v.id, pid("张敏"), "paper", "建议修水渠", None,
                                              False)
        assert paper.number == s.number + 1 and paper.follow_hash is None
        stored = json.dumps([str(getattr(s, c.key)) for c in Suggestion.__table__.columns])
        assert submitted.code not in stored
        assert suggestions.status(s) is rules.SuggestionStatus.RECEIVED


def test_the_clerk_declines_with_a_reason_recorded_in_the_ledger_and_the_export_verifies(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        v = village()
        s = suggestions.submit_public_suggestion(v.id, "建议村口建停车场", None, None, False,
                                                 False, "10.0.0.1").suggestion
        declined = suggestions.decline_suggestion(v.id, pid("张敏"), str(s.number),
                                                  "村口是基本农田，不能建停车场")
        assert suggestions.status(declined) is rules.SuggestionStatus.DECLINED
        assert declined.decline_reason == "村口是基本农田，不能建停车场"
        kind, body = last_record()
        assert kind == "suggestion.decline"
        assert body == {"id": s.id, "reason": "村口是基本农田，不能建停车场",
                        "person": pid("张敏"), "name": "张敏", "role": "clerk", "at": body["at"]}
        exports.export_directory(v, tmp_path / "export")
        key = ledger.active_key(v.id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


@pytest.mark.parametrize(("who", "number", "reason", "rule"), [
    ("张敏", "new", "", "procedure.required_fields"),
    ("张敏", "new", "x" * (rules.REASON_MAX + 1), "input.invalid"),
    ("张敏", "999", "重复", "suggestion.unknown"),
    ("张敏", "abc", "重复", "suggestion.unknown"),
    ("张敏", "taken", "重复", "suggestion.answered"),
    ("张敏", "declined", "重复", "suggestion.answered"),
    ("刘芳", "new", "重复", "suggestion.decline"),  # the supervisory committee's chair
])
def test_a_refused_decline_writes_nothing(demo: Flask, who: str, number: str, reason: str,
                                          rule: str) -> None:
    with demo.app_context():
        v = village()
        fresh = suggestions.submit_public_suggestion(v.id, "建议", None, None, False, False,
                                                     "10.0.0.9").suggestion
        gone = suggestions.submit_public_suggestion(v.id, "建议二", None, None, False, False,
                                                    "10.0.0.9").suggestion
        suggestions.decline_suggestion(v.id, pid("张敏"), gone.number, "已答复")
        taken = db.session.execute(select(Suggestion).where(
            Suggestion.village_id == v.id, Suggestion.matter_id.is_not(None))).scalars().first()
        assert taken is not None
        target = {"new": str(fresh.number), "taken": str(taken.number),
                  "declined": str(gone.number)}.get(number, number)
        before = size()
        with pytest.raises(DomainError) as caught:
            suggestions.decline_suggestion(v.id, pid(who), target, reason)
        assert caught.value.rule == rule
        db.session.rollback()
        assert size() == before
        assert suggestions.status(db.session.get(Suggestion, fresh.id)) \
            is rules.SuggestionStatus.RECEIVED


def test_a_declined_suggestion_cannot_be_taken_into_a_matter(demo: Flask) -> None:
    with demo.app_context():
        v = village()
        s = suggestions.submit_public_suggestion(v.id, "建议", None, None, False, False,
                                                 "10.0.0.1").suggestion
        suggestions.decline_suggestion(v.id, pid("王建国"), s.number, "不属于村级事务")
        before = size()
        with pytest.raises(DomainError) as caught:
            matters.open_matter(v.id, pid("张敏"), {"title": "修路", "text": "修路"}, [s.id])
        assert caught.value.rule == "suggestion.answered"
        db.session.rollback()
        assert size() == before
