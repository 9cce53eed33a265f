"""The ledger inside the database: one record per change in the same transaction, nothing for a
refusal, proofs from stored nodes, exports that the offline verifier accepts and tampering it
catches."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Matter, Person, Village
from sunvote.services import exports, ledger, matters, suggestions


def village(code: str = "sunshine") -> Village:
    return db.session.execute(select(Village).where(Village.code == code)).scalar_one()


def pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def size(code: str = "sunshine") -> int:
    head = ledger.head(village(code).id)
    return head.size if head else 0


def records(code: str = "sunshine") -> list[LedgerRecord]:
    return list(db.session.execute(select(LedgerRecord).where(
        LedgerRecord.village_id == village(code).id).order_by(LedgerRecord.seq)).scalars())


def test_the_demo_log_starts_with_log_init_and_holds_every_change(demo: Flask) -> None:
    with demo.app_context():
        types = [r.type for r in records()]
        assert types[0] == "log.init"
        assert types.count("matter.step") == 7  # 4 + 2 + 1 steps in the demo
        assert "role.appoint" in types and "suggestion.add" in types
        assert [r.seq for r in records()] == list(range(size()))
        # the other village's log is separate and has no matter steps of 阳光村
        assert "matter.step" not in [r.type for r in records("breeze")]


def test_each_step_appends_one_signed_record_with_what_happened(demo: Flask) -> None:
    with demo.app_context():
        before = size()
        m = db.session.execute(select(Matter).where(Matter.number.like("%-003"))).scalar_one()
        matters.act(m.id, Action.PROPOSE, pid("王建国"), {
            "category": 2, "title": "礼堂修缮", "summary": "屋顶翻修", "amount_fen": 120000})
        assert size() == before + 1
        record = parse_record(records()[-1].data)
        assert record.type == "matter.step" and record.seq == before
        assert record.body["action"] == "propose" and record.body["role"] == "party_secretary"
        assert record.body["fields"]["amount_fen"] == 120000
        assert record.body["from"] == "suggested" and record.body["to"] == "proposed"


def test_a_refused_action_appends_nothing(demo: Flask) -> None:
    with demo.app_context():
        before = size()
        m = db.session.execute(select(Matter).where(Matter.number.like("%-003"))).scalar_one()
        with pytest.raises(DomainError):
            matters.act(m.id, Action.FILE, pid("孙伟"), {"filing_no": "x"})
        with pytest.raises(DomainError):
            suggestions.record_suggestion(village().id, pid("李秀英"), "paper", "x", None, False)
        assert size() == before


def test_public_suggesters_contacts_never_enter_the_log(demo: Flask) -> None:
    with demo.app_context():
        suggestions.submit_public_suggestion(village().id, "建议修路", "老张", "13900001111",
                                             False, False, "10.0.0.1")
        raw = records()[-1].data.decode()
        assert "13900001111" not in raw and "老张" not in raw and "10.0.0.1" not in raw
        suggestions.submit_public_suggestion(village().id, "建议修桥", "老李", None, False,
                                             True, "10.0.0.2")
        assert "老李" in records()[-1].data.decode()  # they chose to show their name


def test_proofs_from_stored_nodes_verify_for_every_record(demo: Flask) -> None:
    with demo.app_context():
        v = village()
        head = ledger.head(v.id)
        assert head is not None
        for r in records():
            proof = ledger.inclusion_proof(v.id, r.seq, head.size)
            verify_inclusion(leaf_hash(r.data), r.seq, head.size, proof, head.root)
        for old in range(1, head.size):
            proof = ledger.consistency_proof(v.id, old, head.size)
            verify_consistency(old, head.size, proof, ledger.root_at(v.id, old), head.root)


def test_the_demo_export_verifies_offline(demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        count = exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures and report.exit_code == 0
    assert report.records == count


def test_one_flipped_byte_in_the_export_names_the_broken_record(demo: Flask,
                                                              tmp_path: Path) -> None:
    with demo.app_context():
        exports.export_directory(village(), tmp_path)
    lines = (tmp_path / "records").read_bytes().split(b"\n")
    target = 17
    raw = bytearray(base64.b64decode(lines[target]))
    raw[60] ^= 0x01  # inside the JSON text
    lines[target] = base64.b64encode(bytes(raw))
    (tmp_path / "records").write_bytes(b"\n".join(lines))
    report = verify_export(tmp_path)
    assert report.exit_code != 0
    assert target in {f.index for f in report.failures}


def test_ledger_appends_refuse_to_run_outside_a_use_case(demo: Flask) -> None:
    with demo.app_context(), pytest.raises(RuntimeError):
        ledger.append(village(), "suggestion.add", {})


def test_record_counts_match_the_head_on_both_villages(demo: Flask) -> None:
    with demo.app_context():
        for code in ("sunshine", "breeze"):
            count = db.session.execute(select(func.count()).select_from(LedgerRecord).where(
                LedgerRecord.village_id == village(code).id)).scalar_one()
            assert count == size(code)


def test_a_rotated_key_takes_over_and_the_export_still_verifies(demo: Flask,
                                                               tmp_path: Path) -> None:
    from sunvote.services.villages import revoke_log_key, rotate_log_key

    with demo.app_context():
        v = village()
        old = ledger.active_key(v.id).vkey
        new = rotate_log_key(v.id, "换届后更换密钥").vkey
        suggestions.record_suggestion(v.id, pid("张敏"), "paper", "轮换后的建议", None, False)
        rotation = parse_record(records()[-2].data)
        assert rotation.type == "key.rotate"
        assert [s.name for s in rotation.note.signatures] == [v.origin, v.origin]
        with pytest.raises(DomainError):
            revoke_log_key(v.id, new, "正在使用")  # the active key cannot be revoked
        revoke_log_key(v.id, old, "旧电脑丢失")
        with pytest.raises(DomainError):
            revoke_log_key(v.id, old, "again")
        exports.export_directory(v, tmp_path)
    assert (tmp_path / "log.vkey").read_text().split() == [old, new]
    report = verify_export(tmp_path, log_vkeys_override=[old])
    assert report.exit_code == 0, report.failures


def test_ledger_commands_export_verify_rotate_and_witness(demo: Flask, tmp_path: Path) -> None:
    from sunvote.cli import cli

    runner = demo.test_cli_runner()
    assert runner.invoke(args=["ledger", "witness", "sunshine"]).exit_code == 0
    out = runner.invoke(args=["ledger", "export", "sunshine", str(tmp_path / "e")])
    assert out.exit_code == 0 and "exported" in out.output
    verify = runner.invoke(cli, ["ledger", "verify", str(tmp_path / "e"),
                                 "--require-cosignature"])
    assert verify.exit_code == 0, verify.output
    assert "verified" in verify.output and "cosigned" in verify.output
    rotated = runner.invoke(args=["ledger", "rotate-key", "sunshine", "--reason", "test"])
    assert rotated.exit_code == 0 and "new log key" in rotated.output
    assert runner.invoke(args=["ledger", "export", "nowhere", str(tmp_path)]).exit_code != 0
