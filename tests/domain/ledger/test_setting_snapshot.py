"""The ``setting.snapshot`` record: the township settings in force when a village's log began.

A village created in a township whose settings already differ from the built-in defaults (a
township admin changed them earlier, or the installation set ``SUNVOTE_DEFAULT_*``) starts its
log with ``log.init`` and then one ``setting.snapshot`` of those settings, so the verifier
judges its meetings and polls by them. Logs are built with tests/domain/ledger/logbuilder.py
(the cast: clerk 1, party secretary and committee director 2, township reviewer 4, supervisor
5, township admin 6; representatives 101, 102, …); the builder's clock starts on 2 March 2026,
09:00 China time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sunvote.domain.ledger.records import BODY_SCHEMAS, RecordFormatError, check_body
from sunvote.domain.ledger.verifier import EXIT_CODES, LogVerifier, Report, verify_export
from tests.domain.ledger.logbuilder import (
    LogBuilder,
    filed_matter,
    people,
    representatives,
    standard_log,
)

M1 = "2026-001"


# ====================================================================== helpers


def verify(b: LogBuilder) -> Report:
    """Verify the builder's log in memory (the same checks as an export, without files)."""
    verifier = LogVerifier(b.origin, b.log_vkeys)
    for index, raw in enumerate(b.records):
        verifier.feed(index, raw)
    return verifier.finish(b.checkpoint())


def only(report: Report) -> set[tuple[int | None, str]]:
    return {(f.index, f.kind) for f in report.failures}


def assert_ok(b: LogBuilder) -> None:
    report = verify(b)
    assert report.failures == (), [f.describe() for f in report.failures]


def assert_fails(b: LogBuilder, index: int, kind: str, text: str) -> Report:
    """Failures of one kind at ``index`` only, one of whose reasons contains ``text``."""
    report = verify(b)
    described = [f.describe() for f in report.failures]
    assert only(report) == {(index, kind)}, described
    assert report.exit_code == EXIT_CODES[kind]
    assert any(text in f.reason for f in report.failures), described
    return report


def started(values: dict[str, Any] | None = None) -> LogBuilder:
    """log.init, the snapshot of ``values`` (none if None), then the cast."""
    b = LogBuilder()
    b.init()
    if values is not None:
        b.snapshot(values)
    people(b)
    return b


def meeting(values: dict[str, Any] | None, *, reps: int = 29, present: int = 25) -> LogBuilder:
    """A log up to an open meeting on M1 (filed) with ``present`` of the 1 + ``reps`` members
    checked in; the snapshot of ``values`` (if any) right after log.init."""
    b = started(values)
    members = [2, *representatives(b, reps)]
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    for person in members[:present]:
        b.attend(person)
    return b


# ====================================================================== schema


def test_the_schema_is_the_agreed_body() -> None:
    """The services write exactly this body: a change here is a change of the format."""
    assert BODY_SCHEMAS["setting.snapshot"] == {"township": str, "values": dict, "at": str}
    check_body("setting.snapshot", {"township": "demo-town", "values": {"quorum": "3/4"},
                                    "at": "2026-03-02T01:00:00Z"})
    check_body("setting.snapshot", {"township": "demo-town", "values": {},
                                    "at": "2026-03-02T01:00:00Z"})


@pytest.mark.parametrize("body", [
    {"township": "demo-town", "values": [["quorum", "3/4"]], "at": "2026-03-02T01:00:00Z"},
    {"township": "demo-town", "values": None, "at": "2026-03-02T01:00:00Z"},
    {"township": "demo-town", "values": {}},
    {"township": "demo-town", "values": {}, "at": "2026-03-02T01:00:00Z", "person": 6},
], ids=["values list", "values null", "missing at", "extra actor"])
def test_a_body_that_breaks_the_schema_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(RecordFormatError):
        check_body("setting.snapshot", body)


# ====================================================================== the settings it sets


def test_without_a_snapshot_the_built_in_quorum_applies() -> None:
    """The control: the same poll stating 3/4 fails when nothing says the quorum is 3/4."""
    b = meeting(None)
    index = b.size
    b.open_poll(M1, quorum="3/4")
    assert_fails(b, index, "semantics", "quorum is 3/4, but the township's quorum in force is 2/3")


def test_a_snapshot_of_a_stricter_quorum_makes_a_poll_stating_it_verify() -> None:
    b = meeting({"quorum": "3/4"})
    b.open_poll(M1)  # the builder states the snapshot's 3/4
    b.cast(2)
    b.finish_poll()
    b.close_meeting()
    assert_ok(b)


def test_a_snapshot_of_a_stricter_quorum_refuses_a_poll_stating_the_default() -> None:
    b = meeting({"quorum": "3/4"})
    index = b.size
    b.open_poll(M1, quorum="2/3")
    assert_fails(b, index, "semantics", "quorum is 2/3, but the township's quorum in force is 3/4")


def test_a_snapshot_of_a_stricter_quorum_is_checked_at_the_opening() -> None:
    """22 of 30 present meets 2/3 (20) but not the snapshot's 3/4 (23)."""
    b = meeting({"quorum": "3/4"}, present=22)
    index = b.size
    b.open_poll(M1)
    assert_fails(b, index, "semantics",
                 "no quorum: 22 of 30 members present, 23 needed (3/4 of the members)")


