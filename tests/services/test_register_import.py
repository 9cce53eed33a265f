"""Importing a roster into the database: preview writes nothing, apply is one transaction with its
ledger records, and importing the same file again changes nothing (CSV UTF-8, CSV GBK, XLSX)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import DomainError, InvalidInput, NotPermitted
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Household, LedgerRecord, Person, RoleAssignment, Village
from sunvote.services import exports, ledger
from sunvote.services.register_files import read_table
from sunvote.services.register_import import apply_import, export_rows, preview_import
from tests.roster_files import csv_bytes, roster_rows, xlsx_bytes

FORMATS = {
    "csv-utf8": ("名册.csv", lambda rows: csv_bytes(rows, "utf-8-sig")),
    "csv-gbk": ("名册.csv", lambda rows: csv_bytes(rows, "gbk")),
    "xlsx": ("名册.xlsx", xlsx_bytes),
}


def pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def village(code: str = "sunshine") -> Village:
    return db.session.execute(select(Village).where(Village.code == code)).scalar_one()


def state() -> tuple[int, ...]:
    """Row counts of everything an import may touch."""
    return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (Household, Person, RoleAssignment, LedgerRecord))


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_preview_then_import_then_reimport_changes_nothing(demo: Flask, fmt: str) -> None:
    filename, encode = FORMATS[fmt]
    rows = roster_rows(60)
    data = encode(rows)
    with demo.app_context():
        v, clerk = village(), pid("张敏")
        before = state()
        preview = preview_import(v.id, clerk, filename, data)
        assert preview.counts["create"] == 60 and preview.counts["reject"] == 0
        assert state() == before  # a preview writes nothing
        applied = apply_import(v.id, clerk, filename, data)
        reps = sum(1 for r in rows if r["representative"] == "是")
        households = len({r["household"] for r in rows})
        after = state()
        # households, people, representative terms, and one ledger record per term + the import
        # + the demo's convened meeting's notice to the new representatives (one record)
        assert after[:3] == (before[0] + households, before[1] + 60, before[2] + reps)
        assert after[3] == before[3] + reps + 1 + 1
        assert applied.counts["create"] == 60
        again = preview_import(v.id, clerk, filename, data)
        assert again.counts["unchanged"] == 60 and not again.has_changes
        apply_import(v.id, clerk, filename, data)
        assert state()[:3] == after[:3]  # only the register.import record is added
        women = db.session.execute(select(func.count()).select_from(Person).where(
            Person.village_id == v.id, Person.female.is_(True))).scalar_one()
        assert women >= sum(1 for r in rows if r["sex"] == "女")


def test_a_fixed_row_imports_on_the_second_run_and_the_rest_stay_unchanged(demo: Flask) -> None:
    rows = roster_rows(30)
    broken = [dict(r) for r in rows]
    broken[4]["id_number"] = broken[4]["id_number"][:-1] + ("0" if broken[4]["id_number"][-1]
                                                            != "0" else "1")
    with demo.app_context():
        v, clerk = village(), pid("张敏")
        first = apply_import(v.id, clerk, "a.xlsx", xlsx_bytes(broken))
        assert first.counts["reject"] >= 1
        rejected = [r for r in first.rows if r.status == "reject"]
        assert rejected[0].line == 6  # row 5 of the data, under the header
        assert rejected[0].problems[0].rule == "person.id_number"
        second = preview_import(v.id, clerk, "a.xlsx", xlsx_bytes(rows))
        assert second.counts["reject"] == 0
        assert second.counts["create"] == first.counts["reject"]
        assert second.counts["unchanged"] == 30 - first.counts["reject"]


def test_a_changed_phone_number_is_a_change_and_nothing_else_moves(demo: Flask) -> None:
    rows = roster_rows(10)
    with demo.app_context():
        v, clerk = village(), pid("张敏")
        apply_import(v.id, clerk, "a.csv", csv_bytes(rows))
        rows[3]["phone"] = "13912345678"
        plan = apply_import(v.id, clerk, "a.csv", csv_bytes(rows))
        assert plan.counts["change"] == 1 and plan.counts["unchanged"] == 9
        assert db.session.execute(select(Person.phone).where(
            Person.id_number == rows[3]["id_number"])).scalar_one() == "13912345678"


def test_a_representative_for_more_than_15_households_is_rejected(demo: Flask) -> None:
    rows = roster_rows(3)
    rows[0].update(representative="是", households_represented="16", rep_starts_on="2026-01-01")
    with demo.app_context():
        plan = preview_import(village().id, pid("张敏"), "a.csv", csv_bytes(rows))
        assert plan.rows[0].status == "reject"
        assert plan.rows[0].problems[0].rule == "roster.households_per_representative"


def test_an_id_number_of_another_village_is_rejected(demo: Flask) -> None:
    rows = roster_rows(4)
    with demo.app_context():
        apply_import(village("breeze").id, pid("钱进"), "a.csv", csv_bytes(rows[:1]))
        plan = preview_import(village().id, pid("张敏"), "a.csv", csv_bytes(rows))
        assert plan.rows[0].status == "reject"


@pytest.mark.parametrize(("filename", "data"), [
    ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
    ("a.pdf", b"%PDF-1.4"),
    ("a.csv", b""),
    ("a.csv", "姓名,性别\n张三,男\n".encode()),  # the household column is missing
    ("a.xlsx", b"PK\x03\x04 not really a workbook"),
])
def test_a_bad_file_is_refused_and_writes_nothing(demo: Flask, filename: str,
                                                   data: bytes) -> None:
    with demo.app_context():
        before = state()
        with pytest.raises(InvalidInput):
            apply_import(village().id, pid("张敏"), filename, data)
        assert state() == before


def test_only_register_keepers_may_import(demo: Flask) -> None:
    data = csv_bytes(roster_rows(3))
    with demo.app_context():
        before = state()
        for actor in ("李秀英", "刘芳", "钱进", "孙伟"):
            with pytest.raises(NotPermitted):
                apply_import(village().id, pid(actor), "a.csv", data)
        assert state() == before


def test_the_import_and_its_appointments_verify_offline(demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        rows = roster_rows(40)
        apply_import(village().id, pid("张敏"), "a.xlsx", xlsx_bytes(rows))
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
        reps = db.session.execute(select(func.count()).select_from(RoleAssignment).where(
            RoleAssignment.role == Role.REPRESENTATIVE.value,
            RoleAssignment.starts_on == dt.date(2026, 1, 1))).scalar_one()
        assert reps == sum(1 for r in rows if r["representative"] == "是") > 0
        last = db.session.execute(select(LedgerRecord.type).where(
            LedgerRecord.village_id == village().id).order_by(LedgerRecord.seq.desc())).first()
        assert last is not None and last.type == "register.import"
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


def test_the_export_escapes_formulas_and_reimports_as_unchanged(demo: Flask) -> None:
    from sunvote.services.register_files import write_csv, write_xlsx

    rows = roster_rows(8)
    rows[2]["address"] = "=HYPERLINK(\"http://x\")"
    with demo.app_context():
        v, clerk = village(), pid("张敏")
        plan = apply_import(v.id, clerk, "a.csv", csv_bytes(rows))
        assert plan.rows[2].status == "reject"  # a formula is never taken in
        headers, exported = export_rows(v, dt.datetime.now(dt.UTC))
        data = write_csv(headers, exported)
        assert read_table("x.csv", data).rows
        assert not any(cell.startswith("=") for row in exported for cell in row)
        again = preview_import(v.id, clerk, "x.xlsx", write_xlsx(headers, exported))
        assert again.counts["unchanged"] == len(exported), [
            (r.line, r.status, r.problems, r.changes) for r in again.rows
            if r.status != "unchanged"][:3]


def test_refusals_name_their_rule(demo: Flask) -> None:
    with demo.app_context(), pytest.raises(DomainError) as info:
        apply_import(village().id, pid("张敏"), "a.txt", b"abc")
    assert info.value.rule == "import.file"


def test_an_email_is_imported_and_exported_and_a_flagged_number_still_imports(
        demo: Flask) -> None:
    rows = roster_rows(6)
    rows[0]["email"] = "Head@Example.CN"
    rows[1]["phone"] = "12000000001"  # accepted by the import, reached by no SMS
    with demo.app_context():
        v, clerk = village(), pid("张敏")
        plan = apply_import(v.id, clerk, "a.csv", csv_bytes(rows))
        assert plan.counts["create"] == 6
        assert [(r.line, [w.rule for w in r.warnings]) for r in plan.rows if r.warnings] == [
            (3, ["notice.sms_number"])]
        email, phone = db.session.execute(select(Person.email, Person.phone).where(
            Person.id_number == rows[0]["id_number"])).one()
        assert (email, phone) == ("Head@example.cn", rows[0]["phone"])
        assert db.session.execute(select(Person.phone).where(
            Person.id_number == rows[1]["id_number"])).scalar_one() == "12000000001"
        headers, exported = export_rows(v, dt.datetime.now(dt.UTC))
        column = headers.index("电子邮箱")
        assert "Head@example.cn" in [r[column] for r in exported]
        again = apply_import(v.id, clerk, "a.csv", csv_bytes(rows))
        assert again.counts["unchanged"] == 6
