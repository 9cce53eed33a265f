"""The ``role.end`` and ``register.import`` record types: schemas and verifier rules.

Every log here starts as the builder's cast (tests/domain/ledger/logbuilder.py): clerk 1, party
secretary and committee director 2, township reviewer 4, supervisor 5, township admin 6, all
from 2026-01-01 without an end. The builder's clock starts at 2026-03-02 09:00 China time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.ledger.note import sign_note
from sunvote.domain.ledger.records import (
    BODY_SCHEMAS,
    RecordFormatError,
    b64,
    check_body,
    parse_record,
)
from sunvote.domain.ledger.verifier import EXIT_CODES, Report, verify_export
from tests.domain.ledger.logbuilder import LogBuilder, people

REPO = Path(__file__).resolve().parents[3]
SHA = "0123456789abcdef" * 4


def cast() -> LogBuilder:
    b = LogBuilder()
    b.init()
    people(b)
    return b


def verify(b: LogBuilder, tmp_path: Path) -> Report:
    return verify_export(b.export(tmp_path / f"e{len(list(tmp_path.iterdir()))}"))


def only(report: Report) -> set[tuple[int | None, str]]:
    return {(f.index, f.kind) for f in report.failures}


def assert_ok(b: LogBuilder, tmp_path: Path) -> None:
    report = verify(b, tmp_path)
    assert report.failures == (), report.failures


def assert_fails(b: LogBuilder, tmp_path: Path, index: int, kind: str, text: str) -> Report:
    """Exactly one kind of failure, at ``index``, one of whose reasons contains ``text``."""
    report = verify(b, tmp_path)
    assert only(report) == {(index, kind)}, report.failures
    assert report.exit_code == EXIT_CODES[kind]
    assert any(text in f.reason for f in report.failures), report.failures
    assert all(f.type == report.failures[0].type for f in report.failures)
    return report


def add_unchecked(b: LogBuilder, type_: str, body: dict[str, Any]) -> int:
    """Append a correctly chained and signed record whose body skips the schema check."""
    index = b.size
    text = canonical_json({"body": body, "log": b.origin, "prev": b64(b.root), "seq": index,
                           "type": type_, "v": 1}).decode("utf-8") + "\n"
    b.add_raw(sign_note(text, [b.signer]))
    return index


def end_body(**override: Any) -> dict[str, Any]:
    body = {"person": 1, "name": "王芳", "role": "clerk", "scope": "village",
            "starts_on": "2026-01-01", "ends_on": "2026-03-10", "reason": "本人辞职",
            "at": "2026-03-02T01:00:00Z"}
    return {**body, **override}


def import_body(**override: Any) -> dict[str, Any]:
    body = {"file_sha256": SHA, "filename": "villagers.xlsx", "rows": 3, "created": 1,
            "changed": 1, "unchanged": 1, "rejected": 0, "person": 1, "name": "王芳",
            "at": "2026-03-02T01:00:00Z"}
    return {**body, **override}


# ====================================================================== schemas


def test_the_schemas_are_exactly_the_documented_bodies() -> None:
    assert BODY_SCHEMAS["role.end"] == {
        "person": int, "name": str, "role": str, "scope": str, "starts_on": str,
        "ends_on": str, "reason": str, "at": str}
    assert BODY_SCHEMAS["register.import"] == {
        "file_sha256": str, "filename": str, "rows": int, "created": int, "changed": int,
        "unchanged": int, "rejected": int, "person": int, "name": str, "at": str}
    check_body("role.end", end_body())
    check_body("register.import", import_body())


def test_every_record_type_and_body_key_is_in_the_format_doc() -> None:
    """docs/ledger-format.md lists every type in its table, with each of its body keys."""
    doc = (REPO / "docs" / "ledger-format.md").read_text(encoding="utf-8")
    for type_, schema in BODY_SCHEMAS.items():
        rows = [line for line in doc.splitlines() if line.startswith(f"| `{type_}` |")]
        assert len(rows) == 1, type_
        named = set(re.findall(r"`([a-z_0-9]+)`", rows[0].split("|")[2]))
        assert set(schema) <= named, (type_, set(schema) - named)


@pytest.mark.parametrize(("type_", "body"), [
    ("role.end", end_body(reason=None)),
    ("role.end", end_body(ends_on=None)),  # a role.end always names the new last day
    ("role.end", end_body(person="1")),
    ("role.end", end_body(person=True)),
    ("role.end", {k: v for k, v in end_body().items() if k != "reason"}),
    ("role.end", end_body(note="extra")),
    ("register.import", import_body(rows="3")),
    ("register.import", import_body(rejected=False)),
    ("register.import", import_body(file_sha256=None)),
    ("register.import", {k: v for k, v in import_body().items() if k != "file_sha256"}),
    ("register.import", import_body(names=["张三"])),  # no personal data, nor room for it
], ids=["end reason null", "end ends_on null", "end person str", "end person bool",
        "end missing reason", "end extra key", "import rows str", "import rejected bool",
        "import sha null", "import missing sha", "import extra key"])
def test_a_body_that_breaks_the_schema_is_a_format_failure(tmp_path: Path, type_: str,
                                                            body: dict[str, Any]) -> None:
    with pytest.raises(RecordFormatError):
        check_body(type_, body)
    b = cast()
    index = add_unchecked(b, type_, body)
    with pytest.raises(RecordFormatError):
        parse_record(b.records[index])
    b.suggestion(1)  # the log goes on and still verifies after it
    report = assert_fails(b, tmp_path, index, "format", "malformed record")
    assert report.failures[0].type == type_


@pytest.mark.parametrize("type_", ["role.end", "register.import"])
def test_the_same_record_with_a_valid_body_passes(tmp_path: Path, type_: str) -> None:
    """The counterpart of the schema test: the same way of writing a record, a valid body."""
    b = cast()
    index = add_unchecked(b, type_, end_body() if type_ == "role.end" else import_body())
    assert parse_record(b.records[index]).type == type_
    b.suggestion(1)
    assert_ok(b, tmp_path)


# ====================================================================== role.end


def test_a_valid_role_end_verifies(tmp_path: Path) -> None:
    b = cast()
    b.end_role(1, "clerk", "2026-03-10", reason="调任乡镇")
    b.end_role(6, "township_admin", "2026-03-02", reason="免职")  # ends today
    b.end_role(1, "clerk", "2026-03-05")  # shortened again
    b.suggestion(1)
    assert_ok(b, tmp_path)


@pytest.mark.parametrize(("at", "held"), [("2026-03-10T15:59:59Z", True),
                                          ("2026-03-10T16:00:00Z", False)],
                         ids=["last day of the shortened term", "the day after"])
def test_a_shortened_term_decides_later_matter_steps(tmp_path: Path, at: str,
                                                     held: bool) -> None:
    """The clerk's term is ended on 10 March: a suggest step on 10 March (China time) is hers
    to take, one at midnight China time is not."""
    b = cast()
    b.end_role(1, "clerk", "2026-03-10")
    index = b.size
    b.step("2026-001", "suggest", 1, at=at)
    if held:
        assert_ok(b, tmp_path)
    else:
        report = assert_fails(b, tmp_path, index, "semantics",
                              "does not hold the role clerk on 2026-03-11")
        assert report.failures[0].type == "matter.step"


def test_without_the_role_end_the_same_late_step_passes(tmp_path: Path) -> None:
    """Control for the test above: the failure comes from the role.end, not the date."""
    b = cast()
    b.step("2026-001", "suggest", 1, at="2026-03-10T16:00:00Z")
    assert_ok(b, tmp_path)


@pytest.mark.parametrize(("at", "held"), [("2026-03-05T12:00:00Z", True),
                                          ("2026-03-06T12:00:00Z", False)])
def test_a_township_admin_whose_term_ended_cannot_change_settings(tmp_path: Path, at: str,
                                                                   held: bool) -> None:
    b = cast()
    b.end_role(6, "township_admin", "2026-03-05", reason="调离")
    index = b.size
    b.setting("public_notice_days", "7", at=at)
    if held:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "is not a township admin on 2026-03-06")


@pytest.mark.parametrize(("person", "role", "starts_on"), [
    (1, "clerk", "2026-01-02"),          # another start date
    (1, "supervisor", "2026-01-01"),     # a role she never held
    (7, "clerk", "2026-01-01"),          # nobody appointed
], ids=["other start", "other role", "other person"])
def test_a_role_end_without_an_earlier_term_fails(tmp_path: Path, person: int, role: str,
                                                  starts_on: str) -> None:
    b = cast()
    index = b.size
    b.end_role(person, role, "2026-03-10", starts_on=starts_on)
    assert_fails(b, tmp_path, index, "semantics", "no such term")


def test_a_role_end_before_the_appointment_fails(tmp_path: Path) -> None:
    """The term must have been created by an *earlier* record."""
    b = cast()
    index = b.size
    b.end_role(7, "clerk", "2026-03-10")
    b.appoint(7, "钱伟", "clerk")
    b.step("2026-001", "suggest", 7, at="2026-03-20T02:00:00Z")  # the term is not ended
    assert_fails(b, tmp_path, index, "semantics", "no such term")


@pytest.mark.parametrize(("ends_on", "ok"), [("2026-03-04", False), ("2026-03-05", True)])
def test_a_term_cannot_end_before_it_starts(tmp_path: Path, ends_on: str, ok: bool) -> None:
    b = cast()
    b.appoint(7, "钱伟", "clerk", starts_on="2026-03-05")
    index = b.size
    b.end_role(7, "clerk", ends_on, starts_on="2026-03-05")
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "before it starts")


def test_a_role_end_that_would_empty_a_term_changes_nothing(tmp_path: Path) -> None:
    b = cast()
    b.appoint(7, "钱伟", "clerk", starts_on="2026-03-05")
    index = b.size
    b.end_role(7, "clerk", "2026-03-04", starts_on="2026-03-05")
    b.step("2026-001", "suggest", 7, at="2026-03-06T02:00:00Z")  # still clerk
    assert_fails(b, tmp_path, index, "semantics", "before it starts")


@pytest.mark.parametrize(("ends_on", "ok"), [("2026-07-01", False), ("2026-06-30", True),
                                             ("2026-06-29", True)])
def test_a_role_end_may_shorten_but_not_extend_a_term(tmp_path: Path, ends_on: str,
                                                      ok: bool) -> None:
    b = cast()
    b.appoint(7, "钱伟", "clerk", ends_on="2026-06-30")
    index = b.size
    b.end_role(7, "clerk", ends_on)
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "may only shorten")


def test_a_refused_extension_does_not_extend_the_term(tmp_path: Path) -> None:
    b = cast()
    b.appoint(7, "钱伟", "clerk", ends_on="2026-06-30")
    index = b.size
    b.end_role(7, "clerk", "2026-07-31")
    late = b.size
    b.step("2026-001", "suggest", 7, at="2026-07-15T02:00:00Z")
    report = verify(b, tmp_path)
    assert only(report) == {(index, "semantics"), (late, "semantics")}
    assert any("does not hold the role clerk on 2026-07-15" in f.reason
               for f in report.failures if f.index == late)


@pytest.mark.parametrize(("at", "ends_on", "ok"), [
    ("2026-03-01T16:30:00Z", "2026-03-01", True),   # 2 March in China: yesterday is fine
    ("2026-03-01T16:30:00Z", "2026-02-28", False),  # …the day before yesterday is not
    ("2026-03-01T15:30:00Z", "2026-02-28", True),   # 1 March in China: 28 Feb is yesterday
], ids=["yesterday", "two days back", "yesterday in China time"])
def test_no_retroactive_removal(tmp_path: Path, at: str, ends_on: str, ok: bool) -> None:
    b = cast()
    index = b.size
    b.end_role(1, "clerk", ends_on, at=at)
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "retroactive")


def test_a_retroactive_role_end_still_ends_the_term(tmp_path: Path) -> None:
    """Documented: only a role.end that would extend or empty the term, or names none, is
    ignored; a retroactive one is reported and still ends the term (so it hides nothing)."""
    b = cast()
    index = b.size
    b.end_role(1, "clerk", "2026-02-20")
    late = b.size
    b.step("2026-001", "suggest", 1)
    report = verify(b, tmp_path)
    assert only(report) == {(index, "semantics"), (late, "semantics")}


@pytest.mark.parametrize(("reason", "ok"), [("", False), (" \n\t\u3000", False),
                                            ("辞职", True)], ids=["empty", "blank", "given"])
def test_a_role_end_needs_a_reason(tmp_path: Path, reason: str, ok: bool) -> None:
    b = cast()
    index = b.size
    b.end_role(1, "clerk", "2026-03-10", reason=reason)
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "needs a reason")


@pytest.mark.parametrize(("override", "kind", "text"), [
    ({"role": "mayor"}, "format", "unknown role"),
    ({"scope": "county"}, "format", "unknown scope"),
    ({"scope": "township"}, "semantics", "held in scope village"),
    ({"role": "assembly"}, "semantics", "assembly"),
    ({"starts_on": "2026-1-01"}, "format", "starts_on is not a date"),
    ({"ends_on": "2026-02-30"}, "format", "ends_on is not a date"),
    ({"at": "2026-03-02 01:00:00"}, "format", "is not a UTC time"),
    ({"person": 0}, "format", "not a positive id"),
    ({}, None, ""),
], ids=["role", "scope", "scope mismatch", "assembly", "starts_on", "ends_on", "at", "person",
        "valid"])
def test_role_end_syntax_and_scope(tmp_path: Path, override: dict[str, Any], kind: str | None,
                                   text: str) -> None:
    b = cast()
    index = b.size
    args = {"person": 1, "role": "clerk", "ends_on": "2026-03-10", "scope": "village",
            **override}
    b.end_role(args.pop("person"), args.pop("role"), args.pop("ends_on"), **args)
    if kind is None:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, kind, text)


def test_a_township_role_end_names_its_scope(tmp_path: Path) -> None:
    b = cast()
    b.end_role(4, "township_reviewer", "2026-03-10", scope="township")
    index = b.size
    b.end_role(6, "township_admin", "2026-03-10", scope="village")
    assert_fails(b, tmp_path, index, "semantics", "held in scope township, not village")


# ---------------------------------------------------------------------- role.appoint after it


@pytest.mark.parametrize(("ends_on", "ok"), [(None, False), ("2026-12-31", False),
                                             ("2026-03-11", False), ("2026-03-10", True),
                                             ("2026-03-08", True)])
def test_a_role_appoint_may_not_reopen_an_ended_term(tmp_path: Path, ends_on: str | None,
                                                     ok: bool) -> None:
    b = cast()
    b.end_role(1, "clerk", "2026-03-10")
    index = b.size
    b.appoint(1, "王芳", "clerk", ends_on=ends_on)
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "may not re-open an ended term")


def test_a_refused_reopening_leaves_the_term_ended(tmp_path: Path) -> None:
    b = cast()
    b.end_role(1, "clerk", "2026-03-10")
    index = b.size
    b.appoint(1, "王芳", "clerk")
    late = b.size
    b.step("2026-001", "suggest", 1, at="2026-03-12T02:00:00Z")
    report = verify(b, tmp_path)
    assert only(report) == {(index, "semantics"), (late, "semantics")}


def test_a_new_term_with_another_start_date_is_a_new_appointment(tmp_path: Path) -> None:
    b = cast()
    b.end_role(1, "clerk", "2026-03-10")
    b.appoint(1, "王芳", "clerk", starts_on="2026-04-01")
    b.step("2026-001", "suggest", 1, at="2026-04-02T02:00:00Z")
    assert_ok(b, tmp_path)


def test_role_appoint_still_amends_a_term_no_role_end_touched(tmp_path: Path) -> None:
    """The version 1 behaviour stays: a role.appoint with the same start may change the end,
    later too, as long as no role.end has ended the term."""
    b = cast()
    b.appoint(1, "王芳", "clerk", ends_on="2026-03-10")
    b.appoint(1, "王芳", "clerk", ends_on=None)
    b.step("2026-001", "suggest", 1, at="2026-03-12T02:00:00Z")
    assert_ok(b, tmp_path)


# ====================================================================== register.import


@pytest.mark.parametrize(("person", "appoint"), [
    (1, None), (2, None), (6, None), (8, "committee_director")],
    ids=["clerk", "committee director", "township admin", "appointed committee director"])
def test_a_valid_register_import_verifies(tmp_path: Path, person: int,
                                          appoint: str | None) -> None:
    b = cast()
    if appoint is not None:
        b.appoint(person, "吴刚", appoint)
    b.register_import(person)
    b.register_import(person, rows=0, created=0, changed=0, unchanged=0, rejected=0)
    assert_ok(b, tmp_path)


@pytest.mark.parametrize(("person", "appoint"), [
    (5, None), (4, None), (9, "party_secretary"), (99, None), (8, "committee_member")],
    ids=["supervisor", "township reviewer", "party secretary only", "nobody",
         "committee member"])
def test_a_register_import_needs_an_importing_role(tmp_path: Path, person: int,
                                                   appoint: str | None) -> None:
    """The app's rule (administration.register_keeper_refusal): a committee member, whom the
    app never lets import, made the verifier accept the record until issue 17."""
    b = cast()
    if appoint is not None:
        b.appoint(person, "郑洁", appoint)
    index = b.size
    b.register_import(person)
    assert_fails(b, tmp_path, index, "semantics",
                 "admin.register_keeper: person")
    assert_fails(b, tmp_path, index, "semantics", "an import needs one of")


@pytest.mark.parametrize(("at", "ok"), [("2026-03-01T15:59:59Z", True),
                                        ("2026-03-01T16:00:00Z", False)])
def test_the_importing_role_is_held_on_the_china_date(tmp_path: Path, at: str,
                                                      ok: bool) -> None:
    b = cast()
    b.appoint(7, "钱伟", "clerk", ends_on="2026-03-01")
    index = b.size
    b.register_import(7, at=at)
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "on 2026-03-02 (China time)")


@pytest.mark.parametrize(("at", "ok"), [("2026-03-10T02:00:00Z", True),
                                        ("2026-03-11T02:00:00Z", False)])
def test_a_clerk_whose_term_was_ended_cannot_import(tmp_path: Path, at: str, ok: bool) -> None:
    b = cast()
    b.end_role(1, "clerk", "2026-03-10")
    index = b.size
    b.register_import(1, at=at)
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "semantics", "an import needs one of")


@pytest.mark.parametrize(("sha", "ok"), [
    (SHA.upper(), False), (SHA[:-1], False), (SHA + "0", False), ("g" * 64, False),
    (" " + SHA[1:], False), (SHA, True)],
    ids=["uppercase", "63 digits", "65 digits", "not hex", "space", "valid"])
def test_file_sha256_is_64_lowercase_hex(tmp_path: Path, sha: str, ok: bool) -> None:
    b = cast()
    index = b.size
    b.register_import(file_sha256=sha)
    if ok:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, "format", "file_sha256")


@pytest.mark.parametrize(("counts", "kind", "text"), [
    ({"rows": 10, "created": 5, "changed": 2, "unchanged": 1, "rejected": 1}, "semantics",
     "is 9, not rows (10)"),
    ({"rows": 10, "created": 5, "changed": 2, "unchanged": 1, "rejected": 3}, "semantics",
     "is 11, not rows (10)"),
    ({"rows": 10, "created": 11, "changed": 0, "unchanged": 0, "rejected": -1}, "format",
     "rejected must not be negative"),
    ({"rows": -1, "created": 0, "changed": 0, "unchanged": 0, "rejected": -1}, "format",
     "rows, rejected must not be negative"),
    ({"rows": 10, "created": 5, "changed": 2, "unchanged": 2, "rejected": 1}, None, ""),
], ids=["too few", "too many", "negative count", "negative rows", "valid"])
def test_import_counts_add_up(tmp_path: Path, counts: dict[str, int], kind: str | None,
                              text: str) -> None:
    b = cast()
    index = b.size
    b.register_import(**counts)
    if kind is None:
        assert_ok(b, tmp_path)
    else:
        assert_fails(b, tmp_path, index, kind, text)


@pytest.mark.parametrize(("override", "text"), [
    ({"person": 0}, "not a positive id"),
    ({"at": "2026-03-02T01:00Z"}, "is not a UTC time")])
def test_register_import_syntax(tmp_path: Path, override: dict[str, Any], text: str) -> None:
    b = cast()
    index = b.size
    b.register_import(**override)
    assert_fails(b, tmp_path, index, "format", text)


@pytest.mark.parametrize(("start", "end", "overlaps"), [
    ("2026-06-01", None, True), ("2025-01-01", "2026-01-01", True),
    ("2025-01-01", "2025-12-31", False), ("2031-01-01", None, False)])
def test_overlapping_terms_in_one_role_fail(start: str, end: str | None, overlaps: bool,
                                            tmp_path: Path) -> None:
    b = LogBuilder()
    b.init()
    b.appoint(30, "王五", "representative", starts_on="2026-01-01", ends_on="2030-12-31")
    index = b.size
    b.appoint(30, "王五", "representative", starts_on=start, ends_on=end)
    report = verify(b, tmp_path)
    failed = [f for f in report.failures if f.index == index]
    assert bool(failed) is overlaps
    if overlaps:
        assert "may not overlap" in failed[0].reason