def test_a_snapshot_of_a_longer_notice_makes_a_convene_stating_it_verify() -> None:
    b = started({"meeting_notice_days": "7"})
    filed_matter(b, M1)
    b.convene([M1])  # notice_days 7, seven days ahead
    assert_ok(b)


@pytest.mark.parametrize(("override", "text"), [
    ({"notice_days": 3, "days_ahead": 7},
     "notice_days is 3, but the township's meeting_notice_days in force is 7"),
    ({"days_ahead": 6}, "meeting_notice_days is 7"),
], ids=["states the default", "too short"])
def test_a_snapshot_of_a_longer_notice_refuses_a_convene_by_the_default(
        override: dict[str, Any], text: str) -> None:
    b = started({"meeting_notice_days": "7"})
    filed_matter(b, M1)
    index = b.size
    b.convene([M1], **override)
    assert_fails(b, index, "semantics", text)


def test_without_a_snapshot_the_built_in_notice_applies() -> None:
    b = started()
    filed_matter(b, M1)
    index = b.size
    b.convene([M1], notice_days=7, days_ahead=7)
    assert_fails(b, index, "semantics",
                 "notice_days is 7, but the township's meeting_notice_days in force is 3")


def test_a_snapshot_of_the_merge_setting_allows_propose_and_discuss() -> None:
    """The case of an installation that turned merge_propose_discuss on by default."""
    b = started({"merge_propose_discuss": "true"})
    b.suggestion(1)
    b.step(M1, "suggest", 1, suggestions=[1])
    b.step(M1, "propose_and_discuss", 2)
    assert_ok(b)


def test_a_snapshot_of_a_pass_rule_is_the_rule_in_force() -> None:
    b = meeting({"pass_rule": "majority_of_all"})
    b.open_poll(M1)  # the builder states majority_of_all
    b.cast(2)
    b.finish_poll()
    assert_ok(b)
    c = meeting({"pass_rule": "majority_of_all"})
    index = c.size
    c.open_poll(M1, rule="majority_of_present")
    report = verify(c)
    assert (index, "semantics") in only(report)


def test_a_later_setting_change_overrides_the_snapshot() -> None:
    b = started({"quorum": "3/4"})
    b.setting("quorum", "2/3")
    members = [2, *representatives(b, 29)]
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    for person in members[:21]:
        b.attend(person)
    b.open_poll(M1)  # 2/3 again: 21 of 30 suffices
    assert_ok(b)


def test_an_empty_snapshot_is_allowed() -> None:
    b = started({})
    filed_matter(b, M1)
    b.convene([M1])
    assert_ok(b)


def test_a_snapshot_verifies_from_an_export(tmp_path: Path) -> None:
    b = meeting({"quorum": "3/4", "meeting_notice_days": "5", "recusal_counts_present": "false",
                 "pass_rule.category_2": "two_thirds_of_present"})
    b.open_poll(M1)
    b.cast(2)
    b.finish_poll()
    b.close_meeting()
    report = verify_export(b.export(tmp_path / "export"))
    assert report.failures == (), [f.describe() for f in report.failures]


# ====================================================================== where it may be


def test_a_snapshot_after_other_records_fails_and_changes_nothing() -> None:
    b = started()  # log.init, then the cast
    index = b.size
    b.snapshot({"quorum": "3/4"})
    members = [2, *representatives(b, 29)]
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    for person in members[:25]:
        b.attend(person)
    b.open_poll(M1, quorum="2/3")  # the built-in quorum is still in force
    report = assert_fails(b, index, "semantics",
                          "setting.snapshot only directly after log.init")
    assert len(report.failures) == 1


def test_a_snapshot_at_seq_0_fails() -> None:
    b = LogBuilder()
    b.snapshot({"quorum": "3/4"})
    report = verify(b)
    reasons = [f.reason for f in report.failures if f.index == 0]
    assert any("record 0 must be log.init" in r for r in reasons), reasons
    assert any("setting.snapshot only directly after log.init" in r for r in reasons), reasons


def test_a_second_snapshot_fails() -> None:
    b = started({"quorum": "3/4"})
    index = b.size
    b.snapshot({"quorum": "1"})
    members = [2, *representatives(b, 29)]
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    for person in members[:25]:
        b.attend(person)
    b.open_poll(M1, quorum="3/4")  # the first snapshot's, not the second's
    report = assert_fails(b, index, "semantics",
                          "setting.snapshot only directly after log.init")
    assert any("a second one (record 1 was the first)" in f.reason for f in report.failures)


def test_a_snapshot_right_after_log_init_twice_in_a_row_fails_the_second() -> None:
    b = LogBuilder()
    b.init()
    b.snapshot({})
    b.snapshot({})
    assert_fails(b, 2, "semantics", "setting.snapshot only directly after log.init")


