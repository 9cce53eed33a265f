"""Step 6, supervision, in the ledger (issue 6): the verifier's rules for notice.publish,
objection.file, objection.reply, implementation.update, implementation.confirm and rating.add,
and for the steps that depend on them (start_implementation, complete, the flag_breach after an
upheld objection).

Logs are built with tests/domain/ledger/logbuilder.py, as in test_assembly_records.py: the cast
(clerk 1, party secretary and committee director 2, township reviewer 4, supervisor 5, township
admin 6), representatives 101…108, matters walked to "filed", a meeting whose poll passes them;
:func:`finish_poll` writes the notice.publish after the record_vote. :func:`noticed` adds
committee member 7 and supervisory committee chair 8 and moves the clock a day into the notice
period (5 days by default).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from sunvote.domain.ledger.records import BODY_SCHEMAS
from sunvote.domain.ledger.verifier import LogVerifier, verify_export
from tests.domain.ledger.logbuilder import (
    FIELDS,
    LogBuilder,
    people,
    representatives,
    seeded_cosigner,
    utc,
)
from tests.domain.ledger.test_assembly_records import (
    M1,
    M2,
    assembly,
    assert_fails,
    assert_ok,
    type_of,
    verify,
    vote,
)

STEP6_TYPES = ("notice.publish", "objection.file", "objection.reply", "implementation.update",
               "implementation.confirm", "rating.add")
DAY = dt.timedelta(days=1)


# ====================================================================== helpers


def noticed(*, setting: dict[str, str] | None = None,
            matters: tuple[str, ...] = (M1,)) -> LogBuilder:
    """``matters`` passed at meeting 1 (every member votes yes) and published; the meeting
    closed; committee member 7 and supervisory committee chair 8 appointed; the clock a day
    into the notice period."""
    b, members = assembly(8, matters=matters, setting=setting)
    for matter in matters:
        b.open_poll(matter)
        vote(b, members, 9)
        b.finish_poll()
    b.close_meeting()
    b.appoint(7, "吴刚", "committee_member")
    b.appoint(8, "郑洁", "supervisor_chair")
    b.wait(1)
    return b


def notice_start(b: LogBuilder, matter: str = M1) -> dt.datetime:
    end = b.notice_ends[matter]
    assert end is not None
    return end - dt.timedelta(days=int(b.township_settings.get("public_notice_days", "5")))


def implementing() -> LogBuilder:
    """M1 past its notice period (no objection) and being implemented."""
    b = noticed()
    b.wait(5)
    b.step(M1, "start_implementation", 1, {})
    return b


def completed() -> LogBuilder:
    """M1 implemented (one update at 100 %, confirmed) and signed off by the chair."""
    b = implementing()
    b.update(M1, 100)
    b.confirm(M1, 1)
    b.step(M1, "complete", 8, {"report": "验收合格"})
    return b


def revote(b: LogBuilder, matter: str, meeting: int) -> None:
    """Meeting ``meeting`` on ``matter`` (filed again): everyone present votes yes; published."""
    b.convene([matter])
    b.open_meeting(meeting)
    roster = [m["person"] for m in b.meetings[meeting].members]
    for member in roster:
        b.attend(member, meeting=meeting)
    b.open_poll(matter, meeting=meeting)
    for member in roster:
        b.cast(member, meeting=meeting)
    assert b.finish_poll(meeting=meeting).verdict == "passed"
    b.close_meeting(meeting)


# ====================================================================== complete logs


def step6_log() -> LogBuilder:
    """Two matters pass at meeting 1. M1: two objections, both dismissed (one by the chair)
    after the notice period; implementation with two updates by two people, each confirmed by
    someone else; signed off by the chair; two ratings. M2: its objection is upheld, so it goes
    back to the vote; meeting 2 passes it again (a new notice period), a second objection is
    dismissed, and it is implemented, signed off and rated too."""
    b = noticed(matters=(M1, M2))
    b.object(M1)
    b.object(M2, text="有两名代表没有收到会议通知。")
    b.object(M1, text="施工单位是村干部亲属。")
    b.reply(M2, 1, "upheld", reply="经核实通知未送达两名代表，须重新票决。")
    b.wait(5)
    b.reply(M1, 1)
    b.reply(M1, 2, person=8, role="supervisor_chair", reply="经核实，施工单位与村干部无亲属关系。")
    b.step(M1, "start_implementation", 1, {})
    b.update(M1, 40, spent_fen=5_000_000)
    b.confirm(M1, 1)
    b.update(M1, 100, person=7, role="committee_member", spent_fen=11_800_000, evidence=[])
    b.confirm(M1, 2, person=8, role="supervisor_chair")
    b.step(M1, "complete", 8, {"report": "验收合格"})
    b.rate(M1, 5)
    b.rate(M1, 3)
    # M2 again: meeting 2, a new notice period, a new objection (number 2), dismissed
    revote(b, M2, 2)
    b.wait(1)
    b.object(M2, text="方案没有变化。")
    b.reply(M2, 2)
    b.wait(5)
    b.step(M2, "start_implementation", 2, {})
    b.update(M2, 100, person=2, role="committee_director")
    b.confirm(M2, 1, person=8, role="supervisor_chair")
    b.step(M2, "complete", 8, {"report": "验收合格"})
    b.rate(M2, 4)
    return b


@pytest.fixture(scope="module")
def complete() -> LogBuilder:
    return step6_log()


def test_a_complete_step6_log_verifies(complete: LogBuilder, tmp_path: Path) -> None:
    report = verify_export(complete.export(tmp_path / "e", cosigners=[seeded_cosigner()]),
                           require_cosignature=True)
    assert report.failures == (), [f.describe() for f in report.failures]
    seen = {type_of(raw) for raw in complete.records}
    assert set(STEP6_TYPES) <= seen
    assert set(STEP6_TYPES) <= set(BODY_SCHEMAS)


def test_the_step6_log_verifies_the_same_with_worker_processes(complete: LogBuilder,
                                                                tmp_path: Path) -> None:
    assert verify_export(complete.export(tmp_path / "e"), jobs=2, chunk_size=5).failures == ()


def test_the_step6_state_after_the_complete_log(complete: LogBuilder) -> None:
    verifier = LogVerifier(complete.origin, complete.log_vkeys)
    for index, raw in enumerate(complete.records):
        verifier.feed(index, raw)
    assert verifier._closing is None and verifier._upheld is None
    first, second = verifier._supervision[M1], verifier._supervision[M2]
    assert (first.objections, first.unanswered, first.updates, first.unconfirmed,
            first.progress) == (2, set(), 2, {}, 100)
    assert (second.objections, second.updates) == (2, 1)
    assert second.notice is not None and second.notice.passed
    assert complete.notice_ends[M2] == second.notice.end  # the re-vote's notice period


def test_a_rejected_result_is_published_without_a_notice_period() -> None:
    b, members = assembly(8, matters=(M1,))
    b.open_poll(M1)
    vote(b, members, 0)
    assert b.finish_poll().verdict == "rejected"
    b.close_meeting()
    assert_ok(b)
    index = b.size
    b.object(M1)
    assert_fails(b, index, "semantics", "matter 2026-001 is rejected, not passed")


# ====================================================================== notice.publish


def test_a_record_vote_needs_its_notice_right_after() -> None:
    b, members = assembly(8, matters=(M1,))
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    b.record_vote(M1, "passed")
    index = b.size
    b.close_meeting()
    report = assert_fails(b, index, "semantics",
                          "meeting 1 poll 1 was closed: the notice.publish of matter 2026-001 "
                          "must come next, not this meeting.close")
    assert "abandoned" in report.failures[0].reason


def test_a_notice_of_another_matter_does_not_fit() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    b.record_vote(M1, "passed")
    index = b.size
    b.publish(M2, "passed")
    b.publish(M1, "passed")  # the sequence goes on with the record that fits it
    assert_fails(b, index, "semantics",
                 "the notice.publish of matter 2026-001 must come next, not this notice.publish")


def test_a_notice_anywhere_else_fails() -> None:
    b = noticed()
    index = b.size
    b.publish(M1, "passed")
    assert_fails(b, index, "semantics",
                 "a notice.publish may only come directly after the record_vote of its matter")


@pytest.mark.parametrize(("override", "text"), [
    ({"poll": 2}, "notice.publish names meeting 1 poll 2, but the result it publishes is that "
                  "of meeting 1 poll 1"),
    ({"meeting": 3, "poll": 1}, "names meeting 3 poll 1"),
    ({"verdict": "rejected", "days": 0, "ends_at": None},
     "verdict is rejected, but the poll.tally of meeting 1 poll 1 says passed"),
    ({"days": 3}, "days is 3, but the township's public_notice_days in force is 5"),
    ({"ends_at": None}, "a passed result's notice needs its ends_at (it is null)"),
])
def test_the_notice_is_the_tallys_with_the_townships_period(override: dict[str, Any],
                                                            text: str) -> None:
    b, members = assembly(8, matters=(M1,))
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    b.record_vote(M1, "passed")
    index = b.size
    b.publish(M1, override.pop("verdict", "passed"), **override)
    b.close_meeting()
    assert_fails(b, index, "semantics", text)


def test_ends_at_is_at_plus_the_days() -> None:
    b, members = assembly(8, matters=(M1,))
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    b.record_vote(M1, "passed")
    index = b.size
    at = b.clock
    b.publish(M1, "passed", ends_at=utc(at + 4 * DAY))
    assert_fails(b, index, "semantics",
                 f"ends_at is {utc(at + 4 * DAY)}, but a notice published at {utc(at)} for 5 "
                 f"days (public_notice_days) ends at {utc(at + 5 * DAY)}")


@pytest.mark.parametrize(("override", "text"), [
    ({"days": 5}, "days must be 0 and ends_at null, not 5 and null"),
    ({"ends_at": "2026-03-20T01:00:00Z"},
     'days must be 0 and ends_at null, not 0 and "2026-03-20T01:00:00Z"'),
])
def test_a_rejected_notice_has_no_period(override: dict[str, Any], text: str) -> None:
    b, members = assembly(8, matters=(M1,))
    b.open_poll(M1)
    vote(b, members, 0)
    b.close_poll()
    b.tally()
    b.record_vote(M1, "rejected")
    index = b.size
    b.publish(M1, "rejected", **override)
    assert_fails(b, index, "semantics", "a rejected result has no notice period: " + text)


@pytest.mark.parametrize(("override", "text"), [
    ({"ends_at": "2026-03-20 01:00:00"}, "ends_at '2026-03-20 01:00:00' is not a UTC time"),
    ({"verdict": "maybe"}, "verdict 'maybe' is not passed or rejected"),
    ({"poll": 0}, "poll 0 is not a positive number"),
])
def test_notice_syntax(override: dict[str, Any], text: str) -> None:
    b, members = assembly(8, matters=(M1,))
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    b.record_vote(M1, "passed")
    index = b.size
    b.publish(M1, override.pop("verdict", "passed"), **override)
    assert_fails(b, index, "format", text)


@pytest.mark.parametrize("days", ["10", "3"])
def test_the_notice_period_is_the_setting_in_force(days: str) -> None:
    b = noticed(setting={"public_notice_days": days})
    assert_ok(b)
    b.wait(int(days) - 1)  # the clock is a day into the period: now it just ended
    b.step(M1, "start_implementation", 1, {})
    assert_ok(b)


def test_a_notice_stating_the_default_under_another_setting_fails() -> None:
    b, members = assembly(8, matters=(M1,), setting={"public_notice_days": "10"})
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    b.record_vote(M1, "passed")
    index = b.size
    at = b.clock
    b.publish(M1, "passed", days=5, ends_at=utc(at + 5 * DAY))
    report = assert_fails(b, index, "semantics",
                          "days is 5, but the township's public_notice_days in force is 10")
    assert any(f"ends at {utc(at + 10 * DAY)}" in f.reason for f in report.failures)


# ====================================================================== objection.file


@pytest.mark.parametrize(("offset", "ok"), [
    (dt.timedelta(0), True),  # the moment of publication
    (5 * DAY - dt.timedelta(seconds=1), True),
    (5 * DAY, False),  # ends_at itself is outside
    (-dt.timedelta(seconds=1), False),
    (9 * DAY, False),
])
def test_objections_only_during_the_notice_period(offset: dt.timedelta, ok: bool) -> None:
    b = noticed()
    start = notice_start(b)
    b.clock = start + offset
    index = b.size
    b.object(M1)
    if ok:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics",
                     f"notice.objection_window: objection at {utc(start + offset)} is outside "
                     f"the notice period of matter 2026-001 (from {utc(start)} until before "
                     f"{utc(start + 5 * DAY)})")


@pytest.mark.parametrize("state", ["filed", "implementing"])
def test_objections_only_to_a_passed_matter(state: str) -> None:
    if state == "filed":
        b, _ = assembly(8, matters=(M1,))
    else:
        b = implementing()
    index = b.size
    b.object(M1)
    assert_fails(b, index, "semantics", f"matter 2026-001 is {state}, not passed")


def test_an_objection_to_an_unknown_matter_fails() -> None:
    b = noticed()
    index = b.size
    b.object("2026-099")
    assert_fails(b, index, "semantics", "matter 2026-099 is not a matter of this log")


@pytest.mark.parametrize("number", [3, 1], ids=["gap", "again"])
def test_objections_are_numbered_per_matter(number: int) -> None:
    b = noticed(matters=(M1, M2))
    b.object(M1)
    b.object(M2)  # another matter counts from 1
    assert_ok(b)
    index = b.size
    b.object(M1, objection=number)
    assert_fails(b, index, "semantics",
                 f"objection number is {number}, but matter 2026-001 has 1 earlier "
                 "objection(s): expected 2")


def test_reply_due_is_the_townships_deadline() -> None:
    b = noticed()
    at = b.clock
    index = b.size
    b.object(M1, reply_due=utc(at + 5 * DAY))
    assert_fails(b, index, "semantics",
                 f"reply_due is {utc(at + 5 * DAY)}, but objection_reply_days in force is 7: "
                 f"due at {utc(at + 7 * DAY)}")


def test_a_longer_reply_deadline_applies() -> None:
    b = noticed(setting={"objection_reply_days": "10"})
    at = b.clock
    b.object(M1)  # the builder uses the setting
    assert_ok(b)
    index = b.size
    b.object(M1, reply_due=utc(at + 7 * DAY))
    assert_fails(b, index, "semantics", "objection_reply_days in force is 10")


@pytest.mark.parametrize(("override", "kind", "text"), [
    ({"text": " \u3000\n"}, "semantics", "an objection needs a text (it is empty)"),
    ({"reply_due": "soon"}, "format", "reply_due 'soon' is not a UTC time"),
    ({"objection": 0}, "format", "objection 0 is not a positive number"),
])
def test_objection_fields(override: dict[str, Any], kind: str, text: str) -> None:
    b = noticed()
    index = b.size
    b.object(M1, **override)
    assert_fails(b, index, kind, text)


# ====================================================================== objection.reply


@pytest.mark.parametrize(("person", "role", "text"), [
    (1, "clerk", "role clerk may not answer an objection; needs one of supervisor, "
                 "supervisor_chair"),
    (5, "supervisor_chair", "person 5 does not hold the role supervisor_chair"),
    (8, "supervisor_chair", None),
    (5, "supervisor", None),
])
def test_who_answers_an_objection(person: int, role: str, text: str | None) -> None:
    b = noticed()
    b.object(M1)
    index = b.size
    b.reply(M1, 1, person=person, role=role)
    if text is None:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics", text)


def test_a_reply_needs_an_objection_of_the_matter() -> None:
    b = noticed(matters=(M1, M2))
    b.object(M1)
    index = b.size
    b.reply(M2, 1)
    assert_fails(b, index, "semantics", "matter 2026-002 has no objection 1 (0 filed)")


def test_an_objection_is_answered_once() -> None:
    b = noticed()
    b.object(M1)
    b.reply(M1, 1)
    index = b.size
    b.reply(M1, 1, "upheld", breach=False)
    b.step(M1, "flag_breach", 5, {"breach_step": "vote", "reason": "再答"})
    assert_fails(b, index, "semantics", "objection 1 of matter 2026-001 was already answered")


@pytest.mark.parametrize(("override", "text"), [
    ({"outcome": "maybe"}, "outcome 'maybe' is not dismissed or upheld"),
    ({"reply": "\u3000"}, "a reply needs a text (it is empty)"),
])
def test_reply_fields(override: dict[str, Any], text: str) -> None:
    b = noticed()
    b.object(M1)
    index = b.size
    b.reply(M1, 1, **override)
    assert_fails(b, index, "semantics", text)


def test_an_upheld_objection_needs_its_flag_breach_next() -> None:
    b = noticed()
    b.object(M1)
    reply = b.size
    b.reply(M1, 1, "upheld", breach=False)
    index = b.size
    b.object(M1)
    assert_fails(b, index, "semantics",
                 f"objection 1 of matter 2026-001 was upheld at record {reply}: the matter.step "
                 "flag_breach of matter 2026-001 back to the vote must come next, not this "
                 "objection.file")


def test_an_upheld_objection_sends_the_matter_back_to_the_vote_only() -> None:
    b = noticed()
    b.object(M1)
    b.reply(M1, 1, "upheld", breach=False)
    index = b.size
    b.step(M1, "flag_breach", 5, {"breach_step": "discuss", "reason": "异议成立"})
    assert_fails(b, index, "semantics",
                 'its flag_breach must send the matter back to the vote (breach_step vote), '
                 'not "discuss"')


def test_the_flag_breach_is_by_the_person_who_upheld() -> None:
    b = noticed()
    b.object(M1)
    reply = b.size
    b.reply(M1, 1, "upheld", breach=False)
    index = b.size
    b.step(M1, "flag_breach", 8, {"breach_step": "vote", "reason": "异议成立"})
    assert_fails(b, index, "semantics",
                 f"upheld at record {reply} by person 5, but the flag_breach after it is by "
                 "person 8")


def test_a_flag_breach_of_another_matter_does_not_follow_an_upheld_objection() -> None:
    b = noticed(matters=(M1, M2))
    b.object(M1)
    b.reply(M1, 1, "upheld", breach=False)
    index = b.size
    b.step(M2, "flag_breach", 5, {"breach_step": "vote", "reason": "异议成立"})
    assert_fails(b, index, "semantics",
                 "the matter.step flag_breach of matter 2026-001 back to the vote must come "
                 "next, not this matter.step")


def test_a_dismissed_objection_needs_no_flag_breach() -> None:
    b = noticed()
    b.object(M1)
    b.reply(M1, 1)
    b.object(M1)
    assert_ok(b)


# ====================================================================== start_implementation


@pytest.mark.parametrize(("offset", "ok"), [
    (5 * DAY, True),  # exactly at ends_at
    (5 * DAY - dt.timedelta(seconds=1), False),
    (DAY, False),
])
def test_no_implementation_during_the_notice_period(offset: dt.timedelta, ok: bool) -> None:
    b = noticed()
    start = notice_start(b)
    b.clock = start + offset
    index = b.size
    b.step(M1, "start_implementation", 1, {})
    if ok:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics",
                     f"implementation starts at {utc(start + offset)}, during the notice period "
                     f"of matter 2026-001, which ends at {utc(start + 5 * DAY)}")


def test_no_implementation_with_an_objection_unanswered() -> None:
    b = noticed()
    b.object(M1)
    b.object(M1)
    b.object(M1)
    b.reply(M1, 2)
    b.wait(5)
    index = b.size
    b.step(M1, "start_implementation", 1, {})
    assert_fails(b, index, "semantics",
                 "objection 1, 3 of matter 2026-001 not answered: implementation cannot start")


def test_an_objection_left_from_before_an_upheld_one_still_blocks() -> None:
    """Objection 1 is upheld, 2 is still open when the re-vote passes: it must be answered
    before implementation starts (the services count every unanswered objection)."""
    b = noticed()
    b.object(M1)
    b.object(M1)
    b.reply(M1, 1, "upheld")
    revote(b, M1, 2)
    b.wait(5)
    index = b.size
    b.step(M1, "start_implementation", 1, {})
    assert_fails(b, index, "semantics", "objection 2 of matter 2026-001 not answered")


def test_implementation_without_a_published_notice_fails() -> None:
    """A record_vote out of place (no tally) has no notice: the start is refused too."""
    b, _ = assembly(8, matters=(M1,))
    b.close_meeting()
    first = b.size
    b.record_vote(M1, "passed")
    index = b.size
    b.step(M1, "start_implementation", 1, {})
    report = verify(b)
    assert {(f.index, f.kind) for f in report.failures} == {(first, "semantics"),
                                                            (index, "semantics")}
    assert "was not published with a notice period" in report.failures[-1].reason


# ====================================================================== implementation.update


@pytest.mark.parametrize(("person", "role", "text"), [
    (5, "supervisor", "role supervisor may not record implementation progress; needs one of "
                      "clerk, committee_director, committee_member"),
    (7, "clerk", "person 7 does not hold the role clerk"),
    (1, "clerk", None),
    (2, "committee_director", None),
    (7, "committee_member", None),
])
def test_who_records_implementation_progress(person: int, role: str, text: str | None) -> None:
    b = implementing()
    index = b.size
    b.update(M1, 50, person=person, role=role)
    if text is None:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics", text)


def test_updates_only_while_implementing() -> None:
    b = noticed()
    index = b.size
    b.update(M1, 10)
    assert_fails(b, index, "semantics", "matter 2026-001 is passed, not implementing")


def test_updates_are_numbered_per_matter() -> None:
    b = implementing()
    b.update(M1, 10)
    index = b.size
    b.update(M1, 20, update=3)
    assert_fails(b, index, "semantics",
                 "update number is 3, but matter 2026-001 has 1 earlier update(s): expected 2")


@pytest.mark.parametrize(("override", "text"), [
    ({"progress": 101}, "progress 101 is not a percentage 0–100"),
    ({"progress": -1}, "progress -1 is not a percentage 0–100"),
    ({"spent_fen": -1}, "spent_fen -1 is negative"),
    ({"planned_fen": 1}, "planned_fen is 1, but matter 2026-001's amount (amount_fen of its "
                         "latest proposal or discussion) is 12000000"),
    ({"planned_fen": None}, "planned_fen is null, but matter 2026-001's amount"),
])
def test_update_numbers(override: dict[str, Any], text: str) -> None:
    b = implementing()
    index = b.size
    b.update(M1, override.pop("progress", 50), **override)
    assert_fails(b, index, "semantics", text)


@pytest.mark.parametrize("progress", [0, 100])
def test_progress_bounds_are_valid(progress: int) -> None:
    b = implementing()
    b.update(M1, progress, spent_fen=0)
    assert_ok(b)


def test_planned_is_the_amount_a_discussion_revised() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    members = [2, *representatives(b, 8)]
    b.suggestion(1)
    b.step(M1, "suggest", 1, suggestions=[1])
    b.step(M1, "propose", 2)
    b.step(M1, "discuss", 1, {**FIELDS["discuss"], "amount_fen": 9_000_000})
    b.step(M1, "file", 4)
    b.convene([M1])
    b.open_meeting()
    for member in members:
        b.attend(member)
    b.open_poll(M1)
    vote(b, members, 9)
    b.finish_poll()
    b.wait(5)
    b.step(M1, "start_implementation", 1, {})
    b.update(M1, 10)
    assert_ok(b)
    index = b.size
    b.update(M1, 20, planned_fen=12_000_000)
    assert_fails(b, index, "semantics", "planned_fen is 12000000, but matter 2026-001's amount")


@pytest.mark.parametrize("evidence", [
    [{"name": "a.png", "sha256": "ABC", "size": 1, "type": "image/png"}],
    [{"name": "a.png", "sha256": "0" * 64, "size": -1, "type": "image/png"}],
    [{"name": "a.png", "sha256": "0" * 64, "size": 1}],
    ["a.png"],
], ids=["sha", "size", "missing type", "not an object"])
def test_evidence_is_files_by_hash(evidence: list[Any]) -> None:
    b = implementing()
    index = b.size
    b.update(M1, 10, evidence=evidence)
    assert_fails(b, index, "format",
                 "evidence 1 is not {name, sha256 (64 lowercase hex), size (non-negative "
                 "integer), type}")


# ====================================================================== implementation.confirm


@pytest.mark.parametrize(("person", "role", "text"), [
    (1, "clerk", "role clerk may not confirm implementation progress; needs one of supervisor, "
                 "supervisor_chair"),
    (7, "supervisor", "person 7 does not hold the role supervisor"),
])
def test_who_confirms_an_update(person: int, role: str, text: str) -> None:
    b = implementing()
    b.update(M1, 50)
    index = b.size
    b.confirm(M1, 1, person=person, role=role)
    assert_fails(b, index, "semantics", text)


def test_nobody_confirms_their_own_update() -> None:
    b = implementing()
    b.appoint(9, "钱多", "clerk")
    b.appoint(9, "钱多", "supervisor")  # the verifier does not judge appointments' compatibility
    b.update(M1, 50, person=9)
    index = b.size
    b.confirm(M1, 1, person=9)
    assert_fails(b, index, "semantics",
                 "person 9 confirms implementation update 1, which they recorded themself")


def test_a_confirmation_needs_an_unconfirmed_update() -> None:
    b = implementing()
    b.update(M1, 50)
    b.confirm(M1, 1)
    index = b.size
    b.confirm(M1, 1, person=8, role="supervisor_chair")
    assert_fails(b, index, "semantics",
                 "implementation update 1 of matter 2026-001 was already confirmed")
    b = implementing()
    b.update(M1, 50)
    index = b.size
    b.confirm(M1, 2)
    assert_fails(b, index, "semantics",
                 "matter 2026-001 has no implementation update 2 (1 recorded)")


# ====================================================================== complete


def test_sign_off_needs_an_update() -> None:
    b = implementing()
    index = b.size
    b.step(M1, "complete", 8, {"report": "验收合格"})
    assert_fails(b, index, "semantics", "matter 2026-001 has no implementation.update")


def test_sign_off_needs_every_update_confirmed() -> None:
    b = implementing()
    b.update(M1, 50)
    b.update(M1, 100)
    b.confirm(M1, 1)
    index = b.size
    b.step(M1, "complete", 8, {"report": "验收合格"})
    assert_fails(b, index, "semantics",
                 "implementation update 2 of matter 2026-001 not confirmed by the supervisory "
                 "committee")


def test_sign_off_needs_the_last_update_at_100() -> None:
    b = implementing()
    b.update(M1, 100)
    b.update(M1, 90)  # the last one counts
    b.confirm(M1, 1)
    b.confirm(M1, 2)
    index = b.size
    b.step(M1, "complete", 8, {"report": "验收合格"})
    assert_fails(b, index, "semantics",
                 "the last implementation update of matter 2026-001 is at 90 %, not 100 %")


# ====================================================================== rating.add


def test_ratings_only_for_completed_matters() -> None:
    b = implementing()
    index = b.size
    b.rate(M1)
    assert_fails(b, index, "semantics",
                 "matter 2026-001 is implementing, not completed: only completed matters are "
                 "rated")


@pytest.mark.parametrize(("score", "ok"), [(0, False), (1, True), (5, True), (6, False),
                                           (-3, False)])
def test_a_rating_is_1_to_5(score: int, ok: bool) -> None:
    b = completed()
    index = b.size
    b.rate(M1, score)
    if ok:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics", f"score {score} is not 1–5")


def test_a_rating_of_an_unknown_matter_fails() -> None:
    b = completed()
    index = b.size
    b.rate("2026-050")
    assert_fails(b, index, "semantics", "matter 2026-050 is not a matter of this log")

