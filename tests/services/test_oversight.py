"""The oversight service against the database: each warning computed from stored rows (and not
where the rows are fine), the figures, and a fixed number of queries however many villages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import delete, event, func, select, update

from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import (
    LedgerHead,
    Matter,
    Meeting,
    Person,
    Poll,
    RoleAssignment,
    Township,
    TownshipSetting,
    Village,
    VillageFigures,
)
from sunvote.models.base import utcnow
from sunvote.services import oversight, witness
from tests.conftest import login
from tests.oversight_data import add_district_admin, add_township, add_villages

NOW = utcnow()
DAY = dt.timedelta(days=1)


def scope_all():  # type: ignore[no-untyped-def]
    return select(Village.id)


def rules_of(board: oversight.Dashboard, code: str) -> set[str]:
    summary = next(v for v in board.villages if v.code == code)
    return {w.rule for w in summary.warnings}


@pytest.fixture
def district(app: Flask) -> Iterator[Flask]:
    """One township with five villages: v0000 breaks rules (troubled), v0001–v0004 do not."""
    with app.app_context():
        town = add_township("east", "东乡")
        add_villages(town, 5, 20, NOW)
        yield app


RED = {"ledger.verification_failed", "ledger.equivocation", "assembly.poll_below_quorum"}


def test_a_troubled_village_gets_the_red_yellow_and_blue_warnings_from_its_rows(
        district: Flask) -> None:
    board = oversight.build(scope_all(), NOW)
    found = rules_of(board, "east-v0000")
    assert found >= RED
    assert {"procedure.step_limit", "assembly.request", "roster.women_share"} <= found


def test_a_sound_village_gets_none_of_them(district: Flask) -> None:
    board = oversight.build(scope_all(), NOW)
    assert rules_of(board, "east-v0001") == set()


def test_the_warning_links_to_the_matter_meeting_or_ledger(district: Flask) -> None:
    board = oversight.build(scope_all(), NOW)
    troubled = next(v for v in board.villages if v.code == "east-v0000")
    targets = {w.rule: (w.target.kind.value, w.target.ref) for w in troubled.warnings}
    assert targets["procedure.step_limit"] == ("matter", "2026-0003")
    assert targets["assembly.poll_below_quorum"] == ("meeting", "1")
    assert targets["ledger.verification_failed"] == ("ledger", None)


def test_a_later_successful_verification_clears_the_red_warning(district: Flask) -> None:
    from sunvote.models import LedgerVerification

    village = db.session.execute(select(Village).where(Village.code == "east-v0000")
                                 ).scalar_one()
    db.session.add(LedgerVerification(village_id=village.id, size=3, root=b"\0" * 32, ok=True,
                                      exit_code=0, failures=[], cosigned_by=[], seconds=0.1,
                                      verified_at=NOW))
    db.session.commit()
    assert "ledger.verification_failed" not in rules_of(oversight.build(scope_all(), NOW),
                                                        "east-v0000")


def test_the_step_limit_is_read_from_the_townships_setting(district: Flask) -> None:
    village = db.session.execute(select(Village).where(Village.code == "east-v0000")
                                 ).scalar_one()
    db.session.add(TownshipSetting(township_id=village.township_id, key="step_limit_days",
                                   revision=1, value="90", set_at=NOW))
    db.session.commit()
    assert "procedure.step_limit" not in rules_of(oversight.build(scope_all(), NOW),
                                                  "east-v0000")


def test_records_the_witness_has_not_cosigned_warn_after_the_limit(district: Flask) -> None:
    # Nothing is cosigned yet: the first record is from NOW; the default limit is 3 days.
    assert "ledger.witness_overdue" not in rules_of(oversight.build(scope_all(), NOW + DAY),
                                                    "east-v0001")
    later = oversight.build(scope_all(), NOW + 4 * DAY)
    assert "ledger.witness_overdue" in rules_of(later, "east-v0001")
    # Once the township witness cosigns the newest checkpoint, the warning goes.
    village = db.session.execute(select(Village).where(Village.code == "east-v0001")
                                 ).scalar_one()
    witness.send(village)
    db.session.commit()
    assert "ledger.witness_overdue" not in rules_of(oversight.build(scope_all(), NOW + 4 * DAY),
                                                    "east-v0001")


def test_a_village_without_a_meeting_this_quarter_is_warned(app: Flask) -> None:
    with app.app_context():
        town = add_township("west", "西乡")
        add_villages(town, 1, 5, NOW, meetings=0, troubled_every=1000, start=1)
        add_villages(town, 1, 5, NOW, meetings=2, troubled_every=1000, start=2)
        board = oversight.build(scope_all(), NOW)
        assert "assembly.quarterly_meeting" in rules_of(board, "west-v0001")
        assert "assembly.quarterly_meeting" not in rules_of(board, "west-v0002")


def test_the_figures(district: Flask) -> None:
    board = oversight.build(scope_all(), NOW)
    sound = next(v for v in board.villages if v.code == "east-v0001")
    assert sound.matters == 20 and sum(sound.by_category.values()) == 20
    assert sound.by_state["passed"] == 2 and sound.by_state["rejected"] == 2
    assert sound.meetings_by_quarter[board.quarters[-1]] == 1
    assert sound.seats == 4 * 20 and sound.attendance == 4 * 18
    assert sound.attendance_cloud == 4 * 3  # every sixth member checked in by cloud
    assert sound.pass_rate == pytest.approx(6 / 8)
    assert 0 < (sound.cloud_ballot_share or 0) < 1


# --- no N+1 ---------------------------------------------------------------------------------------


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def forget_figures() -> None:
    """Drop every stored village figure: the next dashboard counts them all again."""
    db.session.execute(delete(VillageFigures))
    db.session.commit()


def test_the_district_dashboard_runs_as_many_queries_for_10_villages_as_for_2(
        app: Flask) -> None:
    with app.app_context():
        add_district_admin()
        town = add_township("east", "东乡")
        town_id = town.id
        add_villages(town, 2, 30, NOW, troubled_every=2)
    client = login(app.test_client(), "district")
    client.get("/admin/oversight")  # warm up whatever is loaded once per process

    def statements(*, counted: bool) -> list[str]:
        """The statements of one dashboard, with every village's figures counted anew (cold) or
        all of them stored (warm)."""
        if counted:
            with app.app_context():
                forget_figures()
        else:
            client.get("/admin/oversight")
        with counting(app) as found:
            page = client.get("/admin/oversight")
        assert page.status_code == 200
        assert page.get_data(as_text=True).count('class="tag tag-red"') >= 1
        return found

    two = {"cold": statements(counted=True), "warm": statements(counted=False)}
    with app.app_context():
        town = db.session.get(Township, town_id)
        assert town is not None
        add_villages(town, 8, 30, NOW, start=2, troubled_every=2)
    ten = {"cold": statements(counted=True), "warm": statements(counted=False)}
    assert len(two["cold"]) == len(ten["cold"]), (len(two["cold"]), len(ten["cold"]))
    assert len(two["warm"]) == len(ten["warm"]), (len(two["warm"]), len(ten["warm"]))
    assert len(ten["warm"]) < len(ten["cold"]) < 40


# --- stored figures -------------------------------------------------------------------------------


def test_stored_figures_are_used_while_the_ledger_has_not_grown(district: Flask) -> None:
    first = oversight.build(scope_all(), NOW)
    stored = db.session.execute(select(func.count()).select_from(VillageFigures)).scalar_one()
    assert stored == 5  # one row per village, at its ledger size
    # A row changed behind SunVote's back (no ledger record) does not change the counts shown...
    db.session.execute(update(Matter).where(Matter.state == "passed").values(state="rejected"))
    db.session.commit()
    again = oversight.build(scope_all(), NOW)
    assert [v.by_state for v in again.villages] == [v.by_state for v in first.villages]
    # ...until they are counted anew, as they are once the ledger grows.
    forget_figures()
    recounted = oversight.build(scope_all(), NOW)
    assert all("passed" not in v.by_state for v in recounted.villages)


def test_a_step_through_sunvote_grows_the_ledger_and_the_figures_follow(demo: Flask) -> None:
    from sunvote.services import matters

    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        scope = select(Village.id).where(Village.id == village.id)
        before = oversight.build(scope, NOW).villages[0]
        matters.open_matter(village.id, clerk, {"title": "修缮村道", "text": "路面破损"})
        after = oversight.build(scope, NOW).villages[0]
        assert after.matters == before.matters + 1
        assert after.by_state.get("suggested", 0) == before.by_state.get("suggested", 0) + 1
        size = db.session.execute(select(VillageFigures.ledger_size).where(
            VillageFigures.village_id == village.id)).scalar_one()
        head = db.session.execute(select(LedgerHead.size).where(
            LedgerHead.village_id == village.id)).scalar_one()
        assert size == head


def test_the_quorum_check_reads_the_poll_rows_even_with_figures_stored(district: Flask) -> None:
    assert "assembly.poll_below_quorum" not in rules_of(oversight.build(scope_all(), NOW),
                                                        "east-v0001")
    village = db.session.execute(select(Village).where(Village.code == "east-v0001")
                                 ).scalar_one()
    poll_id = db.session.execute(
        select(Poll.id).join(Meeting, Meeting.id == Poll.meeting_id)
        .where(Meeting.village_id == village.id).limit(1)).scalar_one()
    db.session.execute(update(Poll).where(Poll.id == poll_id).values(present=3))
    db.session.commit()
    assert "assembly.poll_below_quorum" in rules_of(oversight.build(scope_all(), NOW),
                                                    "east-v0001")


def test_the_new_witness_limit_setting_is_recorded_and_the_offline_verifier_accepts_it(
        demo: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sunvote.domain.ledger.verifier import verify_export
    from sunvote.models import LedgerRecord
    from sunvote.services import exports, ledger
    from sunvote.services.settings import change_setting, township_settings

    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        admin = db.session.execute(select(Person.id).where(Person.name == "吴静")).scalar_one()
        change_setting(village.township_id, "witness_limit_days", "7", admin)
        assert township_settings(village.township_id)["witness_limit_days"] == 7
        last = db.session.execute(select(LedgerRecord.type).where(
            LedgerRecord.village_id == village.id).order_by(LedgerRecord.seq.desc())
            .limit(1)).scalar_one()
        assert last == "setting.change"
        exports.export_directory(village, tmp_path / "export")
        key = ledger.active_key(village.id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]


def test_a_district_without_villages_has_an_empty_dashboard(app: Flask) -> None:
    with app.app_context():
        board = oversight.build(scope_all(), NOW)
        assert board.villages == [] and board.warnings == []
        assert board.meetings_by_quarter() == {q: 0 for q in board.quarters}
        assert len(board.quarters) == 4


def test_the_dashboards_roster_counts_are_the_domains_counts_of_the_roster(demo: Flask) -> None:
    """The dashboard counts rosters in SQL; the village page counts the same roster in Python
    (domain.roster.roster_counts). Both must agree, people with several roles counted once and
    representatives outside five to fifteen households named."""
    from sunvote.domain.roster import roster_counts
    from sunvote.services.roster import village_roster

    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        rep = db.session.execute(
            select(RoleAssignment).where(RoleAssignment.village_id == village.id,
                                         RoleAssignment.role == Role.REPRESENTATIVE.value)
            .order_by(RoleAssignment.id).limit(1)).scalar_one()
        rep.households_represented = 20
        db.session.commit()
        expected = roster_counts(village_roster(village, NOW))
        assert expected.households_off_range  # the case is exercised
        assert expected.assembly > expected.representatives > 0  # committee members too
        found = oversight._rosters(select(Village.id).where(Village.id == village.id),
                                   NOW.astimezone(oversight.CHINA).date())
        assert found[village.id] == expected


def test_implementation_started_during_the_notice_is_red_and_after_it_is_not(
        district: Flask) -> None:
    from sunvote.domain.procedure import Action
    from sunvote.models import StepRecord

    village = db.session.execute(select(Village).where(Village.code == "east-v0001")
                                 ).scalar_one()
    implementing = db.session.execute(
        select(Matter).where(Matter.village_id == village.id, Matter.state == "implementing")
        .order_by(Matter.number)).scalars().all()
    early, late = implementing[:2]
    clerk = db.session.execute(select(Person.id).where(Person.village_id == village.id)
                               .order_by(Person.id).limit(1)).scalar_one()
    for matter, ends_at in ((early, NOW + DAY), (late, NOW - DAY)):
        matter.notice_ends_at = ends_at  # the start below is at NOW
        db.session.add(StepRecord(
            matter_id=matter.id, seq=99, step="supervise",
            action=Action.START_IMPLEMENTATION.value, from_state="passed",
            to_state="implementing", actor_id=clerk, actor_role="clerk", acted_at=NOW, data={}))
    db.session.commit()
    board = oversight.build(scope_all(), NOW + 2 * DAY)
    summary = next(v for v in board.villages if v.code == "east-v0001")
    early_found = {w.target.ref for w in summary.warnings if w.rule == "notice.started_early"}
    assert early_found == {early.number}


def test_figures_that_cannot_be_stored_are_shown_and_counted_again_next_time(
        district: Flask, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    def locked(_figures: object) -> None:  # SQLite busy beyond its timeout
        raise OperationalError("INSERT INTO village_figures", {}, Exception("database is locked"))

    monkeypatch.setattr(oversight, "_store_figures", locked)
    board = oversight.build(scope_all(), NOW)
    assert [v.matters for v in board.villages] == [20] * 5
    assert "village figures not stored" in caplog.text
    assert db.session.execute(select(func.count()).select_from(VillageFigures)).scalar_one() == 0


def test_an_open_polls_paper_ballots_count_once_confirmed_and_never_while_withdrawn(
        demo: Flask) -> None:
    """Entering or withdrawing paper ballots writes no ledger record: the stored figures must
    not count them before a supervisor confirms them (then the ledger grows)."""
    from sunvote.services import ballots, polls
    from tests.services.test_assembly import SHEET, matter, pid
    from tests.services.test_cloud import AT, open_meeting_with_hall

    with demo.app_context():
        clerk = pid("张敏")
        meeting, roster = open_meeting_with_hall(20)
        village_id = meeting.village_id
        scope = select(Village.id).where(Village.id == village_id)
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, now=AT)
        for member in roster[:14]:
            ballots.cast_ballot(member, poll.id, member, "yes", now=AT)

        def counted() -> int:
            return oversight.build(scope, AT).villages[0].ballots

        assert counted() == 14
        withdrawn = ballots.enter_paper(clerk, poll.id, [(m, "no") for m in roster[14:17]],
                                        SHEET, now=AT)
        assert counted() == 14  # not confirmed: counted nowhere yet
        forget_figures()
        assert counted() == 14  # not even when counted anew
        ballots.discard_paper(clerk, withdrawn.id, now=AT)
        assert counted() == 14
        batch = ballots.enter_paper(clerk, poll.id, [(m, "no") for m in roster[14:17]],
                                    SHEET, now=AT)
        ballots.confirm_paper(pid("刘芳"), batch.id, now=AT)
        assert counted() == 17
        polls.close_poll(clerk, poll.id, now=AT)
        assert counted() == 17  # now from the poll row
        forget_figures()
        assert counted() == 17