def test_a_snapshot_for_another_township_fails() -> None:
    b = LogBuilder()
    b.init()
    b.snapshot({"quorum": "3/4"}, township="other-town")
    people(b)
    assert_fails(b, 1, "semantics",
                 "setting.snapshot is for township 'other-town', not this log's 'demo-town'")


def test_a_snapshot_with_a_bad_time_is_a_format_failure() -> None:
    b = LogBuilder()
    b.init()
    b.snapshot({}, at="2026-03-02 01:00:00")
    assert_fails(b, 1, "format", "is not a UTC time")


# ====================================================================== its values


@pytest.mark.parametrize(("values", "kind", "text"), [
    ({"quorum_x": "3/4"}, "semantics", "unknown setting 'quorum_x'"),
    ({"quorum": "1/2"}, "semantics", "setting quorum value '1/2' is invalid or outside its "
                                     "bounds [settings.law_bound]"),
    ({"meeting_notice_days": "many"}, "semantics",
     "setting meeting_notice_days value 'many' is invalid"),
    ({"meeting_notice_days": "0"}, "semantics", "setting meeting_notice_days value '0'"),
    ({"pass_rule": "unanimous"}, "semantics", "setting pass_rule value 'unanimous' is invalid"),
    ({"merge_propose_discuss": "yes"}, "semantics",
     "setting merge_propose_discuss value 'yes' is invalid"),
    ({"quorum": "6/8"}, "semantics", "setting quorum value '6/8' is not in its text form ('3/4')"),
    ({"quorum": "0.75"}, "semantics", "setting quorum value '0.75' is not in its text form"),
    ({"meeting_notice_days": "07"}, "semantics",
     "setting meeting_notice_days value '07' is not in its text form ('7')"),
    ({"merge_propose_discuss": "True"}, "semantics",
     "setting merge_propose_discuss value 'True' is invalid"),
    ({"quorum": 1}, "format", "setting.snapshot value of 'quorum' is not a string"),
    ({"meeting_notice_days": 7}, "format",
     "setting.snapshot value of 'meeting_notice_days' is not a string"),
    ({"merge_propose_discuss": True}, "format", "is not a string"),
    ({"pass_rule.category_3": None}, "format", "is not a string"),
    ({"quorum": ["3/4"]}, "format", "is not a string"),
], ids=["unknown key", "looser quorum", "not a number", "below bound", "unknown rule",
        "not a boolean", "unreduced fraction", "decimal", "leading zero", "capital True",
        "int quorum", "int days", "bool", "null", "list"])
def test_a_bad_value_fails_naming_its_key(values: dict[str, Any], kind: str, text: str) -> None:
    b = LogBuilder()
    b.init()
    b.snapshot(values)
    people(b)
    assert_fails(b, 1, kind, text)


def test_the_inheriting_category_override_is_its_text_form() -> None:
    """``pass_rule.category_N`` = "" means "inherits pass_rule" (its text form)."""
    b = started({"pass_rule.category_2": ""})
    filed_matter(b, M1)
    assert_ok(b)


def test_invalid_values_are_skipped_and_valid_ones_apply() -> None:
    """A snapshot with a bad quorum and a good notice period: the failure names the quorum,
    the notice period of 7 days is in force and the built-in quorum stays."""
    b = LogBuilder()
    b.init()
    b.snapshot({"quorum": "6/8", "meeting_notice_days": "7", "bogus": "1",
                "recusal_counts_present": 0})
    people(b)
    members = [2, *representatives(b, 29)]
    filed_matter(b, M1)
    b.convene([M1])  # 7 days, from the snapshot
    b.open_meeting()
    for person in members[:25]:
        b.attend(person)
    b.open_poll(M1, quorum="2/3", recusal_counts_present=True)
    report = verify(b)
    assert only(report) == {(1, "semantics"), (1, "format")}, report.failures
    reasons = [f.reason for f in report.failures]
    assert any("setting quorum value '6/8'" in r for r in reasons), reasons
    assert any("unknown setting 'bogus'" in r for r in reasons), reasons
    assert any("value of 'recusal_counts_present' is not a string" in r for r in reasons)
    assert len(reasons) == 3, reasons


@pytest.mark.parametrize("type_", ["setting.snapshot", "setting.change"])
def test_a_fraction_with_a_huge_exponent_is_refused_without_expanding_it(type_: str) -> None:
    """Fraction("1e-999999999") would build a number of a billion digits: refused by its
    shape first, for the snapshot and setting.change alike."""
    b = started() if type_ == "setting.change" else LogBuilder()
    if type_ == "setting.change":
        index = b.size
        b.setting("quorum", "1e-999999999")
    else:
        b.init()
        index = b.size
        b.snapshot({"quorum": "1e-999999999"})
    begin = time.monotonic()
    assert_fails(b, index, "semantics", "setting quorum value '1e-999999999' is invalid")
    assert time.monotonic() - begin < 5


# ====================================================================== logs without one


def test_a_log_without_a_snapshot_still_verifies() -> None:
    assert_ok(standard_log())
    b = meeting(None, present=21)
    b.open_poll(M1)
    b.cast(2)
    b.finish_poll()
    b.close_meeting()
    assert_ok(b)
