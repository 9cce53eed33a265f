"""Matter use cases against a real database: steps 1–4, refusals that write nothing, races."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import (
    Conflict,
    DomainError,
    InvalidField,
    MatterClosed,
    MissingField,
    NotPermitted,
    RoleNotAllowed,
    StepOutOfOrder,
)
from sunvote.domain.procedure import Action, MatterState
from sunvote.extensions import db
from sunvote.models import (
    Attachment,
    Blob,
    Matter,
    Person,
    StepRecord,
    Suggestion,
    TownshipSetting,
    Village,
)
from sunvote.services import matters, suggestions
from sunvote.services.files import Upload
from sunvote.services.settings import change_setting

PDF = b"%PDF-1.4\n% test\n"


def person(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def village(code: str) -> Village:
    return db.session.execute(select(Village).where(Village.code == code)).scalar_one()


def counts() -> dict[str, int]:
    """Row counts of every table a matter use case may touch."""
    return {m.__name__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Matter, StepRecord, Attachment, Blob, Suggestion, TownshipSetting)}


def snapshot(matter_id: int) -> tuple[str, int, int]:
    db.session.expire_all()
    m = db.session.get(Matter, matter_id)
    assert m is not None
    return m.state, m.version, len(m.steps)


CLERK, SECRETARY, REVIEWER, SUPERVISOR = "张敏", "王建国", "孙伟", "刘芳"
PROPOSAL = {"category": 2, "title": "村口路灯", "summary": "安装路灯20盏", "amount_fen": 6_000_000}
MEETING = {"meeting_date": "2026-11-10", "expected": 9, "present": 8, "minutes": "同意提交"}


def open_one(app: Flask) -> int:
    suggestion = suggestions.record_suggestion(village("sunshine").id, person(CLERK), "paper",
                                               "建议装路灯", "李阿姨", False)
    matter = matters.open_matter(village("sunshine").id, person(CLERK),
                                 {"title": "村口路灯", "text": "村民建议装路灯"},
                                 suggestion_ids=[suggestion.id])
    return matter.id


def test_a_matter_walks_from_suggestion_to_filed_review_with_its_full_history(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        matters.act(matter_id, Action.PROPOSE, person(SECRETARY), PROPOSAL,
                    uploads=[Upload("方案.pdf", PDF)])
        matters.act(matter_id, Action.DISCUSS, person(CLERK), {**MEETING, "plan": "路灯20盏"})
        matters.act(matter_id, Action.FILE, person(REVIEWER), {"filing_no": "备〔2026〕3号"})
        db.session.expire_all()
        m = db.session.get(Matter, matter_id)
        assert m is not None
        assert m.state == MatterState.FILED
        assert m.filing_no == "备〔2026〕3号" and m.summary == "路灯20盏"
        assert [(r.seq, r.step, r.action) for r in m.steps] == [
            (1, "suggest", "suggest"), (2, "propose", "propose"), (3, "discuss", "discuss"),
            (4, "review", "file")]
        assert [r.actor_role for r in m.steps] == ["clerk", "party_secretary", "clerk",
                                                   "township_reviewer"]
        attachment = m.steps[1].attachments[0]
        assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
        assert m.suggestions[0].text == "建议装路灯"
        assert m.steps[2].data["meeting_date"] == "2026-11-10"


def test_a_returned_plan_is_discussed_again_and_reviewed_again(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        matters.act(matter_id, Action.PROPOSE, person(SECRETARY), PROPOSAL)
        matters.act(matter_id, Action.DISCUSS, person(CLERK), {**MEETING, "plan": "v1"})
        matters.act(matter_id, Action.RETURN, person(REVIEWER), {"reason": "预算不清"})
        assert snapshot(matter_id)[0] == MatterState.RETURNED
        matters.act(matter_id, Action.DISCUSS, person(CLERK), {**MEETING, "plan": "v2"})
        matters.act(matter_id, Action.FILE, person(REVIEWER), {"filing_no": "备1"})
        assert snapshot(matter_id)[0] == MatterState.FILED


@pytest.mark.parametrize(("who", "action", "fields", "error", "rule"), [
    (SUPERVISOR, Action.PROPOSE, PROPOSAL, RoleNotAllowed, "procedure.role"),
    (CLERK, Action.DISCUSS, {**MEETING, "plan": "x"}, StepOutOfOrder, "procedure.step_order"),
    (CLERK, Action.PROPOSE, PROPOSAL, RoleNotAllowed, "procedure.role"),
    (REVIEWER, Action.FILE, {"filing_no": "x"}, StepOutOfOrder, "procedure.step_order"),
    (SECRETARY, Action.PROPOSE, {**PROPOSAL, "category": 10}, MissingField,
     "procedure.category_10_reason"),
    (SECRETARY, Action.PROPOSE, {**PROPOSAL, "title": ""}, MissingField,
     "procedure.required_fields"),
    ("钱进", Action.PROPOSE, PROPOSAL, NotPermitted, "access.village"),  # another village's clerk
    ("李秀英", Action.PROPOSE, PROPOSAL, RoleNotAllowed, "procedure.role"),  # a representative
])
def test_refused_actions_change_nothing(demo: Flask, who: str, action: Action,
                                        fields: dict[str, object], error: type[DomainError],
                                        rule: str) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        before, rows = snapshot(matter_id), counts()
        with pytest.raises(DomainError) as info:
            matters.act(matter_id, action, person(who), fields, uploads=[Upload("a.pdf", PDF)])
        assert isinstance(info.value, error)
        assert info.value.rule == rule
        assert snapshot(matter_id) == before
        assert counts() == rows


def test_a_bad_file_refuses_the_whole_step(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        before, rows = snapshot(matter_id), counts()
        for upload in (Upload("evil.exe", b"MZ..."), Upload("fake.pdf", b"<html>"),
                       Upload("empty.pdf", b""), Upload("bad.txt", b"\xff\xfe\x00")):
            with pytest.raises(InvalidField):
                matters.act(matter_id, Action.PROPOSE, person(SECRETARY), PROPOSAL,
                            uploads=[Upload("ok.pdf", PDF), upload])
            assert snapshot(matter_id) == before
            assert counts() == rows


def test_closed_matters_accept_nothing(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        matters.act(matter_id, Action.WITHDRAW, person(SECRETARY), {"reason": "情况变化"})
        before = snapshot(matter_id)
        with pytest.raises(MatterClosed):
            matters.act(matter_id, Action.PROPOSE, person(SECRETARY), PROPOSAL)
        assert snapshot(matter_id) == before


def test_a_stale_form_is_refused(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        version = snapshot(matter_id)[1]
        matters.act(matter_id, Action.PROPOSE, person(SECRETARY), PROPOSAL,
                    expected_version=version)
        before = snapshot(matter_id)
        with pytest.raises(Conflict) as info:
            matters.act(matter_id, Action.DISCUSS, person(CLERK), {**MEETING, "plan": "x"},
                        expected_version=version)
        assert info.value.rule == "procedure.concurrent_change"
        assert snapshot(matter_id) == before


def test_a_supervisor_breach_sends_the_matter_back_with_the_reason(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        matters.act(matter_id, Action.PROPOSE, person(SECRETARY), PROPOSAL)
        matters.act(matter_id, Action.DISCUSS, person(CLERK), {**MEETING, "plan": "x"})
        matters.act(matter_id, Action.FLAG_BREACH, person(SUPERVISOR),
                    {"breach_step": "discuss", "reason": "会议人数不足"})
        state, _, steps = snapshot(matter_id)
        assert state == MatterState.PROPOSED and steps == 4


def test_merged_steps_need_the_township_to_allow_them(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        with pytest.raises(DomainError) as info:
            matters.act(matter_id, Action.PROPOSE_AND_DISCUSS, person(SECRETARY),
                        {**PROPOSAL, **MEETING})
        assert info.value.rule == "procedure.merge_propose_discuss"
        town = village("sunshine").township_id
        change_setting(town, "merge_propose_discuss", True, person("吴静"))
        matters.act(matter_id, Action.PROPOSE_AND_DISCUSS, person(SECRETARY),
                    {**PROPOSAL, **MEETING})
        assert snapshot(matter_id)[0] == MatterState.DISCUSSED


def test_suggestions_merge_into_one_matter_once(demo: Flask) -> None:
    with demo.app_context():
        v = village("sunshine")
        a = suggestions.record_suggestion(v.id, person(CLERK), "paper", "甲", None, False)
        b = suggestions.record_suggestion(v.id, person(CLERK), "box", "乙", None, True)
        m = matters.open_matter(v.id, person(CLERK), {"title": "合并", "text": "甲乙"},
                                suggestion_ids=[a.id, b.id])
        assert {s.id for s in m.suggestions} == {a.id, b.id}
        rows = counts()
        with pytest.raises(Conflict):
            matters.open_matter(v.id, person(CLERK), {"title": "再来", "text": "甲"},
                                suggestion_ids=[a.id])
        other = village("breeze")
        c = suggestions.record_suggestion(other.id, person("钱进"), "paper", "丙", None, False)
        with pytest.raises(InvalidField):
            matters.open_matter(v.id, person(CLERK), {"title": "偷", "text": "丙"},
                                suggestion_ids=[c.id])
        assert counts()["Matter"] == rows["Matter"]


def test_matters_are_numbered_per_village_and_year(demo: Flask) -> None:
    with demo.app_context():
        v = village("sunshine")
        now = dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in China, new year
        m = matters.open_matter(v.id, person(CLERK), {"title": "新年", "text": "x"}, now=now)
        assert m.number == "2027-001"


def test_a_rejected_matter_can_be_reproposed_as_a_linked_new_matter(demo: Flask) -> None:
    with demo.app_context():
        matter_id = open_one(demo)
        m = db.session.get(Matter, matter_id)
        assert m is not None
        m.state = MatterState.REJECTED.value  # the assembly's tally (next issue) would do this
        db.session.commit()
        new = matters.repropose(matter_id, person(SECRETARY), PROPOSAL)
        assert new.state == MatterState.PROPOSED and new.origin_matter_id == matter_id
        assert new.steps[0].action == "repropose" and new.steps[0].step == "propose"
        with pytest.raises(DomainError):
            matters.repropose(new.id, person(SECRETARY), PROPOSAL)
