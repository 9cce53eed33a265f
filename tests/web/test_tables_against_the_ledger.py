"""The receipt page shows what the proven ledger record says, not what the ``ballot`` table says,
and the server-side check (`sunvote ledger check`, the ledger page's "verify now") compares the
tables that pages and results are read from with the log: each table edited behind the
application's back is a failure naming the table, the row and the record (issue 13, item 3)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask
from sqlalchemy import delete, func, insert, select, update

from sunvote.domain.assembly import VoteMode
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    Matter,
    Meeting,
    Participation,
    Person,
    Poll,
    Recusal,
)
from tests.web.test_public_board import now, text_of, vote

DEMO = "sunshine"


def named_poll(app: Flask) -> list[tuple[int, str, int, str]]:
    """A named poll everyone voted "yes" on, closed; its ballots as (id, code, seq, voter)."""
    with app.app_context():
        vote("001", now() - dt.timedelta(hours=1))
        return [(b.id, b.code, b.ledger_seq, b.voter.name) for b in db.session.execute(
            select(Ballot).order_by(Ballot.id)).scalars()]


def tamper(app: Flask, statement) -> None:  # type: ignore[no-untyped-def]
    """Change a table with SQL, as someone with database access would."""
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def check(app: Flask) -> tuple[int, str]:
    from sunvote.commands import ledger_group

    result = app.test_cli_runner().invoke(ledger_group, ["check", DEMO])
    return result.exit_code, result.output


def receipt_page(app: Flask, code: str) -> str:
    return text_of(app.test_client(), f"/p/{DEMO}/receipt?ballot={code}")


def test_a_clean_village_passes_the_check_of_its_tables(demo: Flask) -> None:
    named_poll(demo)
    with demo.app_context():
        from tests.web.test_public_board import file_second_matter

        file_second_matter(now() - dt.timedelta(hours=2))
        vote("002", now() - dt.timedelta(minutes=30), "no", VoteMode.SECRET)
    code, output = check(demo)
    assert code == 0, output
    assert "verified" in output and "table_mismatch" not in output


def test_a_ballot_choice_edited_in_the_table_shows_the_records_choice_and_a_red_warning(
        demo: Flask) -> None:
    ballot_id, code, seq, voter = named_poll(demo)[0]
    tamper(demo, update(Ballot).where(Ballot.id == ballot_id).values(choice="no"))
    page = receipt_page(demo, code)
    assert f"已证明：这张选票记在本村账本第{seq}条记录中" in page
    assert "同意" in page and "反对" not in page  # the record's choice, not the table's
    assert voter in page
    assert "receipt-mismatch" in page
    assert "数据库中这张选票的数据与账本记录不一致（表决意见）" in page
    exit_code, output = check(demo)
    assert exit_code == 7, output
    assert (f"ledger.table_mismatch: table ballot row {ballot_id} (code {code}) / record {seq}: "
            "choice no, the record says yes") in output


def test_swapped_ledger_seqs_prove_nobody_elses_record(demo: Flask) -> None:
    (a_id, a_code, a_seq, a_voter), (b_id, b_code, b_seq, b_voter) = named_poll(demo)[:2]
    tamper(demo, update(Ballot).where(Ballot.id == a_id).values(ledger_seq=None))
    tamper(demo, update(Ballot).where(Ballot.id == b_id).values(ledger_seq=a_seq))
    tamper(demo, update(Ballot).where(Ballot.id == a_id).values(ledger_seq=b_seq))
    page = receipt_page(demo, a_code)
    assert "已证明" not in page
    assert f"账本第{b_seq}条记录是另一张选票" in page
    assert b_voter in page and a_voter not in page  # what the record says: B's ballot
    exit_code, output = check(demo)
    assert exit_code == 7, output
    assert f"table ballot row {a_id} (code {a_code}) / record {a_seq}: ledger_seq {b_seq}" in output
    assert f"table ballot row {b_id} (code {b_code}) / record {b_seq}: ledger_seq {a_seq}" in output


def test_a_tally_edited_in_the_poll_table_fails_the_check(demo: Flask) -> None:
    named_poll(demo)
    with demo.app_context():
        poll_id, meeting = db.session.execute(select(Poll.id, Meeting.number).join(
            Meeting, Meeting.id == Poll.meeting_id)).one()
    tamper(demo, update(Poll).where(Poll.id == poll_id).values(yes=1, no=20, verdict="rejected"))
    exit_code, output = check(demo)
    assert exit_code == 7, output
    assert f"table poll row {poll_id} (meeting {meeting}, poll 1)" in output
    assert "yes 1, the record says 23" in output and "verdict 'rejected'" in output


def test_a_matter_state_edited_in_the_matter_table_fails_the_check(demo: Flask) -> None:
    named_poll(demo)
    with demo.app_context():
        road = db.session.execute(select(Matter).where(Matter.state == "passed")).scalar_one()
        road_id, number = road.id, road.number
    tamper(demo, update(Matter).where(Matter.id == road_id).values(state="rejected"))
    exit_code, output = check(demo)
    assert exit_code == 7, output
    assert (f"table matter row {road_id} (matter {number})") in output
    assert "state rejected, the log's latest step leads to passed" in output


def test_an_attendance_row_edited_fails_the_check(demo: Flask) -> None:
    named_poll(demo)
    with demo.app_context():
        row_id, person, meeting = db.session.execute(
            select(Attendance.id, Attendance.person_id, Meeting.number)
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .order_by(Attendance.id.desc()).limit(1)).one()
    tamper(demo, update(Attendance).where(Attendance.id == row_id).values(channel="cloud"))
    exit_code, output = check(demo)
    assert exit_code == 7, output
    assert (f"table attendance row {row_id} (meeting {meeting}, member {person}) / record "
            in output) and "channel cloud, the record says hall" in output


def test_the_ledger_page_shows_a_table_mismatch_in_red(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_token

    ballot_id = named_poll(demo)[0][0]
    tamper(demo, update(Ballot).where(Ballot.id == ballot_id).values(choice="abstain"))
    supervisor = as_user("supervisor")
    supervisor.post(f"/v/{DEMO}/ledger/verify",
                    data={"csrf_token": csrf_token(supervisor, f"/v/{DEMO}/ledger")})
    page = supervisor.get(f"/v/{DEMO}/ledger").get_data(as_text=True)
    assert "验证失败" in page and "数据库表与账本记录不一致" in page
    assert f"table ballot row {ballot_id}" in page


def test_a_secret_ballots_receipt_shows_inclusion_not_the_choice(demo: Flask) -> None:
    with demo.app_context():
        vote("001", now() - dt.timedelta(hours=1), "no", VoteMode.SECRET)
        ballot = db.session.execute(select(Ballot).order_by(Ballot.id).limit(1)).scalar_one()
        ballot_id, code, seq = ballot.id, ballot.code, ballot.ledger_seq
    page = receipt_page(demo, code)
    assert f"已证明：这张选票记在本村账本第{seq}条记录中" in page
    assert "次会议第1项表决" in page
    assert "反对" not in page and "无记名投票：本页不显示表决意见" in page
    tamper(demo, update(Ballot).where(Ballot.id == ballot_id).values(choice="yes"))
    page = receipt_page(demo, code)
    assert "数据库中这张选票的数据与账本记录不一致（表决意见）" in page
    assert "同意" not in page and "反对" not in page  # neither the table's nor the record's
    exit_code, output = check(demo)
    assert exit_code == 7 and f"table ballot row {ballot_id} (code {code})" in output


def test_the_receipt_file_names_its_ballot_and_choice_offline(demo: Flask, tmp_path: Path) -> None:
    from sunvote.services import ledger
    from sunvote.verify_proofs import main
    from tests.services.test_assembly import village

    (a_id, a_code, _a_seq, a_voter), (_b_id, b_code, b_seq, _b) = named_poll(demo)[:2]
    client = demo.test_client()
    receipt = tmp_path / "a.receipt"
    receipt.write_bytes(client.get(f"/p/{DEMO}/receipt/{a_code}.receipt").data)
    with demo.app_context():
        key = ledger.active_key(village().id).vkey
        voter_id = db.session.execute(select(Person.id).where(Person.name == a_voter)
                                      ).scalar_one()
        meeting = db.session.execute(select(func.max(Meeting.number))).scalar_one()
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["receipt", str(receipt), "--key", key, f"--ballot={a_code}"]) == 0
        # a code may begin with "-" (URL-safe base64): the page's command line uses --ballot=
        assert main(["receipt", str(receipt), "--key", key, "--ballot=-" + "A" * 21]) == 4
    assert (f"ballot {a_code}: choice yes in meeting {meeting} poll 1 (voter {voter_id} {a_voter})"
            in out.getvalue())
    # The table's ledger_seq swapped: the served file proves B's record, and --ballot says so.
    tamper(demo, update(Ballot).where(Ballot.id == a_id).values(ledger_seq=b_seq))
    receipt.write_bytes(client.get(f"/p/{DEMO}/receipt/{a_code}.receipt").data)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["receipt", str(receipt), "--key", key, f"--ballot={a_code}"]) == 4
    assert f"ballot {b_code}:" in out.getvalue() and "NOT PROVEN" in out.getvalue()


def test_a_participation_deleted_or_edited_in_the_table_fails_the_check(demo: Flask) -> None:
    """Deleting a member's participation would let the pages offer them a second ballot and
    show them as not having voted; both it and an edited channel are mismatches."""
    named_poll(demo)
    with demo.app_context():
        rows = db.session.execute(
            select(Participation.id, Participation.person_id, Meeting.number, Poll.number)
            .join(Poll, Poll.id == Participation.poll_id)
            .join(Meeting, Meeting.id == Poll.meeting_id).order_by(Participation.id)).all()
    (gone, gone_person, meeting, poll), (edited, edited_person, _, _) = rows[:2]
    tamper(demo, delete(Participation).where(Participation.id == gone))
    tamper(demo, update(Participation).where(Participation.id == edited).values(
        channel="cloud"))
    exit_code, output = check(demo)
    assert exit_code == 7, output
    assert (f"table participation row (meeting {meeting}, poll {poll}, member {gone_person}) "
            "/ record ") in output and "took part by the log, no row in the table" in output
    assert (f"table participation row {edited} (meeting {meeting}, poll {poll}, member "
            f"{edited_person}) / record ") in output
    assert "channel cloud, the record says hall" in output


def test_a_recusal_added_in_the_table_fails_the_check(demo: Flask) -> None:
    named_poll(demo)
    with demo.app_context():
        poll_id, meeting, poll = db.session.execute(
            select(Poll.id, Meeting.number, Poll.number)
            .join(Meeting, Meeting.id == Poll.meeting_id)).one()
        person = db.session.execute(select(Participation.person_id).where(
            Participation.poll_id == poll_id).limit(1)).scalar_one()
    tamper(demo, insert(Recusal).values(poll_id=poll_id, person_id=person, reason="亲属承包",
                                        declared_at=now()))
    exit_code, output = check(demo)
    assert exit_code == 7, output
    assert f"(meeting {meeting}, poll {poll}, member {person}): no poll.recuse record" in output
