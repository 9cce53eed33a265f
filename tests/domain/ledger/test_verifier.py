"""Tests for the offline ledger verifier: sunvote.domain.ledger.verifier and sunvote.verify."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.note import parse_note_unverified, sign_note
from sunvote.domain.ledger.verifier import (
    EXIT_CODES,
    Failure,
    Report,
    VerificationFailed,
    verify_export,
)
from sunvote.verify import main
from tests.domain.ledger.logbuilder import (
    COSIGN_TIME,
    ORIGIN,
    WITNESS_NAME,
    LogBuilder,
    big_log,
    decode,
    encode,
    people,
    read_lines,
    seeded_cosigner,
    seeded_signer,
    standard_log,
    write_lines,
)

REPO = Path(__file__).resolve().parents[3]
WITNESS = seeded_cosigner()
FLIPS = settings(database=None, deadline=None, max_examples=200,
                 suppress_health_check=[HealthCheck.too_slow])


def kinds_at(report: Report, index: int | None) -> set[str]:
    """The kinds of the failures reported for record ``index`` (None: the export)."""
    return {f.kind for f in report.failures if f.index == index}


def first_index(report: Report) -> int | None:
    """The smallest record index with a failure."""
    return min((f.index for f in report.failures if f.index is not None), default=None)


def only(report: Report) -> set[tuple[int | None, str]]:
    """Every (index, kind) pair reported."""
    return {(f.index, f.kind) for f in report.failures}


@pytest.fixture(scope="module")
def std() -> LogBuilder:
    return standard_log()


@pytest.fixture
def export(std: LogBuilder, tmp_path: Path) -> Path:
    """The standard log, cosigned by the township witness."""
    return std.export(tmp_path / "export", cosigners=[WITNESS])


# ====================================================================== valid exports


def test_valid_export_verifies_with_the_exports_own_key(std: LogBuilder, export: Path) -> None:
    report = verify_export(export)
    assert report.failures == ()
    assert report.ok and report.exit_code == 0
    assert report.records == std.size == report.checkpoint_size
    assert report.root == std.root == report.checkpoint_root
    assert report.trusted_key_source == "export"
    assert report.cosignatures == ((WITNESS_NAME, COSIGN_TIME),)
    assert report.log_keys == tuple(std.log_vkeys)
    assert report.raise_for_failures() is report


@pytest.mark.parametrize("which", [0, -1], ids=["first key", "current key"])
def test_valid_export_verifies_with_a_given_key(std: LogBuilder, export: Path,
                                                which: int) -> None:
    """The key on the village's poster may be the first one (trust follows the validly signed
    rotation) or the current one (it signs the checkpoint that commits to everything)."""
    report = verify_export(export, log_vkeys_override=[std.log_vkeys[which]])
    assert report.failures == ()
    assert report.trusted_key_source == "given"


def test_a_given_key_that_is_not_the_logs_fails(export: Path) -> None:
    stranger = seeded_signer(ORIGIN, "stranger").verifier().vkey
    report = verify_export(export, log_vkeys_override=[stranger])
    assert only(report) == {(None, "signature")}
    assert report.exit_code == EXIT_CODES["signature"]
    with pytest.raises(VerificationFailed) as caught:
        report.raise_for_failures()
    assert caught.value.report is report


def test_a_whole_log_forged_under_another_key_fails_against_the_given_key(
        std: LogBuilder, tmp_path: Path) -> None:
    forged = standard_log(key_label="forger")
    path = forged.export(tmp_path / "forged")
    assert verify_export(path).ok  # consistent in itself…
    report = verify_export(path, log_vkeys_override=[std.log_vkeys[-1]])
    assert report.exit_code != 0  # …but not the village's log
    assert (None, "signature") in only(report)


def test_progress_is_reported(export: Path) -> None:
    calls: list[tuple[int, int, int]] = []
    verify_export(export, progress=lambda *a: calls.append(a))
    total = (export / "records").stat().st_size
    assert calls[-1] == (25, total, total)


# ====================================================================== tampering: bits


@pytest.fixture(scope="module")
def flip_dir(std: LogBuilder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return std.export(tmp_path_factory.mktemp("flips") / "export", cosigners=[WITNESS])


@FLIPS
@given(data=st.data())
def test_any_bit_flip_in_any_record_fails(std: LogBuilder, flip_dir: Path,
                                          data: st.DataObject) -> None:
    index = data.draw(st.integers(0, std.size - 1), label="record")
    raw = bytearray(std.records[index])
    bit = data.draw(st.integers(0, len(raw) * 8 - 1), label="bit")
    raw[bit // 8] ^= 1 << (bit % 8)
    lines = [encode(r) for r in std.records]
    lines[index] = encode(bytes(raw))
    write_lines(flip_dir, lines)
    report = verify_export(flip_dir)
    assert report.exit_code != 0
    assert index in {f.index for f in report.failures}  # caught at the record itself


@FLIPS
@given(data=st.data())
def test_any_byte_change_in_a_base64_line_fails(std: LogBuilder, flip_dir: Path,
                                                data: st.DataObject) -> None:
    lines = [encode(r) for r in std.records]
    index = data.draw(st.integers(0, std.size - 1), label="record")
    line = bytearray(lines[index])
    position = data.draw(st.integers(0, len(line) - 1), label="position")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != line[position]), label="byte")
    line[position] = new
    lines[index] = bytes(line)
    write_lines(flip_dir, lines)
    assert verify_export(flip_dir).exit_code != 0


@FLIPS
@given(data=st.data(), cosigned=st.booleans())
def test_any_bit_flip_in_the_checkpoint_fails(std: LogBuilder, flip_dir: Path,
                                              data: st.DataObject, cosigned: bool) -> None:
    """Without a cosignature any flip breaks the log's signature; with one, the verifier must
    be asked to require it (an unknown-key cosignature line is ignored, per signed-note)."""
    write_lines(flip_dir, [encode(r) for r in std.records])
    note = bytearray(std.checkpoint([WITNESS] if cosigned else []))
    bit = data.draw(st.integers(0, len(note) * 8 - 1), label="bit")
    note[bit // 8] ^= 1 << (bit % 8)
    (flip_dir / "checkpoint").write_bytes(bytes(note))
    assert verify_export(flip_dir, require_cosignature=cosigned).exit_code != 0


def test_non_canonical_base64_is_one_format_failure_at_its_line(std: LogBuilder,
                                                                 export: Path) -> None:
    """Padding bits set: a lenient decoder reads the same record, the strict verifier refuses
    the line but keeps the tree right, so nothing else fails."""
    lines = read_lines(export)
    index = next(i for i, line in enumerate(lines) if line.endswith(b"=") and i > 0)
    line = lines[index]
    last = len(line.rstrip(b"=")) - 1
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    tampered = line[:last] + bytes([alphabet[alphabet.index(line[last]) ^ 1]]) + line[last + 1:]
    assert base64.b64decode(tampered) == base64.b64decode(line)
    lines[index] = tampered
    write_lines(export, lines)
    report = verify_export(export)
    assert only(report) == {(index, "format")}
    assert report.failures[0].type is not None


def test_a_cut_off_last_line_is_a_format_failure(std: LogBuilder, export: Path) -> None:
    data = (export / "records").read_bytes()
    (export / "records").write_bytes(data[:-1])  # the final newline is gone
    report = verify_export(export)
    assert only(report) == {(std.size - 1, "format")}


# ====================================================================== tampering: records


def test_truncation_fails_at_the_checkpoint(std: LogBuilder, export: Path) -> None:
    write_lines(export, read_lines(export)[:-3])
    report = verify_export(export)
    assert only(report) == {(None, "chain")}
    assert report.exit_code == EXIT_CODES["chain"]
    assert "22 records" in report.failures[0].reason


def test_duplication_fails_at_the_copy(std: LogBuilder, export: Path) -> None:
    k = std.marks["propose"]  # type: ignore[attr-defined]
    lines = read_lines(export)
    write_lines(export, [*lines[:k + 1], lines[k], *lines[k + 1:]])
    report = verify_export(export)
    assert first_index(report) == k + 1
    assert "chain" in kinds_at(report, k + 1)
    assert report.exit_code == EXIT_CODES["chain"]


def test_reorder_fails_at_the_first_swapped_record(std: LogBuilder, export: Path) -> None:
    k = std.marks["propose"]  # type: ignore[attr-defined]
    lines = read_lines(export)
    lines[k], lines[k + 1] = lines[k + 1], lines[k]
    write_lines(export, lines)
    report = verify_export(export)
    assert first_index(report) == k
    assert "chain" in kinds_at(report, k) and "chain" in kinds_at(report, k + 1)


def test_splice_from_a_log_with_another_history_fails_at_the_spliced_record(
        std: LogBuilder, export: Path) -> None:
    """Same village, same key, same step, but an earlier record differs: the spliced record is
    validly signed, and only its ``prev`` betrays the other history."""
    other = LogBuilder()
    other.init()
    people(other)
    other.suggestion(1, text="另一条建议")  # the histories part here
    other.suggestion(2)
    other.suggestion(3)
    j = std.marks["suggest"]  # type: ignore[attr-defined]
    assert other.size == j
    other.step("2026-001", "suggest", 1, suggestions=[1, 2])
    foreign = other.records[j]
    assert foreign != std.records[j]
    assert parse_note_unverified(foreign).text.split('"prev"')[0] == (
        parse_note_unverified(std.records[j]).text.split('"prev"')[0])  # same body
    lines = read_lines(export)
    lines[j] = encode(foreign)
    write_lines(export, lines)
    report = verify_export(export)
    assert first_index(report) == j
    assert kinds_at(report, j) == {"chain"}  # the signature is fine: only the history differs


def test_a_record_resigned_by_an_attackers_key_fails_at_that_record(std: LogBuilder,
                                                                      export: Path) -> None:
    k = std.marks["propose"]  # type: ignore[attr-defined]
    note = parse_note_unverified(std.records[k])
    text = note.text.replace("12000000", "99000000")
    attacker = seeded_signer(ORIGIN, "attacker")  # same name as the log key, other key
    lines = read_lines(export)
    lines[k] = encode(sign_note(text, [attacker]))
    write_lines(export, lines)
    report = verify_export(export)
    assert first_index(report) == k
    assert kinds_at(report, k) == {"signature"}
    assert report.exit_code == EXIT_CODES["signature"]


@pytest.mark.parametrize("signed_by", ["current and revoked", "revoked only"])
def test_a_record_signed_by_a_revoked_key_fails(tmp_path: Path, signed_by: str) -> None:
    b = standard_log()
    old = b.old_signer  # type: ignore[attr-defined]
    index = b.size
    b.suggestion(6, signers=[b.signer, old] if signed_by == "current and revoked" else [old])
    report = verify_export(b.export(tmp_path / "e"))
    assert only(report) == {(index, "signature")}
    assert any("revoked" in f.reason for f in report.failures)


def test_a_key_rotation_without_the_new_keys_signature_fails(tmp_path: Path) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    index = b.size
    first = b.signer.verifier().vkey
    b.rotate("log-2", cosign=False)
    b.suggestion(1)
    path = b.export(tmp_path / "e")
    report = verify_export(path)
    assert only(report) == {(index, "signature")}
    assert "new key" in report.failures[0].reason
    # Trust cannot flow from the first key through a rotation the new key did not sign.
    given = verify_export(path, log_vkeys_override=[first])
    assert only(given) == {(index, "signature"), (None, "signature")}


def test_a_record_signed_by_the_old_key_after_a_rotation_fails(tmp_path: Path) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    old = b.rotate("log-2")
    index = b.size
    b.suggestion(1, signers=[old])
    report = verify_export(b.export(tmp_path / "e"))
    assert only(report) == {(index, "signature")}


def test_a_wrong_seq_or_log_is_a_chain_failure(tmp_path: Path) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    index = b.size
    b.append("suggestion.add", {"id": 1, "channel": "qr", "text": "修路", "name": None,
                                "party_member": False, "recorded_by": None,
                                "at": "2026-03-02T05:00:00Z"}, seq=99, log="sunvote.x/y")
    report = verify_export(b.export(tmp_path / "e"))
    assert only(report) == {(index, "chain")}
    assert len(report.failures) == 2


# ====================================================================== semantics


def _semantic_failure(b: LogBuilder, tmp_path: Path, index: int) -> Report:
    report = verify_export(b.export(tmp_path / "e"))
    assert only(report) == {(index, "semantics")}, report.failures
    assert report.exit_code == EXIT_CODES["semantics"]
    assert report.failures[0].type == "matter.step" or index == 0
    return report


def test_a_step_out_of_order_is_a_semantic_failure(tmp_path: Path) -> None:
    b = standard_log()
    index = b.size
    b.step("2026-003", "propose", 2, check=False)  # proposing a matter never suggested
    report = _semantic_failure(b, tmp_path, index)
    assert "procedure.step_order" in report.failures[0].reason


def test_a_step_by_someone_without_the_role_is_a_semantic_failure(tmp_path: Path) -> None:
    b = standard_log()
    b.step("2026-003", "suggest", 1)
    index = b.size
    b.step("2026-003", "propose", 5, check=False, role="party_secretary")  # a supervisor
    report = _semantic_failure(b, tmp_path, index)
    assert any("does not hold the role party_secretary" in f.reason for f in report.failures)
    assert any("procedure.role" in f.reason for f in report.failures)


@pytest.mark.parametrize(("at", "held"), [("2026-02-28T15:30:00Z", True),
                                          ("2026-02-28T16:30:00Z", False)])
def test_a_term_ends_at_midnight_china_time(tmp_path: Path, at: str, held: bool) -> None:
    """The term ends on 2026-02-28; 16:30 UTC that day is already 1 March in China."""
    b = LogBuilder(start=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    b.init()
    people(b)
    b.appoint(7, "钱伟", "clerk", ends_on="2026-02-28")
    index = b.size
    b.step("2026-001", "suggest", 7, at=at)
    if held:
        assert verify_export(b.export(tmp_path / "e")).ok
    else:
        report = _semantic_failure(b, tmp_path, index)
        assert "2026-03-01" in report.failures[0].reason


def test_a_wrong_to_state_is_a_semantic_failure(tmp_path: Path) -> None:
    b = standard_log()
    b.step("2026-003", "suggest", 1)
    index = b.size
    b.step("2026-003", "propose", 2, to="discussed")
    b.matters["2026-003"] = (b.matters["2026-003"][0].__class__("proposed"), 2)
    b.step("2026-003", "discuss", 1)  # follows the engine's verdict, not the bad claim
    report = _semantic_failure(b, tmp_path, index)
    assert "to is discussed" in report.failures[0].reason


def test_a_step_seq_gap_is_a_semantic_failure(tmp_path: Path) -> None:
    b = standard_log()
    b.step("2026-003", "suggest", 1)
    index = b.size
    b.step("2026-003", "propose", 2, step_seq=3)
    b.step("2026-003", "discuss", 1)  # 4 after 3: one failure, not a cascade
    report = _semantic_failure(b, tmp_path, index)
    assert "step_seq is 3" in report.failures[0].reason


def test_a_suggestion_merged_twice_is_a_semantic_failure(tmp_path: Path) -> None:
    b = standard_log()
    index = b.size
    b.step("2026-003", "suggest", 1, suggestions=[1])  # already in 2026-001
    report = _semantic_failure(b, tmp_path, index)
    assert "already merged" in report.failures[0].reason


def test_merging_an_unknown_suggestion_is_a_semantic_failure(tmp_path: Path) -> None:
    b = standard_log()
    index = b.size
    b.step("2026-003", "suggest", 1, suggestions=[404])
    _semantic_failure(b, tmp_path, index)


def test_propose_and_discuss_without_the_setting_is_a_semantic_failure(tmp_path: Path) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    b.suggestion(1)
    b.step("2026-001", "suggest", 1, suggestions=[1])
    index = b.size
    b.step("2026-001", "propose_and_discuss", 2, check=False)
    report = _semantic_failure(b, tmp_path, index)
    assert "merge_propose_discuss is off" in report.failures[0].reason


@pytest.mark.parametrize("case", ["origin", "scope", "setting value", "setting by clerk"])
def test_other_semantic_rules(tmp_path: Path, case: str) -> None:
    b = LogBuilder()
    if case == "origin":
        b.init(village="elsewhere")
        index = 0
    else:
        b.init()
        people(b)
        index = b.size
        if case == "scope":
            b.appoint(8, "吴刚", "clerk", scope="township")
        elif case == "setting value":
            b.setting("quorum", "1/2")  # looser than the law
        else:
            b.setting("public_notice_days", "7", person=1)
    report = verify_export(b.export(tmp_path / "e"))
    assert only(report) == {(index, "semantics")}


def test_a_malformed_record_is_a_format_failure_and_the_rest_still_checks(
        std: LogBuilder, export: Path) -> None:
    k = std.marks["setting"]  # type: ignore[attr-defined]
    lines = read_lines(export)
    lines[k] = encode(b"not a note at all\n")
    write_lines(export, lines)
    report = verify_export(export)
    assert kinds_at(report, k) == {"format"}
    assert kinds_at(report, k + 1) == {"chain"}  # prev no longer matches the tree
    # Without the setting the later 一肩挑 merge is refused: semantics still runs.
    assert "semantics" in kinds_at(report, std.marks["merge"])  # type: ignore[attr-defined]
    assert report.exit_code == EXIT_CODES["format"]


# ====================================================================== witnesses


def test_require_cosignature_without_one_fails_with_exit_6(std: LogBuilder,
                                                           tmp_path: Path) -> None:
    path = std.export(tmp_path / "e")
    assert verify_export(path).ok
    report = verify_export(path, require_cosignature=True)
    assert only(report) == {(None, "witness")}
    assert report.exit_code == 6
    assert report.cosignatures == ()


@pytest.mark.parametrize("label", ["impostor", "other-township"])
def test_a_cosignature_by_an_unknown_or_wrong_key_is_not_counted(std: LogBuilder, tmp_path: Path,
                                                                 label: str) -> None:
    name = WITNESS_NAME if label == "impostor" else "sunvote.other-town/witness"
    stranger = seeded_cosigner(name, label)
    path = std.export(tmp_path / "e", cosigners=[stranger],
                      witness_vkeys=[WITNESS.verifier().vkey])
    report = verify_export(path)
    assert report.ok and report.cosignatures == ()
    assert verify_export(path, require_cosignature=True).exit_code == 6


def test_a_witness_threshold_counts_distinct_known_witnesses(std: LogBuilder,
                                                             tmp_path: Path) -> None:
    district = seeded_cosigner("sunvote.district/witness", "district")
    keys = [WITNESS.verifier().vkey, district.verifier().vkey]
    one = std.export(tmp_path / "one", cosigners=[WITNESS], witness_vkeys=keys)
    two = std.export(tmp_path / "two", cosigners=[WITNESS, district], witness_vkeys=keys)
    assert verify_export(one, require_cosignature=True).ok
    short = verify_export(one, witness_threshold=2)
    assert only(short) == {(None, "witness")} and short.exit_code == 6
    # The same key given twice is one witness, not two.
    assert verify_export(one, witness_threshold=2,
                         witness_vkeys_override=[keys[0], keys[0]]).exit_code == 6
    assert verify_export(two, witness_threshold=2).ok
    assert main([str(one), "--witness-threshold", "2", "--quiet"]) == 6
    assert main([str(two), "--witness-threshold", "2", "--quiet"]) == 0


def test_a_given_witness_key_replaces_the_exports(std: LogBuilder, export: Path) -> None:
    other = seeded_cosigner(WITNESS_NAME, "another").verifier().vkey
    report = verify_export(export, witness_vkeys_override=[other])
    assert report.cosignatures == () and report.trusted_witness_source == "given"


def test_a_forged_cosignature_from_the_known_witness_fails(std: LogBuilder,
                                                           export: Path) -> None:
    note = std.checkpoint([WITNESS])
    last = note.rstrip(b"\n").rsplit(b" ", 1)
    payload = bytearray(base64.b64decode(last[1]))
    payload[-1] ^= 1
    (export / "checkpoint").write_bytes(last[0] + b" " + base64.b64encode(bytes(payload)) + b"\n")
    report = verify_export(export)
    assert only(report) == {(None, "witness")}
    assert report.cosignatures == ()


# ====================================================================== jobs


def _tampered(std: LogBuilder, path: Path) -> Path:
    std.export(path, cosigners=[WITNESS])
    lines = read_lines(path)
    raw = bytearray(decode(lines[3]))
    raw[40] ^= 4
    lines[3] = encode(bytes(raw))
    lines[10], lines[11] = lines[11], lines[10]
    lines[15] = lines[15][:-2] + b"!!"
    lines[20] = encode(sign_note(parse_note_unverified(decode(lines[20])).text,
                                 [seeded_signer(ORIGIN, "attacker")]))
    write_lines(path, lines)
    return path


def test_jobs_2_gives_the_same_report_as_jobs_1(std: LogBuilder, export: Path,
                                                tmp_path: Path) -> None:
    tampered = _tampered(std, tmp_path / "tampered")
    for path in (export, tampered):
        for given_key in (None, [std.log_vkeys[-1]]):
            one = verify_export(path, jobs=1, log_vkeys_override=given_key)
            two = verify_export(path, jobs=2, chunk_size=4, log_vkeys_override=given_key)
            assert two == one
    assert verify_export(tampered).exit_code == EXIT_CODES["format"]


# ====================================================================== command line


def test_cli_success_output(std: LogBuilder, export: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(export)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"verified: {std.size} records, root ")
    assert out[0].endswith(f"checkpoint cosigned by {WITNESS_NAME} at 2026-06-01T00:00:00Z")
    assert out[1].startswith("trusted log key: taken from the export's own log.vkey")
    assert out[2].startswith("验证通过：")
    assert main([str(export), "--key", std.log_vkeys[-1], "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_cli_failure_output_and_json(std: LogBuilder, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    b = standard_log()
    index = b.size
    b.step("2026-003", "propose", 2, check=False)
    path = b.export(tmp_path / "e")
    assert main([str(path)]) == 5
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"record {index} (matter.step): semantics: ")
    assert out[1] == (f"FAILED: 1 failure(s) in {b.size} records (semantics 1); exit code 5")
    assert out[-1].startswith("验证失败：")
    assert main([str(path), "--json", "--require-cosignature"]) == 5
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["exit_code"] == 5
    assert report["failures"][0] == {"index": index, "type": "matter.step", "kind": "semantics",
                                     "reason": report["failures"][0]["reason"]}
    assert report["failures"][1]["kind"] == "witness"
    assert report["counts"] == {"format": 0, "signature": 0, "chain": 0, "semantics": 1,
                                "witness": 1}


@pytest.mark.parametrize("argv", [["{missing}"], ["{export}", "--key", "not-a-key"],
                                  ["{export}", "--witness-key", "x+y+z"], ["--bogus"], [],
                                  ["{export}", "--jobs", "-1"]])
def test_cli_usage_errors_exit_1(export: Path, tmp_path: Path, argv: list[str],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(missing=tmp_path / "missing", export=export) for a in argv]
    assert main(args) == 1
    assert "error:" in capsys.readouterr().err


def test_cli_json_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["exit_code"] == 1


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *args, "-c", code] if code else [sys.executable, *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
                          check=False)


def test_the_command_runs_without_the_web_app_or_the_database(export: Path) -> None:
    wrapper = (
        "import json, runpy, sys\n"
        f"sys.argv = ['sunvote.verify', {str(export)!r}]\n"
        "code = None\n"
        "try:\n"
        "    runpy.run_module('sunvote.verify', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = ('flask', 'sqlalchemy', 'werkzeug', 'jinja2', 'alembic', 'babel')\n"
        "ours = ('sunvote.app', 'sunvote.models', 'sunvote.services', 'sunvote.web',\n"
        "        'sunvote.extensions', 'sunvote.cli', 'sunvote.commands', 'sunvote.config',\n"
        "        'sunvote.auth')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "             or m.startswith(ours))\n"
        "print(json.dumps({'code': code, 'bad': bad}))\n")
    result = _run(wrapper)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome == {"code": 0, "bad": []}
    plain = _run("", "-m", "sunvote.verify", str(export), "--require-cosignature")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("verified: ")


# ====================================================================== memory


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return big_log(50_000, ascii_text=True).export(tmp_path_factory.mktemp("big") / "export")


def test_memory_stays_flat_on_a_50000_record_log(big_export: Path) -> None:
    """Peak traced memory of the whole verification stays far below what holding the log
    would take (50,000 records are ~35 MB of bytes alone, several times that as objects)."""
    tracemalloc.start()
    try:
        report = verify_export(big_export, jobs=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.failures == () and report.records == 50_000
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_failure_lines() -> None:
    f = Failure(3, "matter.step", "semantics", "x")
    assert f.describe() == "record 3 (matter.step): semantics: x"
    assert Failure(None, None, "chain", "y").describe() == "export: chain: y"

